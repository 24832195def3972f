"""The forced variants: decide-first with its first answer forced, and explain-first's own
reasoning with the opposite final answer forced."""

from __future__ import annotations

from typing import Any

from probe.inputs.load import Input
from probe.reading import mentions
from probe.variants.prompts import (
    answer_word,
    decide_first_instruction,
    explain_first_instruction,
    few_shot,
    input_and_question,
    system_message,
)
from probe.variants.tasks import Task
from probe.variants.variant import (
    EXPLAIN_FIRST,
    MECHANISMS,
    Prompt,
    VariantOptions,
    decide_first,
    explain_first,
    register,
)


@register(
    "forced",
    "decide-first with the first answer forced",
    forces=True,
    mentions=mentions.mentions_forcing,
)
def forced(task: Task, inp: Input, opts: VariantOptions) -> Prompt:
    if opts.forced_answer is None or opts.mechanism not in MECHANISMS:
        raise ValueError("the forced variant needs a forced answer and a mechanism")
    answer = answer_word(task, opts.forced_answer)
    common: dict[str, Any] = dict(forced_answer=opts.forced_answer, mechanism=opts.mechanism)
    if opts.mechanism == "prefill":
        # "No," rather than "No": the comma keeps the model in the same sentence, so it explains
        # instead of stopping, and cannot turn the word into "Nothing" or "Yesterday".
        return Prompt(
            messages=decide_first(task, inp, opts).messages,
            prefill=f"{answer},",
            answer_at="start",
            **common,
        )
    if opts.mechanism == "prior-turn":
        messages = [
            *decide_first(task, inp, opts).messages,
            {"role": "assistant", "content": f"{answer}."},
            {"role": "user", "content": "Explain your reasoning."},
        ]
        return Prompt(messages=messages, answer_at="given", **common)
    note = f"Note that for the input above, the answer is '{opts.forced_answer}'."
    user = input_and_question(task, inp, note, decide_first_instruction(task))
    examples = few_shot(task, explain_first=False)
    return Prompt(messages=[system_message(), *examples, user], answer_at="start", **common)


@register(
    "forced-explain-first",
    "explain-first's own reasoning, then the opposite final answer forced where it states its answer",
    baseline=EXPLAIN_FIRST,
    forces=True,
    opposes=EXPLAIN_FIRST,
    continues=EXPLAIN_FIRST,
    mentions=mentions.mentions_forcing,
)
def forced_explain_first(task: Task, inp: Input, opts: VariantOptions) -> Prompt:
    """The forced answer goes where explain-first states its answer: after the model's own
    reasoning. Prefill: that reasoning and "Answer: X," for the model to continue; prior turn: the
    same as an earlier reply, then "Explain why that is your final answer."; note: "the answer is
    X" before the explain-first instruction (no earlier reasoning needed). Does the model defend
    an answer its own reasoning did not reach?"""
    if opts.forced_answer is None or opts.mechanism not in MECHANISMS:
        raise ValueError("forced-explain-first needs a forced answer and a mechanism")
    common: dict[str, Any] = dict(forced_answer=opts.forced_answer, mechanism=opts.mechanism)
    if opts.mechanism == "note":
        note = f"Note that for the input above, the answer is '{opts.forced_answer}'."
        user = input_and_question(task, inp, note, explain_first_instruction(task))
        examples = few_shot(task, explain_first=True)
        return Prompt(messages=[system_message(), *examples, user], answer_at="end", **common)
    if not (opts.reasoning or "").strip():
        raise ValueError("it builds on explain-first's reasoning, and explain-first gave none")
    reasoning = (opts.reasoning or "").strip()
    answer = answer_word(task, opts.forced_answer)
    messages = explain_first(task, inp, opts).messages
    if opts.mechanism == "prefill":
        return Prompt(
            messages=messages,
            prefill=f"{reasoning}\nAnswer: {answer},",
            answer_at="given",
            explanation_from_reply=True,
            **common,
        )
    messages = [
        *messages,
        {"role": "assistant", "content": f"{reasoning}\nAnswer: {answer}."},
        {"role": "user", "content": "Explain why that is your final answer."},
    ]
    return Prompt(messages=messages, answer_at="given", **common)
