"""The one interface every model sits behind, and what each model can do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from probe.providers.capabilities import Capabilities

if TYPE_CHECKING:
    from probe.providers.discoveries import Discoveries

Message = dict[str, Any]


@dataclass(frozen=True)
class Request:
    """One call of a model: what every provider's `complete` takes."""

    messages: list[Message]
    max_tokens: int
    temperature: float = 0.0
    prefill: str | None = None  # a partial assistant reply the model continues
    want_p_yes: bool = False  # ask for first-token probabilities (where the model gives them)
    seed: int | None = None  # sent only where the provider accepts one
    sample: int = 0  # which of --samples N draws; only caches tell draws apart

    def as_record(self) -> dict[str, Any]:
        """What the record keeps of the request (`request` entries, docs/records.md): everything
        sent but `sample`, which only the cache reads. The messages are the list sent (the record
        stores them once per record: probe.records.record.compact_requests)."""
        return {
            "messages": self.messages,
            "prefill": self.prefill,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "seed": self.seed,
            "want_p_yes": self.want_p_yes,
        }

    @classmethod
    def from_record(
        cls, entry: dict[str, Any], messages: list[Message], sample: int = 0
    ) -> Request:
        """The request a record's `request` entry describes, with its messages rebuilt."""
        return cls(
            messages,
            max_tokens=int(entry["max_tokens"]),
            temperature=float(entry["temperature"]),
            prefill=entry.get("prefill"),
            want_p_yes=bool(entry.get("want_p_yes")),
            seed=entry.get("seed"),
            sample=sample,
        )


@dataclass
class Completion:
    """One model reply. For a prefilled request `text` is the continuation only."""

    text: str
    raw: str  # the reply content exactly as the provider returned it
    p_yes: float | None = None  # first-token P(yes) / (P(yes) + P(no)), where logprobs exist
    # The first token's candidates {token text: probability} where logprobs exist (the server's
    # top logprobs; the embedded model's answer-word and letter tokens), read by option_probabilities
    first_tokens: dict[str, float] | None = None
    usage: dict[str, int] | None = None
    latency_s: float = 0.0
    cost_usd: float | None = None  # spent on this reply; 0.0 from the cache (when priced)
    cached: bool = False  # answered from probe's response cache, no call made
    finish_reason: str | None = None  # "stop", or "length" when cut off at max_tokens
    cost_saved_usd: float | None = None  # a cached reply: what it cost when it was first made
    deployment: str | None = None  # which of several deployments sent it (the Router road)


class Provider(Protocol):
    @property
    def model(self) -> str: ...

    @property
    def capabilities(self) -> Capabilities:
        """As resolved when opened; never changed."""
        ...

    @property
    def discoveries(self) -> Discoveries:
        """What this run has learned about the model since it was opened."""
        ...

    async def complete(self, request: Request) -> Completion: ...

    def forget_prefill(self, reason: str) -> None:
        """The model refused or ignored a prefill: use other mechanisms for the rest of the run
        (recorded in `discoveries`)."""

    async def aclose(self) -> None:
        """Release connections at the end of a run."""


class ProviderWrapper:
    """A provider in front of another (cache, call limits): everything but `complete` is the
    inner provider's."""

    def __init__(self, inner: Provider) -> None:
        self.inner = inner

    @property
    def model(self) -> str:
        return self.inner.model

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    @property
    def discoveries(self) -> Discoveries:
        return self.inner.discoveries

    def forget_prefill(self, reason: str, deployment: str | None = None) -> None:
        from probe.providers.discoveries import forget_prefill

        forget_prefill(self.inner, reason, deployment)

    async def aclose(self) -> None:
        await self.inner.aclose()


def split_echo(content: str, prefill: str | None) -> str:
    """Some servers return prefill + continuation, others the continuation only."""
    if prefill and content.startswith(prefill):
        return content[len(prefill) :]
    return content


def yes_no_probability(candidates: dict[str, float]) -> float | None:
    """P(yes) / (P(yes) + P(no)) from {token text: probability} of the first generated token."""
    yes = no = 0.0
    for token, p in candidates.items():
        word = token.strip().strip("*_\"'").lower()
        if word == "yes":
            yes += p
        elif word == "no":
            no += p
    if yes + no == 0:
        return None
    return yes / (yes + no)


_LETTER_WRAPPING = "([*_\"'"
_LETTER_TRAILING = ").:,]*_\"'"


def option_probabilities(
    candidates: dict[str, float] | None, options: tuple[str, ...] | list[str]
) -> dict[str, float] | None:
    """{option: probability} of the first generated token, normalised over the options, from
    {token text: probability}. A yes/no task's options are its words ("Yes", " no"); a letter
    option counts as "A", " A", "(A", "(A)" or "A." (capital letters only: "a" is a word). None
    when no candidate names an option (no logprobs, or a first token such as "(" or "The")."""
    if not candidates or not options:
        return None
    yes_no = {o.lower() for o in options} == {"yes", "no"}
    mass = dict.fromkeys(options, 0.0)
    for token, p in candidates.items():
        if yes_no:
            word = token.strip().strip("*_\"'").lower()
        else:
            word = token.strip().lstrip(_LETTER_WRAPPING).rstrip(_LETTER_TRAILING)
        if word in mass:
            mass[word] += p
    total = sum(mass.values())
    if total <= 0:
        return None
    return {o: p / total for o, p in mass.items()}
