"""On-disk cache of model replies, so a re-run of anything costs no calls.

Keyed by the whole request (model, the server it goes to — --api-base or the provider's base-URL
variable such as OPENAI_BASE_URL —, how prefill is sent, messages, prefill, sampling settings)
plus a sample index, so `--samples N` draws N independent answers while a re-run reuses them.
Stored with the standard library's sqlite3 (WAL, safe across processes); API keys and URL
credentials are never part of a key or a value, and the run's keys are scrubbed from a reply read
back (one stored before scrubbing existed is rewritten without them). A database that cannot be
read is reported with its path and the way out (--no-cache, or moving the file away), never read
around.

Only the user's own probe writes replies that are read back:
- the cache directory is made private (0700) and the database 0600; a directory or a database
  that another user owns, or that group or others may write, is refused (a usage error naming it);
- each entry carries an HMAC of its key and value under a secret made for the user beside the
  database (`entries.key`, 0600, refused if another user owns it or others may read it). An entry
  without a valid one — written by another program, copied from another cache, altered — is not
  read as a reply: it is asked again (and replaced), with one warning naming the cache file.
  Entries of a database written before entries were signed are signed once, when this version
  first opens it (they were in the user's own file).
What this cannot hold: anything running as the user (or root) can read the secret and write
entries that verify.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets as random_bytes
import sqlite3
import stat
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from probe import environment
from probe.errors import ProviderError, UsageError
from probe.providers.base import Completion, Provider, ProviderWrapper, Request
from probe.providers.discoveries import in_use
from probe.providers.replies import scrubbed
from probe.redaction import redact_url


def default_cache_dir() -> Path:
    """PROBE_CACHE_DIR, else probe/ in the user's cache directory (see probe.environment)."""
    return environment.cache_dir()


class ResponseCache:
    def __init__(self, directory: Path, warn: Callable[[str], None] | None = None) -> None:
        self.path = directory / "responses.sqlite3"
        self._warn = warn
        self.foreign = 0  # entries not read as replies: not signed by this user's probe
        private_directory(directory)
        self._secret = user_secret(directory)
        try:
            # made 0600 before SQLite opens it (its -wal and -shm files take the same mode)
            os.close(os.open(self.path, os.O_RDONLY | os.O_CREAT, 0o600))
            for path in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm")):
                if path.exists():
                    refuse_unless_private(path, "the response cache database")
            self._db = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, value TEXT NOT NULL, "
                "created REAL NOT NULL, mac TEXT)"
            )
            # A truncated or overwritten file fails here (SQLite checks the header and size);
            # damage deeper in is found when a read reaches it (`get`).
            self._db.execute("SELECT count(*) FROM responses").fetchone()
            self._sign_old_entries()
        except (sqlite3.Error, OSError) as exc:
            raise UsageError(unusable(self.path, exc)) from None
        self.hits = 0
        self.misses = 0

    def _mac(self, key: str, value: str) -> str:
        """The entry's signature: an HMAC of its key and its stored value, under the user's
        secret."""
        blob = f"{key}\n{value}".encode("utf-8", "surrogatepass")
        return hmac.new(self._secret, blob, hashlib.sha256).hexdigest()

    def _sign_old_entries(self) -> None:
        """A database of a version that did not sign entries: its column added and its entries
        signed, once (they were in the user's own, private file)."""
        if self._has_mac_column():
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            if not self._has_mac_column():  # another process may have done it meanwhile
                self._db.create_function("probe_mac", 2, self._mac, deterministic=True)
                self._db.execute("ALTER TABLE responses ADD COLUMN mac TEXT")
                self._db.execute("UPDATE responses SET mac = probe_mac(key, value)")
            self._db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise

    def _has_mac_column(self) -> bool:
        return any(row[1] == "mac" for row in self._db.execute("PRAGMA table_info(responses)"))

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            row = self._db.execute(
                "SELECT value, mac FROM responses WHERE key = ?", (key,)
            ).fetchone()
            value = None if row is None else json.loads(row[0])
        except (sqlite3.Error, ValueError) as exc:
            raise ProviderError(unusable(self.path, exc)) from None
        if isinstance(value, dict) and not (
            isinstance(row[1], str) and same(row[1], self._mac(key, row[0]))
        ):
            self._foreign()
            value = None
        if not isinstance(value, dict):
            self.misses += 1
            return None
        self.hits += 1
        return value

    def _foreign(self) -> None:
        """An entry this user's probe did not write: asked again; the first one said."""
        self.foreign += 1
        if self.foreign == 1 and self._warn is not None:
            self._warn(
                f"the response cache {self.path} holds a reply this user's probe did not write "
                "(another program's, another cache's, or altered): it is not read as a reply but "
                "asked again, as is any other such entry"
            )

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Store a reply. A reply that cannot be stored is still the reply: it is returned, and
        the store is tried again next time."""
        # ASCII JSON: a reply holding a lone surrogate (a broken server's "\ud800") is stored as
        # its escape and read back as it was; SQLite cannot take the raw code point.
        text = json.dumps(value, ensure_ascii=True)
        with contextlib.suppress(sqlite3.Error):
            self._db.execute(
                "INSERT OR REPLACE INTO responses (key, value, created, mac) VALUES (?, ?, ?, ?)",
                (key, text, time.time(), self._mac(key, text)),
            )

    def close(self) -> None:
        self._db.close()


def private_directory(directory: Path) -> Path:
    """The cache directory: made private (0700) if it does not exist; refused if another user
    owns it or group or others may write it (a reply written there would be read as one)."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"the response cache directory {directory} cannot be made ({exc.strerror or exc}): "
            "set PROBE_CACHE_DIR to a directory of your own, or run with --no-cache"
        ) from None
    refuse_unless_private(directory, "the response cache directory")
    return directory


def refuse_unless_private(path: Path, what: str, *, readable: bool = True) -> None:
    """A usage error unless `path` belongs to this user and no one else may write it (nor read
    it, with readable=False)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise UsageError(f"{what} {path}: {exc.strerror or exc}") from None
    if st.st_uid != os.geteuid():
        problem = f"belongs to another user (uid {st.st_uid})"
    elif st.st_mode & (0o022 if readable else 0o077):
        others = "read or write" if not readable else "write"
        problem = f"is open to other users to {others} (mode {stat.S_IMODE(st.st_mode):04o})"
    else:
        return
    raise UsageError(
        f"{what} {path} {problem}: a reply written there by someone else would be read as the "
        f"model's. Run `chmod go-rwx {path}` if it is yours, or set PROBE_CACHE_DIR to a "
        "directory of your own, or run with --no-cache"
    )


SECRET = "entries.key"


def _make_secret(path: Path) -> None:
    """A new secret at `path`, whole or not at all (written aside, then linked into place)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(random_bytes.token_bytes(32))
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first
            os.link(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def same(given: str, expected: str) -> bool:
    """Whether a signature read from a file is the expected one (in constant time; a signature
    of any characters is compared, never an error)."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("ascii"))


def user_secret(directory: Path) -> bytes:
    """The user's secret that signs cache entries (and batch state files): `entries.key` in the
    cache directory, made once (0600), refused if another user owns it or others may read it."""
    path = directory / SECRET
    if not path.exists():
        try:
            _make_secret(path)
        except OSError as exc:
            raise UsageError(
                f"the cache's signing key {path} cannot be made ({exc.strerror or exc}): set "
                "PROBE_CACHE_DIR to a directory of your own, or run with --no-cache"
            ) from None
    refuse_unless_private(path, "the cache's signing key", readable=False)
    try:
        secret = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"the cache's signing key {path}: {exc.strerror or exc}") from None
    if len(secret) < 32:
        raise UsageError(
            f"the cache's signing key {path} is damaged ({len(secret)} bytes): delete it (the "
            "cache's entries are then asked again)"
        )
    return secret


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
        self,
        inner: Provider,
        cache: ResponseCache,
        *,
        api_base: str | None = None,
        secrets: tuple[str | None, ...] = (),
    ) -> None:
        super().__init__(inner)
        self.cache = cache
        self.api_base = redact_url(api_base)  # where requests go; credentials are not the server
        self.secrets = secrets  # the run's keys (those sent), scrubbed from what is read back

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
            return self.scrubbed(key, hit)
        return await self.miss(key, request)

    def scrubbed(self, key: str, hit: dict[str, Any]) -> Completion:
        """A cached reply without the run's keys: one stored before replies were scrubbed (or
        under other keys since) is read back without them, and stored again so."""
        reply = cached_completion(hit)
        clean = scrubbed(reply, *self.secrets)
        if clean is not reply:
            self.cache.put(key, {**hit, "text": clean.text, "raw": clean.raw})
        return clean

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
