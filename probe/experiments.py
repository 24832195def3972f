"""Variants of several calls per input (a declared `Variant.steps`, e.g. Lanham et al.'s early
answering and filler tokens, probe/lanham.py): send each step, read each answer into its point,
and build the variant's one entry. Every call goes through `provider.complete`, so it is cached
and a resumed or repeated run makes none it has made before."""

from __future__ import annotations

import asyncio
from typing import Any

from probe import answers, records
from probe.errors import ProbeError, ProviderError
from probe.inputs import Input
from probe.providers.base import Completion, Provider
from probe.records import VariantResult
from probe.tasks import Task
from probe.variants import Step, Variant, VariantOptions

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
        replies = await asyncio.gather(
            *(_call(provider, step, opts, want_p_yes) for step in steps), return_exceptions=True
        )
        failed = [r for r in replies if isinstance(r, BaseException)]
        if via == "prefill" and _prefill_refused(failed, replies, provider, task):
            via = "prior-turn"
            continue
        if failed:
            if isinstance(failed[0], ProviderError):
                return records.variant_error(failed[0])
            raise failed[0]
        completions = [r for r in replies if isinstance(r, Completion)]
        break
    points = [_point(step, c, via, task) for step, c in zip(steps, completions, strict=True)]
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
    failed: list[BaseException], replies: list[Any], provider: Provider, task: Task
) -> bool:
    """A 400/422 to a prefilled request, or a reply that opened an answer of its own instead of
    continuing the prefill: prefill is forgotten for the run (True: ask again as a prior turn)."""
    if provider.capabilities.prefill == "native":
        return False
    refused = [e for e in failed if isinstance(e, ProviderError) and e.status in (400, 422)]
    if refused:
        provider.forget_prefill(f"HTTP {refused[0].status} to a prefilled request")
        return True
    if failed:
        return False
    if all(answers.continues_prefill(r.text, task) for r in replies):
        return False
    provider.forget_prefill("a reply did not continue the prefill")
    return True


async def _call(provider: Provider, step: Step, opts: Any, want_p_yes: bool) -> Completion:
    return await provider.complete(
        step.prompt.messages,
        prefill=step.prompt.prefill,
        max_tokens=min(opts.max_tokens, ANSWER_TOKENS),
        temperature=opts.temperature,
        want_p_yes=want_p_yes,
        seed=opts.sample_seed,
        sample=opts.sample,
    )


def _point(step: Step, completion: Completion, via: str, task: Task) -> dict[str, Any]:
    p_yes = completion.p_yes
    return {
        **step.point,
        "answer": answers.parse_first(completion.text, task),
        "p_yes": None if p_yes is None else round(p_yes, 6),
        "via": via,
        "raw": completion.raw,
        "cached": completion.cached,
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
