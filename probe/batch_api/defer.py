"""`--batch-api`: the run's calls wait for a provider batch instead of being made.

The engine runs as usual behind `DeferringCache`, the reply cache with one difference: a request
the cache cannot answer is not sent. Its body (exactly what the road would send) is kept under its
cache key, and the call fails with `Deferred`, an error the engine records like any other. An input
with a deferred call somewhere in its record is `waiting`: its record is held back, not written,
and the input is probed again once the batch's replies are in the cache (probe.batch_api.submit).
Variants built on an earlier answer (`--force opposite`) are not reached until that answer is in:
they are the next round's requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from probe.errors import ProviderError
from probe.providers.base import Completion, Provider, Request
from probe.providers.cache import CachedProvider, ResponseCache
from probe.providers.chat_request import SDK_PARAMS

DEFERRED = "deferred"


class Deferred(ProviderError):
    """A call left for the provider's batch: no reply yet, no error either."""

    kind = DEFERRED

    def __init__(self) -> None:
        super().__init__("waiting for a provider batch (--batch-api)")


@dataclass(frozen=True)
class Pending:
    """One request waiting for a batch: its chat completions body, and the prefill its reply
    continues (the reply's text is read as the road reads it: the continuation only)."""

    body: dict[str, Any]
    prefill: str | None


@dataclass
class Deferrals:
    """The requests a run left for a batch, by cache key (the batch line's custom_id)."""

    pending: dict[str, Pending] = field(default_factory=dict)

    def add(self, key: str, request: Pending) -> None:
        self.pending.setdefault(key, request)


def batch_body(kwargs: dict[str, Any], model_name: str) -> dict[str, Any]:
    """A request in LiteLLM's vocabulary (probe.providers.chat_request) as the JSON body of
    `POST /v1/chat/completions`: the API's own parameters, `extra_body` merged in."""
    body: dict[str, Any] = {"model": model_name}
    for name in SDK_PARAMS:
        if name in kwargs and name != "extra_body":
            body[name] = kwargs[name]
    body.update(kwargs.get("extra_body") or {})
    return body


def model_name(model: str, provider: str) -> str:
    """The model as the provider's own API names it (`openai/gpt-4o-mini` → `gpt-4o-mini`)."""
    return model.removeprefix(f"{provider}/")


class DeferringCache(CachedProvider):
    """The reply cache in front of a remote model, where a miss is deferred, not called."""

    def __init__(
        self,
        inner: Provider,
        cache: ResponseCache,
        *,
        remote: Any,  # probe.providers.remote.RemoteProvider: builds the request
        deferrals: Deferrals,
        api_base: str | None = None,
    ) -> None:
        super().__init__(inner, cache, api_base=api_base, secrets=getattr(remote, "secrets", ()))
        self.remote = remote
        self.deferrals = deferrals

    async def miss(self, key: str, request: Request) -> Completion:
        """Not called: the request is kept for the next batch, and its input waits."""
        kwargs = self.remote.wire(request)  # `sample` is part of the key only, not of the body
        body = batch_body(kwargs, model_name(self.remote.model, self.remote.provider))
        self.deferrals.add(key, Pending(body, request.prefill))
        raise Deferred()


def waiting(record: Any) -> bool:
    """Whether a record has a deferred call anywhere in it (a variant, an attempt, a judge
    call): its input is not finished, and the record is not written."""
    return any(node.get("type") == DEFERRED for node in _dicts(record))


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for inner in value.values():
            yield from _dicts(inner)
    elif isinstance(value, list | tuple):
        for inner in value:
            yield from _dicts(inner)
