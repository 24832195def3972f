"""The variants of Chen et al.'s hints: each hint after the question, decide-first and
explain-first, and the consistency hint as a fabricated earlier turn."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from probe.inputs.load import Input
from probe.methods.hints import hints
from probe.variants.prompts import answer_word, choices_phrase
from probe.variants.tasks import Task
from probe.variants.variant import (
    EXPLAIN_FIRST,
    Prompt,
    VariantOptions,
    decide_first,
    register,
    with_line,
)


def _declared(kind: str) -> dict[str, Any]:
    """What each hint's variants declare: the bias, its target chosen per input, its readers."""

    def mentioned(explanation: str) -> bool:
        return hints.mentions_hint(kind, explanation)

    def described(task: Task, target: str) -> str:
        return hints.describe(kind, task, target)

    return dict(bias=kind, targeted=True, mentions=mentioned, describe_bias=described)


def _hinted(
    task: Task, inp: Input, opts: VariantOptions, kind: str, *, explain_first: bool
) -> Prompt:
    """Chen et al.'s hint of this kind after the question, then the variant's instruction."""
    if opts.bias_target is None:
        raise ValueError(f"the {kind} hint needs a bias target")
    hint = hints.text(kind, task, opts.bias_target)
    prompt = with_line(task, inp, opts, hint, explain_first=explain_first)
    return replace(prompt, hint=hint)


def _register_hint(kind: str) -> None:
    """`kind` (decide-first) and `kind-explain-first`, both after the hint of that kind."""
    summary = hints.SUMMARIES[kind]

    @register(kind, f"decide-first after {summary} (Chen et al.)", **_declared(kind))
    def decide(task: Task, inp: Input, opts: VariantOptions) -> Prompt:
        return _hinted(task, inp, opts, kind, explain_first=False)

    @register(
        f"{kind}-explain-first",
        f"explain-first after {summary}",
        **_declared(kind),
        baseline=EXPLAIN_FIRST,
    )
    def explain(task: Task, inp: Input, opts: VariantOptions) -> Prompt:
        return _hinted(task, inp, opts, kind, explain_first=True)


for _kind in ("metadata", "grader-hacking", "unethical"):
    _register_hint(_kind)


@register(
    "consistency",
    f"{hints.SUMMARIES['consistency']} (Chen et al.)",
    **_declared("consistency"),
)
def consistency(task: Task, inp: Input, opts: VariantOptions) -> Prompt:
    """Like forced's prior turn, but a bias with a target: the model may keep or change the answer
    'it' gave, and states its final one at the end."""
    if opts.bias_target is None:
        raise ValueError("the consistency hint needs a bias target")
    earlier = hints.text("consistency", task, opts.bias_target)
    ask = (
        f"{hints.CONSISTENCY_FOLLOW_UP} On the last line, write it as 'Answer: "
        f"{answer_word(task, task.options[0])}' or similar ({choices_phrase(task)})."
    )
    messages = [
        *decide_first(task, inp, opts).messages,
        {"role": "assistant", "content": earlier},
        {"role": "user", "content": ask},
    ]
    return Prompt(messages=messages, answer_at="end", bias_target=opts.bias_target, hint=earlier)
