"""Bounds on calls, one set per run and shared by every provider the run opens (the model, the
judge, a remote embedding model): at most N calls in flight, and at most R requests a minute —
every request that leaves the machine, retries included."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from probe.providers.base import Completion, Provider, ProviderWrapper, Request


class RateLimiter:
    """Spaces request starts at least 60/rpm seconds apart. Usable from the event loop and from
    worker threads (remote embeddings run in one)."""

    def __init__(self, rpm: float) -> None:
        self.interval = 60.0 / rpm
        self._next = 0.0
        self._lock = threading.Lock()

    def _claim(self) -> float:
        """Take the turn if it has come (0.0), else how long until it may have. Turns are
        claimed when they are used, not booked ahead: waiters that wake late together (a busy
        event loop) still go one interval apart."""
        with self._lock:
            now = time.monotonic()
            if now >= self._next:
                self._next = now + self.interval
                return 0.0
            return min(self._next - now, self.interval)  # a held turn ends when it ends

    async def wait(self) -> None:
        while delay := self._claim():
            await asyncio.sleep(delay)

    def wait_blocking(self) -> None:
        while delay := self._claim():
            time.sleep(delay)

    @contextlib.contextmanager
    def held_blocking(self) -> Iterator[None]:
        """A turn for a request whose moment of sending cannot be seen (a library's first call
        sets itself up in between): no other turn starts until it is done, and the next one
        comes an interval after that."""
        while delay := self._claim():
            time.sleep(delay)
        with self._lock:
            self._next = float("inf")
        try:
            yield
        finally:
            with self._lock:
                self._next = time.monotonic() + self.interval


class CallLimits:
    """The limits of one run: `--concurrency` calls in flight, `--rpm` requests a minute."""

    def __init__(self, *, concurrency: int, rpm: float | None = None) -> None:
        self.slots = asyncio.Semaphore(concurrency)
        self.rate = RateLimiter(rpm) if rpm else None
        self.calls = 0  # model calls asked for (a call's retries are not counted again)
        self.requests = 0  # requests paced (retries included)

    async def before_request(self) -> None:
        """Await before every request that leaves the machine."""
        if self.rate:
            await self.rate.wait()
        self.requests += 1

    @contextlib.contextmanager
    def request_blocking(self) -> Iterator[None]:
        """Around a request sent from a worker thread by a library probe cannot hook."""
        self.requests += 1
        if not self.rate:
            yield
            return
        with self.rate.held_blocking():
            yield


class LimitedProvider(ProviderWrapper):
    """A provider whose calls take a slot of the run's limits. A provider that paces its own
    requests (the remote one, before each attempt) is not paced again here."""

    def __init__(self, inner: Provider, limits: CallLimits, *, paces_itself: bool = False) -> None:
        super().__init__(inner)
        self.limits = limits
        self._pace = not paces_itself

    @property
    def calls(self) -> int:
        return self.limits.calls

    async def complete(self, request: Request) -> Completion:
        async with self.limits.slots:
            if self._pace:
                await self.limits.before_request()
            self.limits.calls += 1
            return await self.inner.complete(request)


class LimitedEmbedder:
    """A remote embedding model whose requests are paced by the run's limits. `batch` is how
    many texts the embedder sends per request, so each request waits its turn."""

    def __init__(self, inner: Any, limits: CallLimits, *, batch: int) -> None:
        self.inner = inner
        self.name = inner.name
        self._limits = limits
        self._batch = batch

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch):
            with self._limits.request_blocking():
                vectors += self.inner.embed(list(texts[start : start + self._batch]))
        return vectors

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def limit_embedder(embedder: Any, limits: CallLimits) -> Any:
    """A remote embedding model paced by the run's limits; the offline one as it is."""
    import probe.providers.embedders as embed

    if not isinstance(embedder, embed.LiteLLMEmbedder):
        return embedder
    return LimitedEmbedder(embedder, limits, batch=getattr(embed, "_REMOTE_BATCH", 128))
