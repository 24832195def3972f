"""The `-o FILE.jsonl` of a run: one line per record, written as each input completes, and on close
rewritten atomically to hold exactly one record per input — the successful one where any attempt
succeeded, else the latest.

What may already be in the file is never lost by accident:
- without `--resume`, a file that is not empty is refused unless `--overwrite` is given, and even
  then it is emptied only when the first record is ready to replace it;
- with `--resume`, the records already in the file are kept, inputs with a successful record are
  skipped, and a torn last line (the process was killed mid-write) is cut before anything is
  appended after it; a file holding any other line that is not a record (a note written by hand,
  a text file named by mistake) is refused, never rewritten;
- one process writes a run file at a time: a second one is refused at once, naming the first;
- the final rewrite goes through a temporary file renamed over the old one, so a kill at any moment
  leaves either the old file or the new one (a leftover temporary file is removed by the next run),
  and the new file keeps the old one's permissions. A symlinked `-o` stays a symlink: the file it
  points to is what is written.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from probe.errors import UsageError
from probe.records import record as records


def refuse_to_overwrite(path: str | os.PathLike[str]) -> None:
    """A usage error if `path` is a file that is not empty: only --resume or --overwrite may write
    over what it holds."""
    try:
        size = os.stat(path).st_size
    except OSError:
        return  # nothing there (or nothing readable: opening it says why)
    if size > 0:
        raise UsageError(
            f"{path} is not empty: add --resume to continue the run it holds, "
            "or --overwrite to replace it"
        )


class RunFile:
    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        resume: bool,
        overwrite: bool = False,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.path = Path(path)  # as the user named it: what messages show
        self.target = Path(os.path.realpath(path))  # what is written: a symlink's target
        self.done: set[str] = set()  # keys of inputs with a successful record
        self._warn = warn or (lambda message: None)
        self._fd: int | None = None
        if not resume and not overwrite:
            refuse_to_overwrite(path)
        if self.target.exists() and not self.target.is_file():
            raise UsageError(f"{path}: not a regular file")
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            self._lock = RunLock(self.target, shown=str(path))
        except OSError as exc:
            raise UsageError(f"{path}: cannot write there: {exc.strerror or exc}") from None
        try:
            self._open(resume)
        except BaseException:
            self._lock.release()
            raise

    def _open(self, resume: bool) -> None:
        _remove_leftover_temp_files(self.target)
        if resume and self.target.exists():
            self._refuse_foreign_lines()
            self._cut_torn_tail()
            for _, record in self._read():
                if records.succeeded(record):
                    self.done.add(record["key"])
                    if isinstance(record.get("id"), str):  # written before ids were in the key
                        self.done.add(records.input_key(record["key"], record["id"]))
        self._fd = os.open(self.target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
        self._size = os.fstat(self._fd).st_size
        # Without --resume a file is written over only with --overwrite, and only once the first
        # record is ready to take its place.
        self._replace_on_first_write = not resume and self._size > 0

    def _read(
        self, foreign: list[tuple[int, str]] | None = None
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """The file's records, one at a time, each with the offset of its line; a line that is not
        a probe record is skipped (and, given `foreign`, the first such line that is not blank
        is put there: its number, what it is). Never the whole file at once: parsed, a record
        takes several times its line (~7 KB for a one-variant line of 1.2 KB), and a run of
        10,000 inputs held them all at its end (benchmarks/memory.py)."""
        with self.target.open("rb") as fh:
            offset = 0
            for number, line in enumerate(fh, start=1):
                record = _record(line)
                if record is not None:
                    yield offset, record
                elif foreign is not None and not foreign and line.strip():
                    foreign.append((number, _what(line)))
                offset += len(line)

    def _refuse_foreign_lines(self) -> None:
        """A usage error for a line that is neither a record, nor blank, nor a torn last line:
        the final rewrite keeps records only, so what else the file holds would be lost."""
        found = _first_foreign_line(self.target)
        if found is None:
            return
        number, what = found
        raise UsageError(
            f"{self.path}: line {number} is not a probe record ({what}). --resume rewrites the "
            "file with its records only, so it refuses a file holding anything else: move that "
            "line out of it, or name another -o file"
        )

    def _cut_torn_tail(self) -> None:
        """Cut a last line that has no newline or is not JSON, so what is appended next starts a
        line of its own instead of being glued to it (and lost with it)."""
        try:
            fh = self.target.open("r+b")
        except FileNotFoundError:
            return
        with fh:
            size = fh.seek(0, os.SEEK_END)
            start = _last_line_start(fh, size)
            fh.seek(start)
            last = fh.read()
            if not last.strip() or (last.endswith(b"\n") and _is_json_object(last)):
                return
            fh.truncate(start)
        self._warn(
            f"{self.path}: cut a torn last line ({len(last)} bytes) left by an interrupted run; "
            "its input runs again"
        )

    def write(self, record: dict[str, Any]) -> None:
        """Append one record as one line. A write that fails leaves no part of the line behind."""
        assert self._fd is not None
        line = (records.dumps(record) + "\n").encode("utf-8")
        if self._replace_on_first_write:
            os.ftruncate(self._fd, 0)
            self._size = 0
            self._replace_on_first_write = False
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError:
            os.ftruncate(self._fd, self._size)  # e.g. a full disk: no half line to glue onto
            raise
        self._size += len(line)

    def close(self) -> None:
        """Rewrite the file with one record per input, atomically (temp file + rename)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.close(fd)
            if not self._replace_on_first_write:  # else nothing replaced what the file holds
                # Which line stays for each input, from a summary of each record (not the records)
                foreign: list[tuple[int, str]] = []
                summaries = [(offset, _summary(r)) for offset, r in self._read(foreign)]
                if foreign:  # written into it by someone else as the run went on
                    self._warn(
                        f"{self.path}: line {foreign[0][0]} is not a probe record "
                        f"({foreign[0][1]}): the file is left as it is, not rewritten to one "
                        "record per input"
                    )
                    return
                kept = _one_per_input([summary for _, summary in summaries])
                self._rewrite([summaries[i][0] for i in kept])
        finally:
            self._lock.release()

    def _rewrite(self, offsets: list[int]) -> None:
        """Write the records at these offsets of the file, in this order, in its place."""
        try:
            old = os.stat(self.target)
        except FileNotFoundError:
            old = None
        fd, tmp = tempfile.mkstemp(
            dir=self.target.parent, prefix=f".{self.target.name}.", suffix=".tmp"
        )
        try:
            if old is not None:
                os.fchmod(fd, stat.S_IMODE(old.st_mode))
                if (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
                    # only root may give a file away; anyone else's copy stays theirs
                    with contextlib.suppress(PermissionError):
                        os.fchown(fd, old.st_uid, old.st_gid)
            else:
                os.fchmod(fd, 0o666 & ~_umask())
            with os.fdopen(fd, "wb") as out, self.target.open("rb") as old_lines:
                for offset in offsets:
                    old_lines.seek(offset)
                    record = json.loads(old_lines.readline())
                    out.write((records.dumps(record) + "\n").encode("utf-8"))
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_directory(self.target.parent)


def one_per_input(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per key, in the order first seen: the successful one where any attempt
    succeeded, else the latest. A record written before input ids were part of the key counts as
    its input's when a record with the new key is there too."""
    return [found[i] for i in _one_per_input([_summary(record) for record in found])]


Summary = tuple[str, str | None, bool]  # a record's key, its id if a string, whether it succeeded


def _summary(record: dict[str, Any]) -> Summary:
    rid = record.get("id")
    return record["key"], rid if isinstance(rid, str) else None, records.succeeded(record)


def _one_per_input(found: list[Summary]) -> list[int]:
    """one_per_input on summaries of the records: the indices of those kept, in order."""
    keys = {key for key, _, _ in found}
    kept: dict[str, tuple[int, bool]] = {}  # key: (index, succeeded)
    for index, (key, rid, ok) in enumerate(found):
        if rid is not None and (upgraded := records.input_key(key, rid)) in keys:
            key = upgraded
        if key in kept and kept[key][1] and not ok:
            continue  # a later failure never replaces an earlier success
        kept[key] = (index, ok)
    return [index for index, _ in kept.values()]


def _first_foreign_line(path: Path) -> tuple[int, str] | None:
    """The first line of a run file that is not a probe record, as (line number, what it is);
    blank lines and a torn last line (a record cut short by a kill: it starts as a record does
    and is not JSON) do not count. None when there is none."""
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        return None
    with fh:
        torn: int | None = None  # a line that looks torn: fine only as the last line
        for number, line in enumerate(fh, start=1):
            if torn is not None:
                return torn, "not JSON"
            if not line.strip() or _record(line) is not None:
                continue
            if line.startswith(b"{") and not _is_json_object(line):
                torn = number
                continue
            return number, _what(line)
    return None


def _what(line: bytes) -> str:
    """What a line that is not a probe record is, in a few words."""
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):
        return "not JSON"
    if isinstance(value, dict):
        return "a JSON object without a record's key"
    return f"JSON {type(value).__name__}, not an object"


def _record(line: bytes) -> dict[str, Any] | None:
    """The probe record a line holds, or None (not JSON, not UTF-8, not a record)."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return record if isinstance(record, dict) and "key" in record else None


class RunLock:
    """The exclusive right to write one run file: an flock on `.NAME.lock` beside it, which holds
    the owner's pid. (Not on the run file itself: the final rewrite replaces that file.) The lock
    goes when its process does, however it ends; a lock file left by a killed run is reused."""

    def __init__(self, target: Path, *, shown: str) -> None:
        import fcntl

        self.path = target.parent / f".{target.name}.lock"
        self._file: BinaryIO | None = None
        for _ in range(100):
            fh = open(self.path, "a+b", buffering=0)  # noqa: SIM115 - held until release()
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = _owner(fh)
                fh.close()
                raise UsageError(f"another probe run is writing {shown} (pid {owner})") from None
            except BaseException:
                fh.close()
                raise
            if _same_file(fh, self.path):
                fh.truncate(0)
                fh.write(f"{os.getpid()}\n".encode())
                self._file = fh
                return
            fh.close()  # its owner removed it as we opened it: take the one there now
        raise UsageError(f"could not lock {shown}: its lock file {self.path} keeps changing")

    def release(self) -> None:
        if self._file is None:
            return
        fh, self._file = self._file, None
        try:
            self.path.unlink(missing_ok=True)  # while still held: see _same_file
        finally:
            fh.close()


def _owner(fh: BinaryIO) -> str:
    """The pid in a lock file someone else holds (it writes it just after taking the lock)."""
    for _ in range(20):
        text = os.pread(fh.fileno(), 32, 0).decode("ascii", "replace").strip()
        if text.isdigit():
            return text
        time.sleep(0.01)
    return "unknown"


def _same_file(fh: BinaryIO, path: Path) -> bool:
    try:
        there = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fh.fileno())
    return (there.st_dev, there.st_ino) == (held.st_dev, held.st_ino)


def _remove_leftover_temp_files(target: Path) -> None:
    """Temporary files of a rewrite killed before its rename (ours: named as mkstemp names them).
    Called with the lock held, so no live run is writing one."""
    ours = re.compile(rf"\.{re.escape(target.name)}\.[a-z0-9_]{{8}}\.tmp")
    for name in os.listdir(target.parent):
        if ours.fullmatch(name):
            (target.parent / name).unlink(missing_ok=True)


def _last_line_start(fh: BinaryIO, size: int) -> int:
    """Offset where the file's last line starts (a final newline ends that line)."""
    end = size - 1
    while end > 0:
        start = max(0, end - (1 << 16))
        fh.seek(start)
        found = fh.read(end - start).rfind(b"\n")
        if found >= 0:
            return start + found + 1
        end = start
    return 0


def _is_json_object(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except (ValueError, RecursionError):
        return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX leaves it in the directory's dirty pages)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    with contextlib.suppress(OSError):
        os.fsync(fd)
    os.close(fd)


def not_a_run_file(path: str) -> str | None:
    """Why a file holds no probe record at all ("empty", "line 1: not JSON"), or None once a
    line of it is a record (read no further). An OSError if it cannot be read."""
    first: str | None = None
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except (ValueError, RecursionError):  # not JSON, or nested past any record
                value = None
                first = first or f"line {number}: not JSON"
            if isinstance(value, dict) and isinstance(value.get("variants"), dict):
                return None
            first = first or f"line {number}: not a probe record"
    return f"no line of it is a probe record; {first}" if first else "it is empty"


def read_records(
    paths: list[str], *, growing: bool = False
) -> tuple[list[dict[str, Any]], list[str]]:
    """Probe records from JSONL files, and one message per line that is not one (file:line): not
    JSON (however deeply nested), not a record, or a record with a field of the wrong type
    (`check_record`). Such a line is skipped by every report, never a traceback. `growing`: the
    files may still be being written, so a last line without its newline is not read yet."""
    found: list[dict[str, Any]] = []
    problems: list[str] = []
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip() or (growing and not line.endswith("\n")):
                    continue
                record, problem = parse_record(line)
                if problem is not None:
                    problems.append(f"{path}: line {number}: {problem}")
                    continue
                assert record is not None
                found.append(record)
    return found, problems


MAX_DEPTH = 64  # nesting of a record's JSON: probe writes about 8; past this, not a record


def parse_record(line: str | bytes) -> tuple[dict[str, Any] | None, str | None]:
    """(the record a line holds, None) or (None, why it is not one)."""
    try:
        record = json.loads(line)
    except RecursionError:
        return None, "not valid JSON (nested too deeply)"
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON ({exc.msg})"
    except ValueError:  # bytes that are not UTF-8
        return None, "not valid JSON (not UTF-8)"
    if not isinstance(record, dict) or not isinstance(record.get("variants"), dict):
        return None, "not a probe record"
    problem = check_record(record)
    return (None, problem) if problem else (record, None)


def _too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether `value` nests lists and objects deeper than `limit` (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Iterable[Any] = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def _kind_of(tp: Any) -> tuple[tuple[type, ...], Any]:
    """(the JSON types a schema annotation allows, the annotation of a list's elements or an
    object's values where that is checked as well)."""
    import types
    import typing

    origin = typing.get_origin(tp)
    if tp is Any:
        return (object,), None
    if origin in (typing.Union, types.UnionType):
        kinds: tuple[type, ...] = ()
        inner = None
        for arg in typing.get_args(tp):
            if arg is type(None):
                continue  # null is allowed everywhere: a field that does not apply
            more, inner = _kind_of(arg)
            kinds += more
        return kinds, inner
    if origin is list or tp is list:
        args = typing.get_args(tp)
        return (list,), args[0] if args else None
    if origin is dict or tp is dict:
        args = typing.get_args(tp)
        return (dict,), args[1] if len(args) == 2 else None
    if tp is float:
        return (int, float), None
    return (tp,), None


def _fits(value: Any, kinds: tuple[type, ...]) -> bool:
    if object in kinds:
        return True
    if isinstance(value, bool):
        return bool in kinds
    return isinstance(value, kinds)


class _Fields:
    """What each field of a record and of a variant's entry may hold, from probe.records.schema
    (plus the few nested fields the report reads), made once."""

    def __init__(self) -> None:
        import typing

        from probe.records.schema import Record, VariantResult

        self.record = {k: _kind_of(v) for k, v in typing.get_type_hints(Record).items()}
        self.variant = {k: _kind_of(v) for k, v in typing.get_type_hints(VariantResult).items()}
        self.record["variants"] = ((dict,), None)  # each entry checked as a variant below
        number, text, flag = ((int, float), None), ((str,), None), ((bool,), None)
        whole = ((int,), None)
        self.nested: dict[str, dict[str, tuple[tuple[type, ...], Any]]] = {
            "input": {"path": text, "sha256": text, "kind": text, "text": text},
            "error": {"type": text, "message": text},
            "points": {
                "kept": whole,
                "of": whole,
                "fraction": number,
                "answer": text,
                "p_yes": number,
                "condition": text,
                "raw": text,
                "cached": flag,
            },  # fmt: skip
            "alignment": {"similarity": number, "pairs": ((list,), dict), "skipped": text},
            "usage": {},
        }


_FIELDS: _Fields | None = None


def check_record(record: dict[str, Any]) -> str | None:
    """Why `record` cannot be reported on — a field holding the wrong type of value
    (``"p_yes": "high"``, ``"answer": 5``), or nesting deeper than MAX_DEPTH — or None. Null is
    allowed anywhere (a field that does not apply); fields the schema does not name are not
    checked."""
    global _FIELDS
    if _too_deep(record):
        return f"not a probe record (nested deeper than {MAX_DEPTH} levels)"
    if _FIELDS is None:
        _FIELDS = _Fields()
    fields = _FIELDS
    problem = _check(record, fields.record, "", fields)
    if problem:
        return problem
    for name, entry in record["variants"].items():
        runs = entry if isinstance(entry, list) else [entry]
        for i, run in enumerate(runs):
            where = f"variants.{name}" + (f"[{i}]" if isinstance(entry, list) else "")
            if not isinstance(run, dict):
                return f"{where} holds {_type_name(run)}, not an object"
            problem = _check(run, fields.variant, where + ".", fields)
            if problem:
                return problem
    return None


def _check(
    obj: dict[str, Any], spec: dict[str, tuple[tuple[type, ...], Any]], where: str, fields: _Fields
) -> str | None:
    for key, (kinds, inner) in spec.items():
        value = obj.get(key)
        if value is None:
            continue
        if not _fits(value, kinds):
            return f"field {where}{key} holds {_type_name(value)} ({_shown(value)}), the wrong type"
        elements = (
            value if isinstance(value, list) else value.values() if isinstance(value, dict) else ()
        )
        if inner is not None and inner is not Any:
            inner_kinds, _ = _kind_of(inner)
            for element in elements:
                if element is not None and not _fits(element, inner_kinds):
                    return f"field {where}{key} holds {_type_name(element)} where it needs {_type_name_of(inner_kinds)}"
        nested = fields.nested.get(key)
        if nested:
            for element in value if isinstance(value, list) else [value]:
                if isinstance(element, dict) and (
                    problem := _check(element, nested, f"{where}{key}.", fields)
                ):
                    return problem
    return None


def _type_name_of(kinds: tuple[type, ...]) -> str:
    names = {
        str: "strings",
        bool: "booleans",
        int: "numbers",
        float: "numbers",
        dict: "objects",
        list: "lists",
    }
    return " or ".join(dict.fromkeys(names.get(k, "values") for k in kinds))


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 40 else text[:37] + "..."
