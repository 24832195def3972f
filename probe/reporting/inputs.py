"""The inputs a report page shows: found from the run file, never from anywhere a record names.

A record names its input by the path it was given on the command line (relative to wherever that
run was started) and the sha256 of its bytes. The page reads an input again only

- from under the run file's own folder, or under a folder the user names (`--input-root DIR`):
  a relative path is looked for under each of those, an absolute one must lie under one of them,
  with every symlink followed before the check (a `..` or a link out of the folder is outside);
- when its bytes still have the recorded sha256;
- up to probe's input size limit.

So a crafted run file that names `/etc/shadow` with its real sha256 embeds nothing: the file is
not under the run's folder. Every input that is not shown says why, on the page and on stderr.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from probe.errors import InputError

TEXT_SHOWN = 20_000  # characters of a text input shown; the rest is counted
THUMB_PX = 240


@dataclass(frozen=True)
class Roots:
    """Where the inputs of one run file may be read from: its folder, then the folders given."""

    run_dir: str  # the run file's folder, symlinks resolved
    extra: tuple[str, ...] = ()

    @classmethod
    def of(cls, run_path: str, extra: Sequence[str] = ()) -> Roots:
        folder = os.path.realpath(os.path.dirname(os.path.abspath(run_path)))
        return cls(folder, tuple(os.path.realpath(r) for r in extra))

    @property
    def all(self) -> tuple[str, ...]:
        return (self.run_dir, *self.extra)

    def holds(self, real: str) -> bool:
        return any(_under(real, root) for root in self.all)


def _under(path: str, root: str) -> bool:
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:
        return False


def locate(path: str, roots: Roots) -> tuple[str | None, str]:
    """(the input's real path, "") or (None, why it is not read)."""
    if "\x00" in path:
        return None, f"{path}: not a file name"
    candidates = [path] if os.path.isabs(path) else [os.path.join(root, path) for root in roots.all]
    outside = None
    for candidate in candidates:
        try:
            real = os.path.realpath(candidate)
            if not os.path.isfile(real):
                continue
        except (OSError, ValueError):
            continue
        if roots.holds(real):
            return real, ""
        outside = real
    where = " or ".join(roots.all)
    if outside is not None:
        return None, (
            f"{path}: outside the run's folder ({where}), so not read "
            "(--input-root DIR reads inputs under DIR too)"
        )
    return None, (
        f"{path}: not found under the run's folder ({where}); --input-root DIR looks under DIR too"
    )


def input_view(
    part: Any, roots: Roots, image_px: int, safe: Any
) -> tuple[dict[str, Any], str | None]:
    """What the page shows of a record's input — its text, its image or why neither — and the
    reason it is not shown, if it is not (None when shown, or when there was never a file)."""
    if not isinstance(part, dict):
        return {"kind": "missing", "note": "the record names no input"}, None
    if isinstance(part.get("text"), str):
        return text_view(part["text"], safe), None
    path = part.get("path")
    if not isinstance(path, str) or not path:
        return {
            "kind": "missing",
            "note": "the input was given inline and is not in the record",
        }, None
    found, why = locate(path, roots)
    if found is None:
        return {"kind": "missing", "note": safe(why)}, why
    from probe.inputs.load import MAX_INPUT_BYTES_DEFAULT, read_bytes

    try:
        data = read_bytes(found, MAX_INPUT_BYTES_DEFAULT)
    except InputError as exc:
        return {"kind": "missing", "note": safe(str(exc))}, str(exc)
    sha = part.get("sha256")
    if not isinstance(sha, str) or hashlib.sha256(data).hexdigest() != sha:
        note = (
            f"{path}: changed since the run (its sha256 differs), so it is not shown"
            if isinstance(sha, str)
            else f"{path}: its record holds no sha256 (the run could not read it), so it is not shown"
        )
        return {"kind": "missing", "note": safe(note)}, note
    if part.get("kind") == "image":
        return image_view(data, path, image_px, safe)
    return text_view(data.decode("utf-8-sig", errors="replace"), safe), None


def text_view(text: str, safe: Any) -> dict[str, Any]:
    more = max(0, len(text) - TEXT_SHOWN)
    return {"kind": "text", "text": safe(text[:TEXT_SHOWN]), "more": more}


def image_view(
    data: bytes, label: str, image_px: int, safe: Any
) -> tuple[dict[str, Any], str | None]:
    from probe.inputs.image import decode_image

    try:
        thumb = decode_image(data, label, THUMB_PX, quality=75)
        full = decode_image(data, label, image_px, quality=80) if image_px > 0 else None
    except InputError as exc:
        return {"kind": "missing", "note": safe(str(exc))}, str(exc)
    if thumb is None:
        note = f"{label}: not an image any more"
        return {"kind": "missing", "note": safe(note)}, note
    return {
        "kind": "image",
        "thumb": thumb[0],
        "thumb_size": list(thumb[1]),
        "full": full[0] if full else None,
        "full_size": list(full[1]) if full else None,
        "alt": safe(f"input image {os.path.basename(label)}"),
    }, None
