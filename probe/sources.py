"""Where inputs come from: file paths, directories (walked recursively) and JSONL on stdin.

Each source becomes an `Item` that loads lazily, so a thousand photos are not all decoded up
front. A source that cannot become an input (a malformed stdin line) is still an item: it carries
its error, so it ends as exactly one error record like any other failed input.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from probe.errors import InputError
from probe.inputs import (
    IMAGE_MAX_SIDE_DEFAULT,
    Input,
    image_bytes_input,
    is_candidate_file,
    load_input,
    text_input,
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

    def load(self, max_side: int = IMAGE_MAX_SIDE_DEFAULT) -> Input:
        if self.error:
            raise self.error
        if self.path is not None:
            return load_input(self.path, id=self.id, max_side=max_side)
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
                digest = hashlib.sha256()
                with open(self.path, "rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        digest.update(block)
                return digest.hexdigest()
            if self.image is not None:
                return hashlib.sha256(self.image).hexdigest()
            return hashlib.sha256((self.text or "").encode("utf-8")).hexdigest()
        except (OSError, InputError):
            return f"id:{self.id}"


@dataclass
class Collected:
    items: list[Item] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # files in directories that are not inputs


def collect(args: Iterable[str], stdin_lines: Iterable[str] | None = None) -> Collected:
    """Items from command-line arguments, in order; directories sorted, recursively."""
    out = Collected()
    for arg in args:
        if arg == STDIN:
            out.items.extend(_from_jsonl(stdin_lines or [], "stdin"))
        elif arg.endswith(".jsonl") and os.path.isfile(arg):
            with open(arg, encoding="utf-8", errors="replace") as fh:
                out.items.extend(_from_jsonl(fh.readlines(), arg, base=os.path.dirname(arg)))
        elif os.path.isdir(arg):
            _walk(arg, out)
        else:
            out.items.append(Item(id=arg, path=arg))
    return out


def _walk(root: str, out: Collected) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if name.startswith("."):
                continue
            if is_candidate_file(path):
                out.items.append(Item(id=path, path=path))
            else:
                out.skipped.append(path)


def _from_jsonl(lines: Iterable[str], source: str, base: str = "") -> Iterable[Item]:
    """Items from JSONL records; a record's relative `path` is relative to the file holding it."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{source} line {number}"
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
        yield _item_from_object(obj, where, base)


def _item_from_object(obj: dict[str, Any], where: str, base: str) -> Item:
    raw_id = obj.get("id")
    item_id = str(raw_id) if raw_id is not None and str(raw_id).strip() else where
    question = obj.get("question")
    options = obj.get("options") or ()
    if not isinstance(options, list | tuple) or not all(isinstance(o, str) for o in options):
        return Item(
            id=item_id, error=InputError(f"{where} ({item_id}): options must be a list of strings")
        )
    common = dict(
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
        return Item(**common, path=os.path.join(base, value) if base else value)
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
