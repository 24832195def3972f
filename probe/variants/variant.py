"""Prompt variants: each one a declaration and a small pure function from (task, input, options)
to a chat request.

Every variant shares one prefix — the system prompt, then the input, then the question — and
differs only in what follows, so provider prompt caches and llama.cpp's KV cache can reuse it.

A variant declares everything the rest of probe needs to know about it — the unbiased variant it
is compared with, whether it forces an answer, which bias it carries, whose answer it sets itself
against, whose reply it builds on — so the engine, the verdict, the terminal view, the judge and
the report ask the declaration instead of naming variants. The variants themselves are declared
by the research methods that use them, each in its own folder under probe/methods/ (`@register`
there); this module holds what they share: the declarations, the registry, and the two unbiased
prompts every other variant is built from.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from probe.inputs.load import Input
from probe.providers.messages import with_parts
from probe.variants import registry
from probe.variants.prompts import (
    Message,
    decide_first_instruction,
    explain_first_instruction,
    few_shot,
    input_and_question,
    system_message,
)
from probe.variants.registry import Registry, of_module
from probe.variants.tasks import Task

MECHANISMS = ("prefill", "prior-turn", "note")

# The two unbiased orders: answer then explain, explain then answer. Every other variant is
# compared with one of them (its `baseline`).
DECIDE_FIRST = "decide-first"
EXPLAIN_FIRST = "explain-first"


@dataclass(frozen=True)
class VariantOptions:
    forced_answer: str | None = None  # the answer to force (already resolved from "opposite")
    mechanism: str | None = None  # how to force it: one of MECHANISMS
    bias_target: str | None = None  # the answer a biasing variant points at
    reasoning: str | None = None  # the explanation of the variant this one `continues`
    reasoning_answer: str | None = None  # the answer that variant reached after its reasoning
    seed: int | None = None  # the run's --seed (input-edit draws its edit with it)


@dataclass(frozen=True)
class Prompt:
    messages: list[Message]
    prefill: str | None = None  # partial assistant reply the model should continue
    answer_at: str = "start"  # where the answer sits in the reply: "start", "end" or "given"
    forced_answer: str | None = None
    mechanism: str | None = None
    bias_target: str | None = None
    # The prefill holds an earlier reply's reasoning: the explanation is read from the model's
    # continuation alone, never from the words probe put in its mouth.
    explanation_from_reply: bool = False
    hint: str | None = None  # the words of a hint (probe/methods/hints) shown to the model
    edit: dict[str, Any] | None = None  # input-edit: the insertion made (probe/methods/input_edits)

    def __post_init__(self) -> None:
        # A user turn with an image puts every message in parts, as it is sent (see
        # probe.providers.messages.with_parts): done here, where every variant's prompt is made, so that
        # the response cache keys what goes over the wire. Text prompts are kept as they are.
        object.__setattr__(self, "messages", with_parts(self.messages))

    @property
    def answer_first(self) -> bool:
        """The reply's first token is the model's own answer: decide-first form, nothing forced,
        nothing prefilled. Only then do first-token probabilities say how likely each answer
        was (record fields `p_yes`, `p_answers`)."""
        return self.answer_at == "start" and self.prefill is None and self.forced_answer is None


@dataclass(frozen=True)
class Edit:
    """An earlier call a step depends on (Lanham et al.'s adding mistakes, paraphrasing): its
    `prompt` is sent first; the reply's text, as the model wrote it, is recorded in the step's
    point under `record_as`, and `then` builds the step's own prompt from it."""

    prompt: Prompt
    then: Callable[[str], Prompt]
    record_as: str = "edited"


@dataclass(frozen=True)
class Step:
    """One call of a variant that makes several per input (see `Variant.steps`): its prompt, and
    what it asks, recorded beside the answer it gets (e.g. {"kept": 2, "of": 5, ...}).

    A step with an `edit` has no prompt of its own until the edit's reply is in (`prompt` None).
    `answer_from` says where its answer is read: "first", the reply's first stated answer (an
    answer asked for at once, in ANSWER_TOKENS tokens); "last", the last one stated in prefill
    plus reply (a reasoning the model continues, in --max-tokens)."""

    prompt: Prompt | None
    point: dict[str, Any]
    edit: Edit | None = None
    answer_from: str = "first"


@dataclass(frozen=True)
class Variant:
    name: str
    build: Callable[[Task, Input, VariantOptions], Prompt]
    summary: str
    baseline: str = DECIDE_FIRST  # the unbiased variant it is compared with (itself for one)
    forces: bool = False  # it forces an answer: built with a forced answer and a mechanism
    # The bias it carries, pointing at bias_target ("suggested", "always-a", a hint's kind).
    bias: str | None = None
    # Whose answer `--force opposite` opposes, and a default suggestion avoids (when no gold).
    opposes: str = DECIDE_FIRST
    continues: str | None = None  # a variant whose reply's reasoning this one is built on
    # First-token probabilities are asked for every prompt whose `answer_first` holds, never for a
    # forcing variant (its answer is probe's): see Prompt.answer_first. An experiment's steps ask
    # for them where the variant says so (P(final answer) along early answering's curve).
    wants_p_yes: bool = False
    # An experiment of several calls per input (Lanham et al.'s early answering, filler tokens):
    # the prompts it sends, built from the options (mechanism "prefill" or "prior-turn", the
    # continued variant's reasoning and answer). The engine sends each, reads each answer into
    # its point, and records the points (probe/pipeline/steps.py); `build` is then unused.
    steps: Callable[[Task, Input, VariantOptions], list[Step]] | None = None
    # The entry's own fields (answer, …) from the points its steps recorded.
    summarise: Callable[[list[dict[str, Any]], VariantOptions], dict[str, Any]] | None = None
    # A variant to run after when the run has it too, so that calls the two share come from
    # the cache instead of being made twice at once (filler-tokens after early-answering).
    follows: str | None = None
    # What the experiment costs, shown before a run starts: "up to N+1 extra calls per input…"
    calls_note: str | None = None
    # Its bias points at an answer chosen per input (see `bias_targeted`).
    targeted: bool = False
    # The readers it declares. `mentions`: does an explanation mention its bias (or, forcing, the
    # answer put in its mouth)? A lexical detector, no model call. `describe_bias`: the bias in
    # words for the judge ("the user wrote: …"), given the task and the bias target. `reads`: more
    # fields read from its reply (the explanation and the prompt it answered).
    mentions: Callable[[str], bool] | None = None
    describe_bias: Callable[[Task, str], str] | None = None
    reads: Callable[[str, Prompt], dict[str, Any]] | None = None
    method: str = ""  # the method (probe/methods/<name>) that declared it

    @property
    def is_baseline(self) -> bool:
        return self.baseline == self.name

    @property
    def bias_targeted(self) -> bool:
        """Its bias points at an answer chosen per input (the input's own `suggested`,
        `--suggest`, a wrong one where gold is known, else one the opposed variant did not give):
        Turpin's suggestion and Chen et al.'s hints; always-a's target is fixed, (A)."""
        return self.targeted

    def waits_for(self, *, force_opposite: bool, target_given: bool) -> tuple[str, ...]:
        """The variants whose results this one is built from, so must run after: the one it
        opposes (forcing the opposite, or suggesting against an answer when none is given), the
        one it continues, and the one it follows."""
        waits = []
        if (self.forces and force_opposite) or (self.bias_targeted and not target_given):
            waits.append(self.opposes)
        if self.continues:
            waits.append(self.continues)
        if self.follows:
            waits.append(self.follows)
        return tuple(dict.fromkeys(waits))


Builder = Callable[[Task, Input, VariantOptions], Prompt]
StepsBuilder = Callable[[Task, Input, VariantOptions], list[Step]]
VARIANTS: Registry[Variant] = registry.VARIANTS  # every variant by name, in the methods' order


def register(name: str, summary: str, **kw: Any) -> Callable[[Builder], Builder]:
    def wrap(fn: Builder) -> Builder:
        VARIANTS.add(Variant(name=name, build=fn, summary=summary, **declared))
        return fn

    declared = _declared_by(sys._getframe(1).f_globals.get("__name__", ""), kw)
    return wrap


def _declared_by(module: str, kw: dict[str, Any]) -> dict[str, Any]:
    """The declaration's keywords, with the method whose folder (`module`) registers it."""
    return {"method": of_module(module), **kw}


def decide_first(task: Task, inp: Input, opts: VariantOptions) -> Prompt:
    """The unbiased decide-first prompt: answer first, then explain."""
    user = input_and_question(task, inp, decide_first_instruction(task))
    return Prompt(
        messages=[system_message(), *few_shot(task, explain_first=False), user], answer_at="start"
    )


def explain_first(task: Task, inp: Input, opts: VariantOptions) -> Prompt:
    """The unbiased explain-first prompt: explain, then decide at the end."""
    user = input_and_question(task, inp, explain_first_instruction(task))
    return Prompt(
        messages=[system_message(), *few_shot(task, explain_first=True), user], answer_at="end"
    )


def with_line(
    task: Task, inp: Input, opts: VariantOptions, line: str, *, explain_first: bool
) -> Prompt:
    """Decide-first's or explain-first's prompt with one more line between the question and the
    instruction: a suggestion or a hint pointing at the bias target."""
    instruction = (
        explain_first_instruction(task) if explain_first else decide_first_instruction(task)
    )
    user = input_and_question(task, inp, line, instruction)
    examples = few_shot(task, explain_first=explain_first)
    return Prompt(
        messages=[system_message(), *examples, user],
        answer_at="end" if explain_first else "start",
        bias_target=opts.bias_target,
    )


def register_experiment(
    name: str, summary: str, **kw: Any
) -> Callable[[StepsBuilder], StepsBuilder]:
    """`register` for a variant of several calls per input: the decorated function builds its
    steps (see `Variant.steps`)."""

    def wrap(fn: StepsBuilder) -> StepsBuilder:
        VARIANTS.add(Variant(name=name, build=_steps_only, summary=summary, steps=fn, **declared))
        return fn

    declared = _declared_by(sys._getframe(1).f_globals.get("__name__", ""), kw)
    return wrap


def _steps_only(task: Task, inp: Input, opts: VariantOptions) -> Prompt:
    raise ValueError("this variant makes several calls: see its steps")


def get(name: str) -> Variant:
    try:
        return VARIANTS[name]
    except KeyError:
        known = ", ".join(VARIANTS)
        raise ValueError(f"unknown variant {name!r} (known: {known})") from None
