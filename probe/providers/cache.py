"""On-disk cache of model replies, so a re-run of anything costs no calls.

Keyed by the whole request (model, the server it goes to — --api-base or the provider's base-URL
variable such as OPENAI_BASE_URL —, how prefill is sent, messages, prefill, sampling settings)
plus a sample index, so `--samples N` draws N independent answers while a re-run reuses them.
Stored with the standard library's sqlite3 (WAL, safe across processes); API keys and URL
credentials are never part of a key or a value. A database that cannot be read is reported with
its path and the way out (--no-cache, or moving the file away), never read around.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import time
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from probe import environment
from probe.errors import ProviderError, UsageError
from probe.providers.base import Completion, Provider, ProviderWrapper, Request
from probe.providers.discoveries import in_use
from probe.redaction import redact_url


def default_cache_dir() -> Path:
    """PROBE_CACHE_DIR, else probe/ in the user's cache directory (see probe.environment)."""
    return environment.cache_dir()


class ResponseCache:
    def __init__(self, directory: Path) -> None:
        self.path = directory / "responses.sqlite3"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, value TEXT NOT NULL, created REAL NOT NULL)"
            )
            # A truncated or overwritten file fails here (SQLite checks the header and size);
            # damage deeper in is found when a read reaches it (`get`).
            self._db.execute("SELECT count(*) FROM responses").fetchone()
        except (sqlite3.Error, OSError) as exc:
            raise UsageError(unusable(self.path, exc)) from None
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            row = self._db.execute("SELECT value FROM responses WHERE key = ?", (key,)).fetchone()
            value = None if row is None else json.loads(row[0])
        except (sqlite3.Error, ValueError) as exc:
            raise ProviderError(unusable(self.path, exc)) from None
        if not isinstance(value, dict):
            self.misses += 1
            return None
        self.hits += 1
        return value

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Store a reply. A reply that cannot be stored is still the reply: it is returned, and
        the store is tried again next time."""
        # ASCII JSON: a reply holding a lone surrogate (a broken server's "\ud800") is stored as
        # its escape and read back as it was; SQLite cannot take the raw code point.
        with contextlib.suppress(sqlite3.Error):
            self._db.execute(
                "INSERT OR REPLACE INTO responses (key, value, created) VALUES (?, ?, ?)",
                (key, json.dumps(value, ensure_ascii=True), time.time()),
            )

    def close(self) -> None:
        self._db.close()


def unusable(path: Path, exc: BaseException) -> str:
    return (
        f"the response cache {path} cannot be read ({exc}): run with --no-cache, or delete or "
        "move that file (probe starts a new one)"
    )


def request_key(identity: dict[str, Any], **request: Any) -> str:
    blob = json.dumps(
        {"who": identity, **request}, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    # surrogatepass: a lone surrogate in a request (a prior reply fed back) still makes a key,
    # and every other request keeps the key it always had
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


class CachedProvider(ProviderWrapper):
    """A provider that answers from the cache when it can. Only successful replies are stored."""

    def __init__(
        self, inner: Provider, cache: ResponseCache, *, api_base: str | None = None
    ) -> None:
        super().__init__(inner)
        self.cache = cache
        self.api_base = redact_url(api_base)  # where requests go; credentials are not the server

    def key(self, request: Request) -> str:
        """The cache key of a request: what it asks, of which model, at which server."""
        now = in_use(self.inner)  # as resolved, less what the run found unusable
        return request_key(
            {
                "model": self.inner.model,
                "api_base": self.api_base,
                "prefill_mode": now.prefill if request.prefill else None,
            },
            messages=request.messages,
            prefill=request.prefill,
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            p_yes=request.want_p_yes and now.logprobs,
            seed=request.seed,
            sample=request.sample,
        )

    async def complete(self, request: Request) -> Completion:
        key = self.key(request)
        hit = self.cache.get(key)
        if hit is not None:
            return cached_completion(hit)
        return await self.miss(key, request)

    async def miss(self, key: str, request: Request) -> Completion:
        """A request the cache cannot answer: called, and its reply stored under `key`."""
        completion = await self.inner.complete(request)
        self.cache.put(key, stored(completion))
        return completion


def stored(completion: Completion) -> dict[str, Any]:
    """A reply as the cache stores it."""
    return {k: v for k, v in asdict(completion).items() if k not in _NOT_STORED}


_NOT_STORED = ("cached", "cost_saved_usd")  # facts about one use of a reply, not the reply
_FIELDS = {f.name for f in fields(Completion)}


def cached_completion(stored: dict[str, Any]) -> Completion:
    """A stored reply as a Completion answered from the cache: nothing was spent on it (cost
    0.0 where its price is known), and what it had cost is what the cache saved. Entries from
    older versions, without `finish_reason`, load with None."""
    known = {k: v for k, v in stored.items() if k in _FIELDS and k not in _NOT_STORED}
    cost = known.get("cost_usd")
    return Completion(
        **{
            **known,
            "cached": True,
            "cost_usd": None if cost is None else 0.0,
            "cost_saved_usd": cost,
        }
    )
