"""Bounds on calls: at most N in flight across all inputs and variants, and at most R a minute."""

from __future__ import annotations

import asyncio
import time

from probe.providers.base import Completion, Message, Provider, ProviderWrapper


class RateLimiter:
    """Spaces call starts at least 60/rpm seconds apart."""

    def __init__(self, rpm: float) -> None:
        self.interval = 60.0 / rpm
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)


class LimitedProvider(ProviderWrapper):
    def __init__(self, inner: Provider, *, concurrency: int, rpm: float | None = None) -> None:
        super().__init__(inner)
        self._slots = asyncio.Semaphore(concurrency)
        self._rate = RateLimiter(rpm) if rpm else None
        self.calls = 0

    async def complete(self, messages: list[Message], **kwargs) -> Completion:  # type: ignore[no-untyped-def]
        async with self._slots:
            if self._rate:
                await self._rate.wait()
            self.calls += 1
            return await self.inner.complete(messages, **kwargs)
