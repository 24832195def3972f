"""The `-o FILE.jsonl` of a run: one line per record, flushed as each input completes, and on close
rewritten atomically to hold exactly one record per input — the successful one where any attempt
succeeded, else the latest.

With `--resume`, the records already in the file are kept, inputs with a successful record are
skipped, and failed ones run again. A torn last line (the process was killed mid-write) is dropped.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, TextIO

from probe import records


class RunFile:
    def __init__(self, path: str | os.PathLike[str], *, resume: bool) -> None:
        self.path = Path(path)
        self.done: set[str] = set()  # keys of inputs with a successful record
        self.previous = 0
        if resume and self.path.exists():
            for record in self._read():
                self.previous += 1
                if records.succeeded(record):
                    self.done.add(record["key"])
        elif not resume and self.path.exists():
            self.path.unlink()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        import jsonlines

        self._fh: TextIO | None = self.path.open("a", encoding="utf-8")
        self._writer: Any = jsonlines.Writer(self._fh, dumps=records.dumps, flush=True)

    def _read(self) -> list[dict[str, Any]]:
        """The file's records; a line that is not a probe record (torn by a kill) is skipped."""
        import jsonlines

        with jsonlines.open(self.path) as reader:
            return [
                r for r in reader.iter(type=dict, skip_invalid=True, skip_empty=True) if "key" in r
            ]

    def write(self, record: dict[str, Any]) -> None:
        assert self._writer is not None
        self._writer.write(record)

    def close(self) -> None:
        """Rewrite the file with one record per input, atomically (temp file + rename)."""
        if self._fh is None:
            return
        self._writer.close()
        self._fh.close()
        self._fh = self._writer = None
        kept: dict[str, dict[str, Any]] = {}
        for record in self._read():
            key = record["key"]
            if key in kept and records.succeeded(kept[key]) and not records.succeeded(record):
                continue  # a later failure never replaces an earlier success
            kept[key] = record
        fd, tmp = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                for record in kept.values():
                    out.write(records.dumps(record) + "\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def read_records(paths: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Probe records from JSONL files, and one message per line that is not one (file:line)."""
    import json

    found: list[dict[str, Any]] = []
    problems: list[str] = []
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    problems.append(f"{path}: line {number}: not valid JSON ({exc.msg})")
                    continue
                if not isinstance(record, dict) or not isinstance(record.get("variants"), dict):
                    problems.append(f"{path}: line {number}: not a probe record")
                    continue
                found.append(record)
    return found, problems
