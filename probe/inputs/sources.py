"""Where inputs come from: file paths, directories (walked recursively) and JSONL on stdin.

Each source becomes an `Item` that loads lazily, so a thousand photos are not all decoded up
front. A source that cannot become an input (a malformed stdin line) is still an item: it carries
its error, so it ends as exactly one error record like any other failed input.

Nothing here trusts what it reads: a directory's FIFOs, devices and symlink loops are skipped
(never opened), a JSONL line is read no further than the size limit, and a JSONL file's records
may name files only inside its own directory unless `allow_outside` says otherwise.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import json
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from probe.errors import InputError
from probe.inputs.load import (
    IMAGE_MAX_SIDE_DEFAULT,
    MAX_INPUT_BYTES_DEFAULT,
    Input,
    file_sha256,
    image_bytes_input,
    is_candidate_file,
    load_input,
    special_file,
    text_input,
    too_large,
)

STDIN = "-"


@dataclass
class Item:
    id: str
    path: str | None = None  # a file to load
    text: str | None = None  # inline text (stdin)
    image: bytes | None = None  # inline image bytes (stdin data URL)
    question: str | None = None  # overrides the task's question (stdin)
    options: tuple[str, ...] = ()  # multiple choice: this input's own choices (stdin)
    gold: str | None = None  # the right answer, as given ("B", "(B)", "yes")
    suggest: str | None = None  # the answer a `suggested` variant should suggest (stdin)
    error: InputError | None = None  # known bad before loading (malformed stdin line)
    origin: str = ""  # where it was given ("data.jsonl line 3"), for messages; "": its id
    max_bytes: int = MAX_INPUT_BYTES_DEFAULT  # a larger file is refused unread

    def load(self, max_side: int = IMAGE_MAX_SIDE_DEFAULT) -> Input:
        if self.error:
            raise self.error
        if self.path is not None:
            return load_input(self.path, id=self.id, max_side=max_side, max_bytes=self.max_bytes)
        if self.image is not None:
            return image_bytes_input(self.image, id=self.id, max_side=max_side)
        return text_input(self.text or "", id=self.id)

    def identity(self) -> str:
        """What the input is, cheaply: the sha256 of its bytes (as the record's input.sha256),
        or, when it cannot be read, its id."""
        try:
            if self.error:
                raise self.error
            if self.path is not None:
                return file_sha256(self.path, self.max_bytes)
            if self.image is not None:
                return hashlib.sha256(self.image).hexdigest()
            return hashlib.sha256((self.text or "").encode("utf-8")).hexdigest()
        except (OSError, InputError):
            return f"id:{self.id}"


@dataclass
class Collected:
    items: list[Item] = field(default_factory=list)
    # Files in directories that are not inputs: hidden, not images or text, or not regular files.
    skipped: list[str] = field(default_factory=list)
    # One line for each skipped file that is not a regular file (a FIFO, a device, a symlink loop).
    notices: list[str] = field(default_factory=list)
    noticed: list[str] = field(default_factory=list)  # the skipped files `notices` name
    # One line for each id given to more than one input (their records would share it).
    duplicates: list[str] = field(default_factory=list)


def collect(
    args: Iterable[str],
    stdin_lines: Iterable[str] | None = None,
    *,
    allow_outside: bool = False,
    max_input_bytes: int = MAX_INPUT_BYTES_DEFAULT,
) -> Collected:
    """Items from command-line arguments, in order; directories sorted, recursively.

    A JSONL file's records may name files (`path`, `image`) only inside the file's directory
    unless `allow_outside`; records on stdin, like arguments, may name any file. A file, or a
    JSONL line, larger than `max_input_bytes` becomes an error, found before it is read whole.
    """
    out = Collected()
    for arg in args:
        if arg == STDIN:
            lines = _bounded_lines(stdin_lines or [], max_input_bytes)
            out.items.extend(_from_jsonl(lines, "stdin", max_input_bytes))
        elif arg.endswith(".jsonl") and os.path.isfile(arg):
            with open(arg, "rb") as fh:
                lines = _bounded_lines(fh, max_input_bytes)
                base = os.path.dirname(arg)
                confine = None if allow_outside else base
                out.items.extend(_from_jsonl(lines, arg, max_input_bytes, base, confine))
        elif os.path.isdir(arg):
            _walk(arg, out)
        else:
            out.items.append(Item(id=arg, path=arg))
    for item in out.items:
        item.max_bytes = max_input_bytes
    out.duplicates = _duplicate_ids(out.items)
    return out


def _duplicate_ids(items: list[Item]) -> list[str]:
    """Ids given to more than one input, each with where it was given: their records would
    share an id, and nothing else would tell a reader which is which."""
    where: dict[str, list[str]] = {}
    for item in items:
        where.setdefault(item.id, []).append(item.origin or item.id)
    return [
        f"id {item_id!r} is given to {len(places)} inputs ({', '.join(places[:4])}"
        + (f", and {len(places) - 4} more" if len(places) > 4 else "")
        + ")"
        for item_id, places in where.items()
        if len(places) > 1
    ]


def _walk(root: str, out: Collected) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if name.startswith("."):
                out.skipped.append(path)
                continue
            special = _special(path)
            if special:
                out.skipped.append(path)
                out.noticed.append(path)
                out.notices.append(f"{path}: {special}; skipped")
            elif is_candidate_file(path):
                out.items.append(Item(id=path, path=path))
            else:
                out.skipped.append(path)


def _special(path: str) -> str | None:
    """Why a directory walk must not open this file (a FIFO, a device, a symlink loop), or None.
    A file that has gone, or cannot be looked at, is left to its input's error record."""
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        return "a symlink loop" if e.errno == errno.ELOOP else None
    what = special_file(mode)
    return f"{what}, not a regular file" if what and not stat.S_ISDIR(mode) else None


def _bounded_lines(stream: IO[Any] | Iterable[str], max_bytes: int) -> Iterator[str | None]:
    """The lines of a stream, each read no further than max_bytes: None for a longer line, whose
    rest is skipped without being held. A plain iterable of strings is taken as it comes."""
    readline = getattr(stream, "readline", None)
    if readline is None:
        for line in stream:
            yield line if _fits(line, max_bytes) else None
        return
    while line := readline(max_bytes + 2):  # a line, its newline (\r\n), and no more
        if _fits(line, max_bytes):
            yield line if isinstance(line, str) else line.decode("utf-8", errors="replace")
            continue
        yield None
        newline = "\n" if isinstance(line, str) else b"\n"
        while line and not line.endswith(newline):
            line = readline(1 << 20)


def _fits(line: str | bytes, max_bytes: int) -> bool:
    """Whether a line, its newline left out, is at most max_bytes in UTF-8 (found without
    copying a line that is too long)."""
    if isinstance(line, bytes):
        newline = int(line.endswith(b"\n"))
        newline += line.endswith(b"\r", 0, len(line) - newline)
        return len(line) - newline <= max_bytes
    newline = int(line.endswith("\n"))
    newline += line.endswith("\r", 0, len(line) - newline)
    if len(line) - newline > max_bytes:
        return False
    return len(line.encode("utf-8", "surrogatepass")) - newline <= max_bytes


def _from_jsonl(
    lines: Iterable[str | None],
    source: str,
    max_bytes: int,
    base: str = "",
    confine: str | None = None,
) -> Iterable[Item]:
    """Items from JSONL records; a record's relative `path` is relative to the file holding it,
    and, when `confine` is a directory, must stay inside it."""
    for number, line in enumerate(lines, start=1):
        where = f"{source} line {number}"
        if line is None:
            yield Item(id=where, error=InputError(too_large(f"{where}", max_bytes)))
            continue
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Item(
                id=where,
                error=InputError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})"),
            )
            continue
        if not isinstance(obj, dict):
            yield Item(
                id=where,
                error=InputError(f"{where}: expected a JSON object, got {type(obj).__name__}"),
            )
            continue
        item = _item_from_object(obj, where, base, confine)
        item.origin = where
        yield item


def _item_from_object(
    obj: dict[str, Any], where: str, base: str, confine: str | None = None
) -> Item:
    raw_id = obj.get("id")
    item_id = str(raw_id) if raw_id is not None and str(raw_id).strip() else where
    question = obj.get("question")
    options = obj.get("options") or ()
    if not isinstance(options, list | tuple) or not all(isinstance(o, str) for o in options):
        return Item(
            id=item_id, error=InputError(f"{where} ({item_id}): options must be a list of strings")
        )
    common: dict[str, Any] = dict(
        id=item_id,
        question=question if isinstance(question, str) and question.strip() else None,
        options=tuple(options),
        gold=None if obj.get("gold") is None else str(obj["gold"]),
        suggest=None if obj.get("suggested") is None else str(obj["suggested"]),
    )
    given = [k for k in ("text", "image", "path") if obj.get(k) is not None]
    if len(given) != 1:
        what = " and ".join(given) if given else "none"
        if not given:  # name what the line has, so `jq '{text: .prompt}'` is easy to write
            what += f" (its fields: {', '.join(map(str, obj)) or 'none'})"
        return Item(
            **common,
            error=InputError(
                f"{where} ({item_id}): needs exactly one of text, image or path; got {what}"
            ),
        )
    key = given[0]
    value = obj[key]
    if not isinstance(value, str):
        return Item(**common, error=InputError(f"{where} ({item_id}): {key} must be a string"))
    if key == "text":
        return Item(**common, text=value)
    if key == "path" or not value.startswith("data:"):
        path = os.path.join(base, value) if base else value
        if confine is not None and _outside(path, confine):
            return Item(
                **common,
                error=InputError(
                    f"{where} ({item_id}): {key} {value} is outside {confine or '.'}, the JSONL "
                    "file's directory; pass --allow-outside to read it"
                ),
            )
        return Item(**common, path=path)
    try:
        header, payload = value.split(",", 1)
        if ";base64" not in header:
            raise ValueError("not base64")
        return Item(**common, image=base64.b64decode(payload, validate=True))
    except ValueError:  # binascii.Error is one
        return Item(
            **common,
            error=InputError(f"{where} ({item_id}): image is not a base64 data URL or a path"),
        )


def _outside(path: str, directory: str) -> bool:
    """Whether `path`, symlinks followed, leaves `directory` (`..`, an absolute path, a link)."""
    try:
        root = os.path.realpath(directory or ".")
        return os.path.commonpath([os.path.realpath(path), root]) != root
    except ValueError:  # an embedded NUL: not a file anywhere
        return True
