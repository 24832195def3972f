"""A remote model's calls: each one paced, bounded by a deadline, retried, and read.

The road a request travels (probe.providers.openai_road, probe.providers.litellm_road) is chosen
by probe.providers.registry; this module is the same for both. Every attempt waits its turn at the
run's rate limit (`pace`), and then has `timeout` seconds in all to bring back a whole reply: a
server trickling bytes cannot hold a call longer. Where probe owns the HTTP client the turn is
taken as the request leaves (probe.providers.http_client); otherwise just before the attempt.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from probe.errors import ProviderError
from probe.providers.base import Completion, Request
from probe.providers.capabilities import Capabilities
from probe.providers.chat_request import build_request, drop_logprobs
from probe.providers.discoveries import Discoveries
from probe.providers.failures import (
    DeadlineExceeded,
    backoff,
    describe,
    is_retryable,
    refuses_logprobs,
    status_of,
)
from probe.providers.http_client import before_send
from probe.providers.litellm_road import import_litellm
from probe.providers.replies import completion_of, scrubbed
from probe.redaction import url_secrets

__all__ = [
    "RemoteProvider",
    "Road",
    "import_litellm",
]  # import_litellm: for probe.providers.embedders


class Road(Protocol):
    """How a remote model's requests travel (the OpenAI SDK, or LiteLLM)."""

    provider: str  # LiteLLM's name for the provider: "openai", "anthropic", …
    endpoint: str | None  # where requests go when not the provider's default (cache key)
    api_key: str | None  # the key sent, if any
    paced_in_client: bool  # our HTTP client carries the requests: paced as each one leaves
    cost: Callable[[Any], float | None]  # what a reply cost, where known

    def capabilities(self, vision_override: bool | None) -> Capabilities: ...

    async def send(self, kwargs: dict[str, Any]) -> Any: ...

    async def aclose(self) -> None: ...


class RemoteProvider:
    def __init__(
        self,
        model: str,
        road: Road,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        retries: int = 3,
        vision: bool | None = None,
        pace: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.model = model
        self.road = road
        self.api_base = api_base
        self.provider = road.provider
        self.endpoint = road.endpoint
        self.secrets = (api_key, *url_secrets(api_base), *getattr(road, "secrets", ()))
        self.timeout = timeout
        self.retries = retries
        self._pace = pace  # awaited before every request: the run's rate limit
        self.capabilities = road.capabilities(vision)
        routed = getattr(road, "discoveries_for", None)  # several deployments: learned per one
        self.discoveries = (
            routed(self.capabilities, vision) if routed else Discoveries(self.capabilities)
        )
        self._served_by = getattr(road, "served_by", None)

    def forget_prefill(self, reason: str, deployment: str | None = None) -> None:
        self.discoveries.forget_prefill(reason, deployment)

    async def aclose(self) -> None:
        await self.road.aclose()

    async def complete(self, request: Request) -> Completion:
        kwargs = self.wire(request)
        prefill = request.prefill
        attempt = 0
        while True:
            start = time.perf_counter()
            try:
                response = await self._attempt(kwargs)
                done = completion_of(response, prefill, time.perf_counter() - start, self.road.cost)
                done = scrubbed(done, *self.secrets)
                if self._served_by is not None:
                    done.deployment = self._served_by(response)
                return done
            except Exception as exc:
                if kwargs.get("logprobs") and refuses_logprobs(exc):
                    # The server refuses logprobs: go on without them for the rest of the run.
                    self.discoveries.refuse_logprobs()
                    drop_logprobs(kwargs)
                    continue
                status = status_of(exc)
                if not is_retryable(exc, status) or attempt >= self.retries:
                    error = ProviderError(self._describe(exc, status, attempt), status=status)
                    error.deployment = getattr(exc, "probe_deployment", None)
                    raise error from None
                await asyncio.sleep(backoff(exc, attempt))
                attempt += 1

    def wire(self, request: Request) -> dict[str, Any]:
        """What `complete` sends for a request (in LiteLLM's vocabulary, client settings
        included)."""
        return build_request(
            self.model,
            request,
            prefill_mode=self.discoveries.prefill,
            timeout=self.timeout,
            seed=request.seed if self.capabilities.seed else None,
            logprobs=request.want_p_yes and self.discoveries.logprobs,
            api_base=self.api_base,
            api_key=self.road.api_key,
        )

    async def _attempt(self, kwargs: dict[str, Any]) -> Any:
        """One request: its turn at the rate limit, then `timeout` seconds in all for the whole
        reply (the HTTP clients' own timeouts bound each wait for a byte, so a server sending
        one byte at a time would hold them forever)."""
        loop = asyncio.get_running_loop()
        try:
            if not self.road.paced_in_client:
                if self._pace is not None:
                    await self._pace()
                async with asyncio.timeout(self.timeout):
                    return await self.road.send(kwargs)
            async with asyncio.timeout(None) as deadline:

                async def leaving() -> None:  # in the HTTP client, as the request leaves
                    if self._pace is not None:
                        await self._pace()
                    if deadline.when() is None:  # not again for a redirect
                        deadline.reschedule(loop.time() + self.timeout)

                with before_send(leaving):
                    return await self.road.send(kwargs)
        except TimeoutError:
            raise DeadlineExceeded(self.timeout) from None

    def _describe(self, exc: Exception, status: int | None, attempt: int) -> str:
        return describe(
            exc,
            model=self.model,
            endpoint=getattr(exc, "probe_deployment", None) or self.endpoint,
            timeout=self.timeout,
            status=status,
            attempt=attempt,
            secrets=self.secrets,
        )
