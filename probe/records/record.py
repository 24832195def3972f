"""The JSONL record: one object per input (schema documented in the README)."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, TypedDict, cast

from probe.errors import ProbeError
from probe.inputs.load import Input
from probe.records import verdict as compare
from probe.variants.tasks import Task

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
    # Variants of several calls per input (Lanham et al.; probe/run/steps.py): one point per
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


class Record(TypedDict, total=False):
    """One input's record. `schema` … `error` are always there; `key`, `sample` and `run` once
    the batch has filed it, `judge` with --judge, `annotation_error` when an annotation failed."""

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


_REPLY_KEYS = tuple(_Reply.__annotations__)
_ANNOTATIONS = frozenset(VariantResult.__annotations__) - frozenset(_REPLY_KEYS)


def variant_result(**fields: Any) -> VariantResult:
    """The one place a variant's entry is built: every reply field, in the record's order, None
    (cached: False; explanation, raw: "") unless given. An unknown field is a bug, not a record."""
    unknown = set(fields) - set(_REPLY_KEYS)
    if unknown:
        raise TypeError(f"not a variant field: {', '.join(sorted(unknown))}")
    result: dict[str, Any] = dict.fromkeys(_REPLY_KEYS)
    result.update(explanation="", raw="", cached=False)
    result.update(fields)
    if result["p_yes"] is not None:
        result["p_yes"] = round(result["p_yes"], 6)
    if result["p_answers"] is not None:
        result["p_answers"] = {k: round(v, 6) for k, v in result["p_answers"].items()}
    if result["latency_s"] is not None:
        result["latency_s"] = round(result["latency_s"], 4)
    return cast(VariantResult, result)


def annotate(result: VariantResult | dict[str, Any], **fields: Any) -> None:
    """Add what a later step learned about a variant's entry (see VariantResult)."""
    unknown = set(fields) - _ANNOTATIONS - set(_REPLY_KEYS)
    if unknown:
        raise TypeError(f"not a variant field: {', '.join(sorted(unknown))}")
    result.update(fields)  # type: ignore[typeddict-item]


def variant_error(exc: ProbeError, *, kind: str | None = None, **fields: Any) -> VariantResult:
    error = exc.as_record()
    if kind:
        error["type"] = kind
    return variant_result(error=error, **fields)


def _input_part(inp: Input) -> dict[str, Any]:
    part: dict[str, Any] = {"path": inp.path, "sha256": inp.sha256, "kind": inp.kind}
    if inp.path is None and inp.text is not None:
        # Inline text (a JSONL line's text, stdin) exists nowhere else: kept so that a report can
        # show what was asked. A file input is named by its path and sha256 instead.
        part["text"] = inp.text
    return part


def probe_record(
    inp: Input,
    task: Task,
    model: str,
    variants: dict[str, VariantResult],
    *,
    gold: str | None = None,
) -> Record:
    record: Record = {
        "schema": SCHEMA,
        "id": inp.id,
        "input": _input_part(inp),
        "task": task.name,
        "question": task.question_for(inp.kind),
        "options": list(task.options),
        "option_texts": list(task.option_texts),
        "gold": gold,
        "model": model,
        "variants": variants,
        "order_agreement": None,
        "verdict": None,
        "error": None,
    }
    settle(record)
    return record


def settle(record: Record) -> None:
    """Set the record-level fields that follow from its variants (flips are set on the
    variants): again whenever a variant's answer may have changed (after a judge)."""
    variants = record["variants"]
    compare.mark_flips(variants)
    record["order_agreement"] = compare.order_agreement(variants)
    record["verdict"] = compare.verdict(variants)


def error_record(
    inp: Input | None,
    task: Task,
    model: str,
    exc: ProbeError,
    *,
    id: str | None = None,
    path: str | None = None,
) -> Record:
    """The one record of an input that could not be probed at all."""
    return {
        "schema": SCHEMA,
        "id": inp.id if inp else id,
        "input": _input_part(inp) if inp else {"path": path, "sha256": None, "kind": None},
        "task": task.name,
        "question": task.question_for(inp.kind if inp else "text"),
        "options": list(task.options),
        "option_texts": list(task.option_texts),
        "gold": None,
        "model": model,
        "variants": {},
        "order_agreement": None,
        "verdict": compare.ERROR,
        "error": exc.as_record(),
    }


def succeeded(record: dict[str, Any]) -> bool:
    """A record that needs no re-run: the input was read and every call returned, the judge's
    and answer extraction's included."""
    if record.get("error"):
        return False
    return not any(
        (v.get("error") and v["error"].get("type") != "skipped")
        or v.get("judge_errors")
        or (isinstance(v.get("extraction"), dict) and v["extraction"].get("error"))
        for v in record.get("variants", {}).values()
    )


def record_key(**parts: Any) -> str:
    """What a record is about: input bytes, task, question, model, options, sample — but not which
    input it is (records written before input ids were part of the key carry this alone)."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return _digest(blob)


def input_key(content_key: str, input_id: str) -> str:
    """Identity of a record for --resume: its `record_key` and the input's id, so inputs with the
    same bytes under different ids are different records."""
    return _digest(f"{content_key}\0{input_id}")


def _digest(text: str) -> str:
    # surrogatepass: an id from a file name that is not UTF-8 still has one stable key
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


# C1 controls, line separators, and lone surrogates (a reply's "\ud800", a file name that is not
# UTF-8): escaped, so the line is valid UTF-8 that a terminal shows literally.
_UNSAFE_IN_JSON = re.compile(
    "[\u007f-\u009f\u2028\u2029\ud800-\udfff"
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"  # and bidi controls: shown in stored order
)


def dumps(record: dict[str, Any]) -> str:
    """One JSON line. Non-ASCII text stays readable; every control character and lone surrogate is
    escaped, so printing the file on a terminal cannot run escape sequences and writing it as
    UTF-8 cannot fail; a JSON reader gets the same strings back."""
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
