"""Answer extraction by the model: Kojima et al. 2022's second stage, as Lanham et al. 2023 also
read answers.

A reply that reasons first and answers at the end (explain-first, its biased forms, consistency:
`Prompt.answer_at == "end"`) often states its conclusion in its own words ("The scene does not
show anything funny.") and no answer probe's text reader (probe.reading.answers) can read. Where the
reader finds none, probe asks the model itself, continuing the same conversation:

- **prefill**, where the provider continues one (probe/providers/capabilities.py, and what the run
  has found out since: probe/providers/discoveries.py): the variant's messages, then the reply
  and PREFILL_CUE ("So the answer is") as a partial assistant turn for the model to continue;
- **follow-up**, where it does not: the variant's messages, the reply as an assistant turn, then
  Kojima's answer trigger as a user turn ("Therefore, the answer (Yes or No) is").

As for the forced variant (probe.pipeline.engine), a prefill is tried and checked where the provider's
support is not known: the first of a run alone, under the same gate; a reply that does not
continue it (`answers.continues_prefill`), or a 400/422 to it, makes probe forget prefill for the
run (one line in the record's `attempts`) and ask again as a follow-up.

The extraction reply is read with the same reader, `probe.reading.assertions` (after a prefill: the
cue and the continuation, so "So the answer is" + " London." reads as an answer); the cue states
no answer, so whatever is read is the model's own words. Nothing is filled in: a reply that
states nothing leaves the answer null (`answer_source` "none").

Every call goes through `provider.complete`, so it is limited, cached and (--batch-api) deferred
like every other call; a failed one is recorded as the extraction's `error`, which makes the
record failed (records.succeeded), so --resume asks again. The request each call sent is kept in
its entry (`request`, as every call's is: docs/records.md).
"""

from __future__ import annotations

from typing import Any

from probe.errors import ProviderError
from probe.inputs.load import Input
from probe.providers.base import Completion, Provider, Request, option_probabilities
from probe.providers.capabilities import PREFILL_NATIVE
from probe.providers.discoveries import forget_prefill, in_use
from probe.reading import answers, assertions
from probe.records import record as records
from probe.records.schema import VariantResult
from probe.variants.prompts import Message, choices_phrase
from probe.variants.tasks import Task
from probe.variants.variant import Prompt, Variant, VariantOptions

PREFILL_CUE = "So the answer is"
# An answer needs a few tokens: extraction calls stop there whatever --max-tokens says.
EXTRACT_TOKENS = 16

TEXT = "text"  # read from the reply's own words
EXTRACTED = "extracted"  # read from the extraction reply
NONE = "none"  # neither
SOURCES = (TEXT, EXTRACTED, NONE)

PREFILL = "prefill"
FOLLOW_UP = "follow-up"


def follow_up_question(task: Task) -> str:
    """Kojima et al.'s answer trigger, as a user turn: "Therefore, the answer (Yes or No) is"."""
    return f"Therefore, the answer ({choices_phrase(task)}) is"


def applies(variant: Variant, prompt: Prompt) -> bool:
    """Whether a variant's reply has its answer read at the end, by probe (not forced, not given):
    the replies whose unread answer extraction asks for."""
    return not variant.forces and prompt.answer_at == "end" and prompt.forced_answer is None


def may_extract(task: Task, names: tuple[str, ...] | list[str]) -> list[str]:
    """The variants of a run whose replies may need an extraction call (for the notice before a
    run): those whose prompt, built for a stand-in input, answers at the end. A variant that
    cannot be built for this task (always-a without examples) is skipped at run time too."""
    from probe.variants.variant import get

    stand_in = Input("stand-in", None, "text", "0" * 64, "stand-in", None, None)
    found = []
    for name in names:
        variant = get(name)
        if variant.forces or variant.steps is not None:
            continue
        try:
            prompt = variant.build(
                task, stand_in, VariantOptions(bias_target=task.options[0], seed=0)
            )
        except ValueError:
            continue
        if applies(variant, prompt):
            found.append(name)
    return found


def request(prompt: Prompt, reply: str, task: Task, via: str) -> tuple[list[Message], str | None]:
    """The extraction's request: the variant's messages and its reply, then the cue (a prefill)
    or the question (a follow-up turn). Returns (messages, prefill)."""
    said = reply.rstrip()
    if via == PREFILL:
        return list(prompt.messages), f"{said}\n{PREFILL_CUE}" if said else PREFILL_CUE
    turns: list[Message] = [
        {"role": "assistant", "content": said},
        {"role": "user", "content": follow_up_question(task)},
    ]
    return [*prompt.messages, *turns], None


async def extract(
    provider: Provider,
    prompt: Prompt,
    reply: str,
    task: Task,
    opts: Any,  # engine.ProbeOptions
) -> dict[str, Any]:
    """The `extraction` entry of a variant whose reply's answer could not be read: how it was
    asked, what came back, the answer read from it (null when none), and `error` when the call
    failed."""
    attempts: list[dict[str, Any]] = []
    if in_use(provider).prefill:
        entry, usable = await _by_prefill(provider, prompt, reply, task, opts)
        if usable:
            return entry
        if entry:  # a prefill refused or not continued: kept, then asked again as a follow-up
            attempts.append(_attempt(entry))
    entry, _ = await _ask(provider, prompt, reply, task, opts, FOLLOW_UP)
    if attempts:
        entry["attempts"] = attempts
    return entry


async def _by_prefill(
    provider: Provider, prompt: Prompt, reply: str, task: Task, opts: Any
) -> tuple[dict[str, Any], bool]:
    """The extraction asked by prefill, and whether it stands (False: ask by a follow-up turn).
    The first prefill of a run whose support is unconfirmed is tried alone (the engine's gate),
    so concurrent inputs do not each spend a call on a server that closes the turn."""
    learned = provider.discoveries
    if provider.capabilities.prefill != PREFILL_NATIVE and not learned.prefill_confirmed:
        async with learned.prefill_gate:
            if not learned.prefill:
                return {}, False  # forgotten while this one waited: no call spent
            if not learned.prefill_confirmed:
                entry, usable = await _prefill_checked(provider, prompt, reply, task, opts)
                learned.prefill_confirmed = usable and entry["error"] is None
                return entry, usable
    return await _prefill_checked(provider, prompt, reply, task, opts)


async def _prefill_checked(
    provider: Provider, prompt: Prompt, reply: str, task: Task, opts: Any
) -> tuple[dict[str, Any], bool]:
    """One extraction by prefill, and whether the provider took the prefill: a 400/422 to it, or
    a reply that opened an answer of its own instead of continuing it, makes the run forget
    prefill. Any other failure is the call's, recorded as it is."""
    entry, sent = await _ask(provider, prompt, reply, task, opts, PREFILL)
    if provider.capabilities.prefill == PREFILL_NATIVE:
        return entry, True  # our own prompt rendering: always continued
    if isinstance(sent, ProviderError):
        if sent.status in (400, 422):
            forget_prefill(provider, f"HTTP {sent.status} to a prefilled request", sent.deployment)
            return entry, False
        return entry, True
    if not answers.continues_prefill(sent.text, task, f"{reply}{PREFILL_CUE}"):
        forget_prefill(provider, "a reply did not continue the prefill", sent.deployment)
        return entry, False
    return entry, True


async def _ask(
    provider: Provider, prompt: Prompt, reply: str, task: Task, opts: Any, via: str
) -> tuple[dict[str, Any], Completion | ProviderError]:
    """One extraction call: its entry, and the completion (or the error) it got."""
    messages, prefill = request(prompt, reply, task, via)
    entry: dict[str, Any] = {
        "via": via,
        "prefill": prefill,
        "follow_up": messages[len(prompt.messages) :] if via == FOLLOW_UP else None,
    }
    sent = Request(
        messages,
        prefill=prefill,
        max_tokens=min(opts.max_tokens, EXTRACT_TOKENS),
        temperature=opts.temperature,
        want_p_yes=True,  # the extraction reply's first token is its answer
        seed=opts.sample_seed,
        sample=opts.sample,
    )
    try:
        completion = await provider.complete(sent)
    except ProviderError as exc:
        entry.update(_empty(), error=exc.as_record(), request=sent.as_record())
        return entry, exc
    # After a prefill the cue is read with the continuation ("So the answer is" + " London."):
    # the cue names no answer, so an answer read is one the model gave.
    answer = read_reply(completion.text, task, via)
    entry.update(raw=completion.raw, answer=answer, **_reply_fields(completion, task), error=None)
    if completion.deployment is not None:
        entry["deployment"] = completion.deployment
    entry["request"] = sent.as_record()
    return entry, completion


def read_reply(text: str, task: Task, via: str | None) -> str | None:
    """The answer an extraction reply gives, read by the one reader (probe.reading.assertions); after a
    prefill, with the cue it continues ("So the answer is" + " London.")."""
    answer = assertions.first_answer(text, task)
    if answer is None and via == PREFILL:
        answer = assertions.first_answer(f"{PREFILL_CUE}{text}", task)
    return answer


def _reply_fields(completion: Completion, task: Task) -> dict[str, Any]:
    p_yes = completion.p_yes if task.is_yes_no else None
    if task.is_yes_no:
        p_answers = None if p_yes is None else {"yes": p_yes, "no": 1 - p_yes}
    else:
        p_answers = option_probabilities(completion.first_tokens, task.options)
    return {
        "p_yes": None if p_yes is None else round(p_yes, 6),
        "p_answers": None if p_answers is None else {k: round(v, 6) for k, v in p_answers.items()},
        "usage": completion.usage,
        "cost_usd": completion.cost_usd,
        "cost_saved_usd": completion.cost_saved_usd,
        "latency_s": round(completion.latency_s, 4),
        "cached": completion.cached,
        "finish_reason": completion.finish_reason,
    }


def _empty() -> dict[str, Any]:
    return {
        "raw": "",
        "answer": None,
        "p_yes": None,
        "p_answers": None,
        "usage": None,
        "cost_usd": None,
        "cost_saved_usd": None,
        "latency_s": None,
        "cached": False,
        "finish_reason": None,
    }


def _attempt(entry: dict[str, Any]) -> dict[str, Any]:
    """A prefill the provider refused or did not continue, as the record keeps it."""
    kept = ("via", "prefill", "raw", "answer", "usage", "cost_usd", "cost_saved_usd", "cached")
    attempt = {**{k: entry.get(k) for k in kept}, "error": entry.get("error")}
    if entry.get("deployment") is not None:  # several deployments (the Router road)
        attempt["deployment"] = entry["deployment"]
    attempt["request"] = entry.get("request")
    return attempt


def annotate(result: VariantResult, answer: str | None, entry: dict[str, Any] | None) -> None:
    """The variant's `answer_source` (and, after an extraction, its `extraction` and answer)."""
    if entry is None:
        records.annotate(result, answer_source=TEXT if answer is not None else NONE)
        return
    found = entry.get("answer")
    records.annotate(
        result,
        answer=found,
        answer_source=EXTRACTED if found is not None else NONE,
        extraction=entry,
    )


def calls(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The calls one extraction made: its attempts, then its own."""
    return [*(entry.get("attempts") or []), entry]


def failed(result: dict[str, Any]) -> bool:
    """An extraction whose call failed (not one that read nothing): the record is not done."""
    extraction = result.get("extraction")
    return bool(isinstance(extraction, dict) and extraction.get("error"))
