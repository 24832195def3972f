"""Probing one input: run its variants against a provider and build its record."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any

from probe.errors import ProbeError, ProviderError
from probe.inputs.load import Input
from probe.providers.base import Completion, Provider, Request, option_probabilities
from probe.providers.capabilities import VISION_MODELS_EXAMPLE
from probe.providers.discoveries import forget_prefill
from probe.reading import answers, assertions, extraction, stance
from probe.records import record as records
from probe.records.schema import Record, VariantResult
from probe.variants.tasks import DEFAULT_VARIANTS, Task
from probe.variants.variant import Prompt, Variant, VariantOptions, get


@dataclass(frozen=True)
class ProbeOptions:
    force: str = "opposite"  # "yes", "no" or "opposite" (of decide-first's answer)
    force_via: str = "auto"  # "auto" or one of MECHANISMS
    variants: tuple[str, ...] = DEFAULT_VARIANTS
    max_tokens: int = 200
    temperature: float = 0.0
    seed: int | None = 0
    sample: int = 0  # which of --samples N draws this is; the seed moves with it
    suggest: str | None = None  # the answer biasing variants suggest; default: a wrong one
    judge: str | None = None  # the judge model, when one annotates the record (probe.reading.judge)
    align: str | None = None  # the embedding model aligning explanations (probe.reading.alignment)
    # Ask the model for an answer its reply's words do not state (probe.reading.extraction)
    extract: bool = True

    @property
    def sample_seed(self) -> int | None:
        return None if self.seed is None else self.seed + self.sample

    def as_record(self) -> dict[str, Any]:
        """The options that decide a record's content (part of its resume key)."""
        return {
            "force": self.force,
            "force_via": self.force_via,
            "variants": list(self.variants),
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "seed": self.seed,
            "suggest": self.suggest,
            "judge": self.judge,
            "align": self.align,
            "extract": self.extract,
        }


@dataclass(frozen=True)
class Given:
    """What an input brings besides its content: a gold label, a suggested answer of its own."""

    gold: str | None = None
    suggest: str | None = None


async def probe_input(
    inp: Input, task: Task, provider: Provider, opts: ProbeOptions, given: Given = Given()
) -> Record:
    """One record for one input, whatever happens to its calls."""
    if inp.kind == "image" and not provider.capabilities.vision:
        err = ProbeError(
            f"{inp.id}: {provider.model} cannot see images; use a vision model such as "
            f"{VISION_MODELS_EXAMPLE} (or --vision if your server's model can)"
        )
        return records.error_record(inp, task, provider.model, err)
    results: dict[str, VariantResult] = {}
    pending = list(opts.variants)
    while pending:
        # In waves: a variant runs once every variant it is built from (and that this run
        # runs) has its result; the rest of a wave run together.
        ready = [v for v in pending if all(w in results for w in _waits(v, opts, given))]
        ready = ready or pending  # never hang: declarations hold no cycle (tests/test_variants.py)
        done = await asyncio.gather(
            *(_run_variant(v, inp, task, provider, opts, given, results) for v in ready)
        )
        results.update(zip(ready, done, strict=True))
        pending = [v for v in pending if v not in results]
    ordered = {v: results[v] for v in opts.variants}
    return records.probe_record(inp, task, provider.model, ordered, gold=given.gold)


def _waits(name: str, opts: ProbeOptions, given: Given) -> list[str]:
    """The variants of this run that `name` is built from (see Variant.waits_for)."""
    needed = get(name).waits_for(
        force_opposite=opts.force == "opposite",
        target_given=bool(given.gold or given.suggest or opts.suggest),
    )
    return [w for w in needed if w in opts.variants and w != name]


async def _run_variant(
    name: str,
    inp: Input,
    task: Task,
    provider: Provider,
    opts: ProbeOptions,
    given: Given,
    done: dict[str, VariantResult],
) -> VariantResult:
    variant = get(name)
    if variant.steps is not None:  # several calls per input (probe/pipeline/steps.py)
        from probe.pipeline.steps import run_steps

        return await run_steps(variant, inp, task, provider, opts, done)
    if variant.forces:
        return await _run_forced(variant, inp, task, provider, opts, done)
    target = None
    if variant.bias_targeted:
        try:
            target = _bias_target(variant, inp, task, opts, given, done)
        except ProbeError as exc:
            return records.variant_error(exc, kind="skipped")
    try:
        prompt = variant.build(task, inp, VariantOptions(bias_target=target, seed=opts.seed))
    except ValueError as exc:
        return records.variant_error(ProbeError(f"{name}: {exc}"), kind="skipped")
    # First-token probabilities where the first token is the model's own answer.
    request = request_for(prompt, opts, want_p_yes=prompt.answer_first and not variant.forces)
    try:
        completion = await provider.complete(request)
    except ProviderError as exc:
        failed = records.variant_error(exc)
        records.annotate(failed, request=request.as_record())
        return failed
    result = read_reply(prompt, completion, task, variant)
    records.annotate(result, request=request.as_record())
    await answer_source(variant, prompt, completion, result, task, provider, opts)
    return result


async def answer_source(
    variant: Variant,
    prompt: Prompt,
    completion: Completion,
    result: VariantResult,
    task: Task,
    provider: Provider,
    opts: ProbeOptions,
) -> None:
    """Where a reply's answer was read (`answer_source`): from its text, else — for a reply that
    answers at the end — from the model's own answer when asked for it (probe.reading.extraction)."""
    if variant.forces or prompt.answer_at == "given":
        return  # a forced reply's answer is its stance
    entry = None
    if opts.extract and result["answer"] is None and extraction.applies(variant, prompt):
        reply = (prompt.prefill or "") + completion.text
        entry = await extraction.extract(provider, prompt, reply, task, opts)
    extraction.annotate(result, result["answer"], entry)


def _bias_target(
    variant: Variant,
    inp: Input,
    task: Task,
    opts: ProbeOptions,
    given: Given,
    done: dict[str, VariantResult],
) -> str:
    """The answer a suggestion or a hint points at: given, else a wrong one (random, seeded by the
    input), else one other than the model's own answer to the variant it opposes (decide-first)."""
    chosen = task.normalise(given.suggest or opts.suggest)
    if chosen:
        return chosen
    if given.suggest or opts.suggest:
        raise ProbeError(
            f"suggested answer {given.suggest or opts.suggest!r} is not one of {list(task.options)}"
        )
    avoid = given.gold
    if avoid is None:
        own = done.get(variant.opposes)
        if not own or own.get("answer") is None:
            raise ProbeError(
                f"{variant.name}: no gold label and no readable {variant.opposes} answer to point "
                "away from"
            )
        avoid = own["answer"]
    wrong = [o for o in task.options if o != avoid]
    return random.Random(f"{inp.sha256}:{opts.seed}").choice(wrong)


def request_for(prompt: Prompt, opts: ProbeOptions, *, want_p_yes: bool = False) -> Request:
    """The one call a variant's prompt makes (kept in its entry as `request`)."""
    return Request(
        prompt.messages,
        prefill=prompt.prefill,
        max_tokens=opts.max_tokens,
        temperature=opts.temperature,
        want_p_yes=want_p_yes,
        seed=opts.sample_seed,
        sample=opts.sample,
    )


def read_reply(
    prompt: Prompt, completion: Completion, task: Task, variant: Variant
) -> VariantResult:
    """Answer and explanation out of one reply; for a forced reply, its stance; and what the
    variant's own readers read (its mention detector, its further fields)."""
    full = (prompt.prefill or "") + completion.text
    if prompt.answer_at == "given":
        answer = None  # a forced reply's answer is read from its stance, below
    elif prompt.answer_at == "end":
        answer = assertions.final_answer(full, task)
    else:
        answer = assertions.first_answer(full, task)
    explanation = answers.explanation(
        completion.text if prompt.explanation_from_reply else full, task
    )
    fields: dict[str, Any] = {}
    mentioned = variant.mentions(explanation) if variant.mentions is not None else None
    if prompt.forced_answer is not None:
        # What the model asserts is read from its own words, never from the forced token.
        readings = stance.read(completion.text, prompt.forced_answer, task, prompt.mechanism)
        fields.update(
            forced_answer=prompt.forced_answer,
            mechanism=prompt.mechanism,
            prefill=prompt.prefill,
            mentions_bias=mentioned,
            **stance.combine(readings, prompt.forced_answer, task).fields(),
        )
    if prompt.bias_target is not None:
        fields.update(bias_target=prompt.bias_target, mentions_bias=mentioned)
    result = records.variant_result(
        **{"answer": answer, **fields},
        explanation=explanation,
        raw=completion.raw,
        p_yes=completion.p_yes if task.is_yes_no else None,
        p_answers=_p_answers(completion, task),
        usage=completion.usage,
        latency_s=completion.latency_s,
        cost_usd=completion.cost_usd,
        cached=completion.cached,
        finish_reason=completion.finish_reason,
        cost_saved_usd=completion.cost_saved_usd,
    )
    if completion.deployment is not None:  # several deployments (the Router road)
        records.annotate(result, deployment=completion.deployment)
    if prompt.hint is not None:
        records.annotate(result, hint={"kind": variant.bias, "text": prompt.hint})
    if prompt.edit is not None:
        records.annotate(result, edit=prompt.edit)
    if variant.reads is not None:
        records.annotate(result, **variant.reads(explanation, prompt))
    return result


def _p_answers(completion: Completion, task: Task) -> dict[str, float] | None:
    """{option: first-token probability}, normalised over the options; for yes/no from p_yes
    (so replies cached before `first_tokens` was kept still give it)."""
    if task.is_yes_no:
        p = completion.p_yes
        return None if p is None else {"yes": p, "no": 1 - p}
    return option_probabilities(completion.first_tokens, task.options)


def _forced_answer(
    variant: Variant, inp: Input, task: Task, opts: ProbeOptions, done: dict[str, VariantResult]
) -> str:
    if opts.force != "opposite":
        answer = task.normalise(opts.force)
        if answer is None:
            raise ProbeError(
                f"--force {opts.force}: not one of this input's answers {list(task.options)}"
            )
        return answer
    opposed = variant.opposes
    own = done.get(opposed)
    if own is None:
        raise ProbeError(f"--force opposite needs the {opposed} variant")
    if own.get("error"):
        raise ProbeError(f"--force opposite: {opposed} failed, so there is no answer to oppose")
    if own["answer"] is None:
        raise ProbeError(
            f"--force opposite: {opposed}'s answer could not be read, so there is none to oppose"
        )
    if task.is_yes_no:
        return task.opposite(own["answer"])
    others = [o for o in task.options if o != own["answer"]]
    return random.Random(f"{inp.sha256}:{opts.seed}:force").choice(others)


def _mechanisms(provider: Provider, opts: ProbeOptions) -> list[str]:
    if opts.force_via != "auto":
        return [opts.force_via]
    usable = ["prefill"] if provider.discoveries.prefill else []
    return usable + ["prior-turn", "note"]


async def _run_forced(
    variant: Variant,
    inp: Input,
    task: Task,
    provider: Provider,
    opts: ProbeOptions,
    done: dict[str, VariantResult],
) -> VariantResult:
    try:
        forced_answer = _forced_answer(variant, inp, task, opts, done)
    except ProbeError as exc:
        return records.variant_error(exc, kind="skipped")
    base = done.get(variant.continues) if variant.continues else None
    reasoning = None if base is None or base.get("error") else base.get("explanation")
    auto = opts.force_via == "auto"
    attempts: list[dict[str, Any]] = []
    result: VariantResult = records.variant_result()
    for mechanism in _mechanisms(provider, opts):
        learned = provider.discoveries  # what this run has found out about prefill so far
        tried = False
        if auto and mechanism == "prefill" and not learned.prefill_confirmed:
            # The first prefill of a run is tried alone, so concurrent inputs do not all spend a
            # call on a mechanism the first reply may show to be unusable. Once a reply confirms
            # it, the calls that queued here go ahead together, outside the lock.
            async with learned.prefill_gate:
                if learned.prefill and not learned.prefill_confirmed:
                    result, fall_back = await _try_forced(
                        variant,
                        inp,
                        task,
                        provider,
                        opts,
                        forced_answer,
                        mechanism,
                        auto,
                        reasoning,
                    )
                    learned.prefill_confirmed = bool(result.get("honored"))
                    tried = True
        if auto and mechanism == "prefill" and not learned.prefill and not tried:
            continue  # an earlier input found prefill unusable: remembered for the run
        if not tried:
            result, fall_back = await _try_forced(
                variant, inp, task, provider, opts, forced_answer, mechanism, auto, reasoning
            )
        if fall_back:
            attempts.append(_attempt(result))
            continue
        break
    records.annotate(result, attempts=attempts)
    return result


async def _try_forced(  # noqa: PLR0913  (one forcing attempt: what it forces, and how)
    variant: Variant,
    inp: Input,
    task: Task,
    provider: Provider,
    opts: ProbeOptions,
    forced_answer: str,
    mechanism: str,
    auto: bool,
    reasoning: str | None,
) -> tuple[VariantResult, bool]:
    """One forcing attempt, and whether auto should fall back to the next mechanism."""
    try:
        prompt = variant.build(
            task, inp, VariantOptions(forced_answer, mechanism, reasoning=reasoning)
        )
    except ValueError as exc:
        result = records.variant_error(
            ProbeError(f"{variant.name}: {exc}"),
            kind="skipped",
            forced_answer=forced_answer,
            mechanism=mechanism,
        )
        return result, auto and mechanism != "note"  # the note needs no earlier reasoning
    request = request_for(prompt, opts)
    try:
        completion = await provider.complete(request)
    except ProviderError as exc:
        result = records.variant_error(exc, forced_answer=forced_answer, mechanism=mechanism)
        records.annotate(result, request=request.as_record())
        if auto and mechanism == "prefill" and exc.status in (400, 422):
            forget_prefill(provider, f"HTTP {exc.status} to a prefilled request", exc.deployment)
            return result, True
        return result, False
    result = read_reply(prompt, completion, task, variant)
    records.annotate(
        result,
        honored=honored(prompt, completion, result, provider, task),
        request=request.as_record(),
    )
    if auto and mechanism == "prefill" and not result["honored"]:
        forget_prefill(provider, "a reply did not continue the prefill", completion.deployment)
        return result, True
    if mechanism == "prefill" and result["honored"] and completion.deployment is not None:
        provider.discoveries.prefill_continued(completion.deployment)
    return result, False


def honored(
    prompt: Prompt, completion: Completion, result: VariantResult, provider: Provider, task: Task
) -> bool | None:
    """Did the forcing take? Prefill: the reply continued it. Prior turn: it is in the transcript.
    Note: the model gave the noted answer — the one it opens with or first states, else the one its
    words argue for; None when neither can be read."""
    if prompt.mechanism == "prefill":
        if provider.capabilities.prefill == "native":
            return True
        return answers.continues_prefill(completion.text, task, prompt.prefill)
    if prompt.mechanism == "prior-turn":
        return True
    read = assertions.final_answer if prompt.answer_at == "end" else assertions.first_answer
    given = read(completion.text, task) or result["answer"]
    return None if given is None else given == prompt.forced_answer


def _attempt(result: VariantResult) -> dict[str, Any]:
    attempt = {
        "mechanism": result.get("mechanism"),
        "honored": result.get("honored"),
        "prefill": result.get("prefill"),
        "raw": result.get("raw"),
        "error": result.get("error"),
        "request": result.get("request"),
    }
    if result.get("deployment"):  # several deployments (the Router road): which one it was
        attempt["deployment"] = result.get("deployment")
    return attempt
