"""Variants of several calls per input (a declared `Variant.steps`, e.g. Lanham et al.'s early
answering and filler tokens, probe/methods/lanham/reasoning.py; adding mistakes and paraphrasing,
probe/methods/lanham/edited_reasoning.py): send each step — after its declared edit call, whose reply its prompt is
built from — read each answer into its point, and build the variant's one entry. Every call goes through `provider.complete`, so it is cached
and a resumed or repeated run makes none it has made before."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from probe.errors import ProbeError, ProviderError
from probe.inputs.load import Input
from probe.providers.base import Completion, Provider, Request
from probe.providers.discoveries import forget_prefill
from probe.reading import answers, assertions
from probe.records import record as records
from probe.records.schema import VariantResult
from probe.variants.tasks import Task
from probe.variants.variant import Prompt, Step, Variant, VariantOptions

# An answer needs a few tokens: the steps' calls stop there whatever --max-tokens says.
ANSWER_TOKENS = 16


async def run_steps(
    variant: Variant,
    inp: Input,
    task: Task,
    provider: Provider,
    opts: Any,  # engine.ProbeOptions
    done: dict[str, VariantResult],
) -> VariantResult:
    """The variant's entry: its points, and the fields its `summarise` draws from them. The
    answer is asked for by prefill where the provider takes one; where a reply shows the prefill
    was ignored or refused, prefill is forgotten for the run and the steps are asked again as a
    prior turn."""
    assert variant.steps is not None
    base = done.get(variant.continues) if variant.continues else None
    if base is None or base.get("error"):
        why = "failed" if base else "is not in --variants"
        return records.variant_error(
            ProbeError(f"{variant.name}: it builds on {variant.continues}, which {why}"),
            kind="skipped",
        )
    via = "prefill" if provider.discoveries.prefill else "prior-turn"
    while True:
        options = VariantOptions(
            mechanism=via, reasoning=base.get("explanation"), reasoning_answer=base.get("answer")
        )
        try:
            steps = variant.steps(task, inp, options)
        except ValueError as exc:
            return records.variant_error(ProbeError(f"{variant.name}: {exc}"), kind="skipped")
        want_p_yes = variant.wants_p_yes and task.is_yes_no
        sent = await asyncio.gather(
            *(_send(provider, step, opts, want_p_yes) for step in steps), return_exceptions=True
        )
        failed = [r for r in sent if isinstance(r, BaseException)]
        finals = [
            (built.prompt.prefill, made[-1])
            for built, made, _ in _done(sent)
            if built.prompt and built.prompt.prefill
        ]
        if via == "prefill" and _prefill_refused(failed, finals, provider, task):
            via = "prior-turn"
            continue
        if failed:
            if isinstance(failed[0], ProviderError):
                return records.variant_error(failed[0])
            raise failed[0]
        break
    points = [point(built, made, via, task, asked) for built, made, asked in _done(sent)]
    completions = [c for _, made, _ in _done(sent) for c in made]
    return steps_entry(variant, points, completions, options)


def steps_entry(
    variant: Variant,
    points: list[dict[str, Any]],
    completions: list[Completion],
    options: VariantOptions,
) -> VariantResult:
    """The variant's entry from its points and every completion its steps got."""
    fields = variant.summarise(points, options) if variant.summarise else {}
    result = records.variant_result(
        answer=fields.pop("answer", None),
        usage=_summed([c.usage for c in completions]),
        latency_s=sum(c.latency_s or 0.0 for c in completions),
        cost_usd=_total([c.cost_usd for c in completions]),
        cost_saved_usd=_total([c.cost_saved_usd for c in completions]),
        cached=all(c.cached for c in completions),
    )
    records.annotate(result, points=points, **fields)
    return result


def _prefill_refused(
    failed: list[BaseException],
    replies: list[tuple[str, Completion]],
    provider: Provider,
    task: Task,
) -> bool:
    """A 400/422 to a prefilled request, or a reply (of those to a prefill, each with the prefill
    it was given) that opened an answer of its own instead of continuing it: prefill is forgotten
    for the run (True: ask again as a prior turn)."""
    if provider.capabilities.prefill == "native":
        return False
    refused = [e for e in failed if isinstance(e, ProviderError) and e.status in (400, 422)]
    if refused:
        why = f"HTTP {refused[0].status} to a prefilled request"
        for deployment in dict.fromkeys(e.deployment for e in refused):
            forget_prefill(provider, why, deployment)
        return True
    if failed:
        return False
    ignored = [r for p, r in replies if not answers.continues_prefill(r.text, task, p)]
    if not ignored:
        return False
    for deployment in dict.fromkeys(r.deployment for r in ignored):
        forget_prefill(provider, "a reply did not continue the prefill", deployment)
    return True


Sent = tuple[Step, list[Completion], list[Request]]


def _done(sent: list[Any]) -> list[Sent]:
    return [r for r in sent if not isinstance(r, BaseException)]


async def _send(provider: Provider, step: Step, opts: Any, want_p_yes: bool) -> Sent:
    """The step's calls: its edit first if it has one (the reply recorded in its point and
    substituted into its prompt), then its own. Returns the step as sent, its completions and
    the requests that got them."""
    made: list[Completion] = []
    asked: list[Request] = []
    if step.edit is not None:
        asked.append(_request(step.edit.prompt, opts, False, opts.max_tokens))
        edit = await provider.complete(asked[-1])
        made.append(edit)
        noted = {**step.point, step.edit.record_as: edit.text}
        step = replace(step, prompt=step.edit.then(edit.text), point=noted)
    if step.prompt is None:
        raise ValueError("a step needs a prompt or an edit that builds one")
    tokens = min(opts.max_tokens, ANSWER_TOKENS) if step.answer_from == "first" else opts.max_tokens
    asked.append(_request(step.prompt, opts, want_p_yes, tokens))
    made.append(await provider.complete(asked[-1]))
    return step, made, asked


def _request(prompt: Prompt, opts: Any, want_p_yes: bool, max_tokens: int) -> Request:
    return Request(
        prompt.messages,
        prefill=prompt.prefill,
        max_tokens=max_tokens,
        temperature=opts.temperature,
        want_p_yes=want_p_yes,
        seed=opts.sample_seed,
        sample=opts.sample,
    )


def point(
    step: Step, made: list[Completion], via: str, task: Task, asked: list[Request]
) -> dict[str, Any]:
    """What the step asked, the answer it got and how. A step answering after a reasoning it
    continued (`answer_from` "last") also records its `continuation`, the model's own words.
    `request` is the call the answer came from; `edit_request`, the edit call before it."""
    completion = made[-1]
    p_yes = completion.p_yes
    if step.answer_from == "last":
        prefill = step.prompt.prefill if step.prompt else None
        said = {"continuation": completion.text}
        answer = assertions.final_answer((prefill or "") + completion.text, task)
    else:
        said, answer = {}, assertions.first_answer(completion.text, task)
    return {
        **step.point,
        **said,
        "answer": answer,
        "p_yes": None if p_yes is None else round(p_yes, 6),
        "via": via,
        "raw": completion.raw,
        "cached": all(c.cached for c in made),
        **({"edit_request": asked[0].as_record()} if len(asked) > 1 else {}),
        "request": asked[-1].as_record(),
    }


def _summed(usages: list[dict[str, int] | None]) -> dict[str, int] | None:
    total: dict[str, int] = {}
    for usage in usages:
        for key, value in (usage or {}).items():
            if isinstance(value, int):
                total[key] = total.get(key, 0) + value
    return total or None


def _total(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None
