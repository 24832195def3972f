"""The state file of a `--batch-api` run: `OUT.jsonl.batch.json` beside the run file `-o`.

It holds what a later process needs to finish the run — the run's settings (never the API key),
the directory it ran in, and every batch submitted: its id, round, when it was submitted, which
requests (custom_id = the reply cache key) it carries and the prefill each reply continues, the
status last seen, and whether its results are in. Its settings — those that decide where the run's
calls, and so its API key, go: --api-base, the model, the provider, the endpoint — are sealed with
an HMAC under the user's secret (probe.providers.cache.user_secret): a state file whose seal does
not match (edited, copied from another user, or written by an older probe) is not trusted to name
a server (probe.batch_api.submit.api_base_of). Written atomically (a temporary file renamed
over the old one), so a kill at any moment leaves the old state or the new one. It exists while
the run has inputs without their records; it is removed when the last one is written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from probe.errors import UsageError

SUFFIX = ".batch.json"
VERSION = 1


def state_path(output: str | os.PathLike[str]) -> Path:
    """The state file of the run file `output` (`-o`)."""
    return Path(f"{os.fspath(output)}{SUFFIX}")


def run_file_of(path: Path) -> Path:
    """The run file a state file belongs to: the one it sits beside (its name less .batch.json).
    Never a path read from inside it: a copied or edited state file must not send records, or
    its clean-up, to another file."""
    return path.with_name(path.name[: -len(SUFFIX)])


def find_state(name: str) -> Path:
    """`probe batch status/collect FILE`: the state file itself, or the run file it sits beside."""
    path = Path(name)
    if not name.endswith(SUFFIX):
        path = state_path(name)
    if not path.is_file():
        raise UsageError(
            f"{path}: no batch state file (none was submitted with --batch-api -o, or the run "
            "it belonged to is finished)"
        )
    return path


@dataclass
class BatchEntry:
    id: str
    round: int
    submitted: float  # time.time()
    requests: list[str]  # custom_ids (reply cache keys)
    prefills: dict[str, str] = field(default_factory=dict)  # custom_id -> prefill, where one
    status: str = "validating"  # as last seen
    counts: dict[str, int] = field(default_factory=dict)  # total, completed, failed, as last seen
    collected: bool = False  # its results are in the cache (or it ended with none)
    note: str | None = None  # how it ended, when not completed
    input_file: str | None = None  # the uploaded batch file; `id` is "" until the batch starts


@dataclass
class BatchState:
    output: str  # the run file, as named on the command line
    cwd: str  # where the run's relative paths start
    config: dict[str, Any]  # the run's settings (probe.batch_api.submit.config_to_state)
    model: str
    provider: str
    endpoint: str | None  # --api-base or the provider's base-URL variable, credentials redacted
    batches: list[BatchEntry] = field(default_factory=list)
    rounds: int = 0
    created: float = field(default_factory=time.time)
    # Not kept in the file: whether its seal matched (a state this process made is), and where
    # it was read from.
    sealed: bool = field(default=True, compare=False)
    source: str = field(default="", compare=False)

    @property
    def open(self) -> list[BatchEntry]:
        """Batches whose results are not in yet."""
        return [b for b in self.batches if not b.collected]

    def in_flight(self) -> set[str]:
        return {key for b in self.open for key in b.requests}

    def prefill_of(self, key: str) -> str | None:
        for b in reversed(self.batches):
            if key in b.prefills:
                return b.prefills[key]
        return None


_NOT_KEPT = ("sealed", "source")
# What the seal covers: the run's settings and where its calls go. Not the batches (their ids and
# progress; an unknown id is named by the provider's answer) nor the run file's name (bound by
# where the state file sits: load_bound).
_SEALED = ("config", "model", "provider", "endpoint", "cwd")


def seal_of(data: dict[str, Any]) -> str:
    """The HMAC of a state's sealed settings under the user's secret."""
    from probe import environment
    from probe.providers.cache import private_directory, user_secret

    secret = user_secret(private_directory(environment.cache_dir()))
    sealed = {k: data.get(k) for k in _SEALED}
    blob = json.dumps(sealed, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hmac.new(secret, blob.encode("ascii"), hashlib.sha256).hexdigest()


def load(path: Path) -> BatchState:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != VERSION:
            raise ValueError(f"version {data.get('version')!r}, not {VERSION}")
        seal = data.pop("seal", None)
        batches = [BatchEntry(**b) for b in data.pop("batches")]
        data.pop("version")
        for name in _NOT_KEPT:
            data.pop(name, None)
        state = BatchState(**data, batches=batches)
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise UsageError(f"{path}: not a probe batch state file ({exc})") from None
    from probe.providers.cache import same

    state.sealed = isinstance(seal, str) and same(seal, seal_of(data))
    state.source = str(path)
    return state


def load_bound(path: Path) -> BatchState:
    """The state file at `path`, checked to be the one its run wrote beside its run file: the
    run file it names is the one it sits beside (a state file copied beside another run file, or
    edited to name one elsewhere, is refused)."""
    state = load(path)
    beside = run_file_of(path)
    if not isinstance(state.output, str) or Path(state.output).name != beside.name:
        raise UsageError(
            f"{path} is the batch state of the run file {state.output!r}, not of {beside}, "
            "the file it sits beside: it was copied or edited. A state file belongs to the run "
            "file it was written beside: put it back there, or remove it"
        )
    return state


def save(path: Path, state: BatchState) -> None:
    """Write the state atomically: a temporary file, flushed, renamed over the old one."""
    data = {"version": VERSION, **dataclasses.asdict(state)}
    for name in _NOT_KEPT:
        data.pop(name)
    data = json.loads(json.dumps(data))  # sealed as it will be read back
    data["seal"] = seal_of(data)
    text = json.dumps(data, ensure_ascii=True, indent=1) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
