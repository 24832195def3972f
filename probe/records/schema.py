"""The JSONL record's fields, typed: one `Record` per input, one `VariantResult` per variant
(docs: the README's "JSONL records"). Exported by `probe` for scripts that read records."""

from __future__ import annotations

from typing import Any, TypedDict

SCHEMA = "probe/1"


class _Reply(TypedDict):
    """What one variant's call gave, in the order a record lists it: built only by
    `variant_result`."""

    answer: str | None  # what the reply answers (a forced reply: what its own words argue for)
    explanation: str
    raw: str  # the reply as the model sent it
    p_yes: float | None
    p_answers: dict[str, float] | None  # first-token {option: P}, normalised over the options
    forced_answer: str | None
    mechanism: str | None
    prefill: str | None
    honored: bool | None
    stance: str | None
    stance_evidence: list[dict[str, Any]] | None
    stance_conflict: bool | None
    compliance: bool | None
    pushback: bool | None
    pushback_evidence: str | None
    bias_target: str | None
    mentions_bias: bool | None
    usage: dict[str, int] | None
    cost_usd: float | None
    cost_saved_usd: float | None
    latency_s: float | None
    cached: bool
    finish_reason: str | None
    error: dict[str, Any] | None


class VariantResult(_Reply, total=False):
    """One variant's entry in a record (README: "JSONL records"). The keys below are added after
    the call, each by the step that knows it, through `annotate`: present only where they apply."""

    attempts: list[dict[str, Any]]  # forcing mechanisms tried before this one (engine)
    hint: dict[str, Any]  # Chen et al.'s hints: {kind, text}, the words shown (engine)
    # input-edit (Atanasova et al.; probe/methods/input_edits/edits.py): the insertion {inserted, word_index, offset,
    # before, context, source}, and whether the explanation mentions the inserted words (engine)
    edit: dict[str, Any]
    mentions_insertion: bool
    flip: bool | None  # answer differs from the baseline variant's (compare.mark_flips)
    alignment: dict[str, Any]  # sentence alignment with the baseline's explanation (--align)
    judge_supports: str | None  # --judge
    judge_mentions_bias: bool | None  # --judge
    judge_errors: list[dict[str, Any]]  # --judge calls that failed
    sample: int  # which of --samples N draws this is
    # Where `answer` was read (probe/reading/extraction.py), for variants whose answer probe reads from
    # the reply: "text", "extracted" (from the model's answer to "So the answer is" after its
    # reply) or "none"; and, after an extraction call, what it asked and got:
    # {via, prefill | follow_up, raw, answer, p_yes, p_answers, usage, cost_usd, cached, …, error}
    answer_source: str
    extraction: dict[str, Any]
    # several deployments behind LiteLLM's Router (--api-base given more than once, --router):
    # the one that sent this reply, its api_base without credentials (or its model)
    deployment: str
    # Variants of several calls per input (Lanham et al.; probe/pipeline/steps.py): one point per
    # call, what it asked ({"kept", "of", "fraction"} or {"condition"}) and what it got
    # ({"answer", "p_yes", "raw", "via", "cached"}); the continued variant's own final answer;
    # the filler's length in " ..." units (filler-tokens); how the reasoning was edited
    # (reasoning_edit: "mistake" or "paraphrase", for adding-mistakes and paraphrasing, whose
    # points also hold {"position", "original", "mistake"/"paraphrase", "continuation"}).
    # reference_answer: the answer with the whole reasoning kept under the variant's own prompt
    # (the point with all of it, probe/methods/lanham/reasoning.py); explain_first_answer: explain-first's own, from
    # its reply; reference_differs: whether the two differ (None unless both were read). Records
    # written before have reference_answer only, and it was explain-first's answer.
    points: list[dict[str, Any]]
    reference_answer: str | None
    explain_first_answer: str | None
    reference_differs: bool | None
    filler_tokens: int
    reasoning_edit: str
    # Set in memory by `probe report` from `probe review`'s sidecar (probe.records.labels), never
    # written to a run file: the person's reading replaces stance and answer; probe's own is kept.
    stance_by: str
    stance_probe: str | None
    answer_probe: str | None
    # The call this entry's reply came from (docs/records.md): {messages, prefill, max_tokens,
    # temperature, seed, want_p_yes}, its messages as indices into the record's `prompt_messages`.
    # Each forcing attempt, each point and each extraction call keeps its own the same way.
    request: dict[str, Any]
    # `probe rerun`: what the request carries that the source run drew from its own model's
    # replies ("forced_answer", "bias_target", "reasoning", "edit"): sent again as they were
    from_source: list[str]


class Record(TypedDict, total=False):
    """One input's record. `schema` … `error` are always there (and `prompt_messages` once it was
    probed); `key`, `sample` and `run` once the batch has filed it, `judge` with --judge, `annotation_error` when an annotation failed."""

    schema: str
    id: str | None
    input: dict[str, Any]
    task: str
    question: str
    options: list[str]
    option_texts: list[str]
    gold: str | None
    model: str
    variants: dict[str, VariantResult]
    order_agreement: bool | None
    verdict: str | None
    error: dict[str, Any] | None
    key: str
    sample: int
    run: dict[str, Any]
    judge: str
    annotation_error: str
    # Every distinct message the record's requests sent, each once, in the order first sent; an
    # image as {"type": "image_url", "image_url": {"sha256", "bytes", "media_type", "size"}}, its
    # bytes never inlined (docs/records.md: how to rebuild a request)
    prompt_messages: list[dict[str, Any]]
    # `probe rerun`: the record this one re-sent the requests of {path, model, key}
    rerun_of: dict[str, Any]


__all__ = ["SCHEMA", "Record", "VariantResult"]
