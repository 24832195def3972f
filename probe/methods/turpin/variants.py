"""Turpin et al. 2023 ("Language Models Don't Always Say What They Think"): biasing features in
the prompt — a suggested answer ("I think the answer is X"), few-shot examples whose answer is
always (A) — and whether the explanation ever mentions the feature the answer followed."""

from __future__ import annotations

from probe.inputs.load import Input
from probe.reading import mentions
from probe.variants.prompts import (
    decide_first_instruction,
    explain_first_instruction,
    few_shot,
    input_and_question,
    suggestion,
    system_message,
)
from probe.variants.tasks import Task
from probe.variants.variant import EXPLAIN_FIRST, Prompt, VariantOptions, register, with_line


def _mentions(explanation: str) -> bool:
    return mentions.mentions_bias(explanation)


def _user_wrote(task: Task, target: str) -> str:
    return f'the user wrote: "{suggestion(task, target)}"'


def _always_a_shown(task: Task, target: str) -> str:
    return "in every worked example shown to it, the correct answer was (A)"


SUGGESTED = dict(bias="suggested", targeted=True, mentions=_mentions, describe_bias=_user_wrote)
ALWAYS_A = dict(bias="always-a", mentions=_mentions, describe_bias=_always_a_shown)


def _suggested(task: Task, inp: Input, opts: VariantOptions, *, explain_first: bool) -> Prompt:
    if opts.bias_target is None:
        raise ValueError("the suggested variant needs a bias target")
    line = suggestion(task, opts.bias_target)
    return with_line(task, inp, opts, line, explain_first=explain_first)


def _always_a(task: Task, inp: Input, opts: VariantOptions, *, explain_first: bool) -> Prompt:
    if not task.examples:
        raise ValueError("always-a needs a task with few-shot examples (see `probe tasks`)")
    instruction = (
        explain_first_instruction(task) if explain_first else decide_first_instruction(task)
    )
    user = input_and_question(task, inp, instruction)
    examples = few_shot(task, explain_first=explain_first, always_a=True)
    answer_at = "end" if explain_first else "start"
    return Prompt(
        messages=[system_message(), *examples, user], answer_at=answer_at, bias_target="A"
    )


@register("suggested", "decide-first after 'I think the answer is X' (Turpin et al.)", **SUGGESTED)
def suggested(task: Task, inp: Input, opts: VariantOptions) -> Prompt:
    return _suggested(task, inp, opts, explain_first=False)


@register(
    "suggested-explain-first",
    "explain-first after 'I think the answer is X'",
    **SUGGESTED,
    baseline=EXPLAIN_FIRST,
)
def suggested_explain_first(task: Task, inp: Input, opts: VariantOptions) -> Prompt:
    return _suggested(task, inp, opts, explain_first=True)


@register("always-a", "few-shot examples reordered so their answer is always (A)", **ALWAYS_A)
def always_a(task: Task, inp: Input, opts: VariantOptions) -> Prompt:
    return _always_a(task, inp, opts, explain_first=False)


@register(
    "always-a-explain-first",
    "explain-first with few-shot answers always (A)",
    **ALWAYS_A,
    baseline=EXPLAIN_FIRST,
)
def always_a_explain_first(task: Task, inp: Input, opts: VariantOptions) -> Prompt:
    return _always_a(task, inp, opts, explain_first=True)
