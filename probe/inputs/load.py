"""Loading one input: a text file, an image file, or inline text.

Files are told apart by content, not by name: whatever Pillow recognises as a supported image is an
image, anything else must be UTF-8 text. Images are normalised (EXIF orientation applied, RGB on
white, long side capped) and re-encoded as a JPEG data URL, ready for a vision model.

Hostile files end as one-line errors, never as a hang or a memory blow-up: only regular files are
opened (a FIFO or a device never is), a file larger than `max_bytes` is refused before it is read,
and an image is shrunk as it is decoded, with one large decode at a time in the process (decoding
and normalising an image is probe.inputs.image's job).
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import BinaryIO

from probe.errors import InputError
from probe.inputs.image import decode_image, not_an_image

IMAGE_MAX_SIDE_DEFAULT = 1568
# The largest file (or JSONL line) read as one input: --max-input-bytes.
MAX_INPUT_BYTES_DEFAULT = 20_000_000
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
# Text files a directory walk picks up; Markdown is left out so READMEs are not probed (name one
# explicitly to probe it).
TEXT_EXTENSIONS = frozenset({".txt", ".text"})
SUPPORTED = "probe reads JPEG, PNG, WebP, GIF, BMP and TIFF images and UTF-8 text files"

_BINARY_SIGNATURES = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x7fELF", "an executable"),
)


@dataclass(frozen=True)
class Input:
    id: str  # caller-given id, default: the path as given
    path: str | None  # None for inline text
    kind: str  # "text" | "image"
    sha256: str  # hex sha256 of the original bytes (for inline text: of the UTF-8 text)
    text: str | None  # text inputs
    image_data_url: str | None = field(repr=False)  # "data:image/jpeg;base64,..."
    image_size: tuple[int, int] | None  # (w, h) after normalisation


def load_input(
    path: str | os.PathLike[str],
    *,
    id: str | None = None,
    max_side: int = IMAGE_MAX_SIDE_DEFAULT,
    max_bytes: int = MAX_INPUT_BYTES_DEFAULT,
) -> Input:
    """Read one file as a text or image input; raise InputError naming the file if it cannot be."""
    given = os.fspath(path)
    data = _read_file(given, max_bytes)
    input_id = given if id is None else id
    if not data:
        raise InputError(f"{given}: file is empty; add some content or leave it out")
    if _plainly_text(data, given):
        _reject_binary(data, given)  # an all-ASCII PDF is still not text
        text = data.decode("utf-8-sig").rstrip()
        if not text:
            raise InputError(
                f"{given}: file contains only whitespace; add some text or leave it out"
            )
        return Input(input_id, given, "text", _sha256(data), text, None, None)
    image = decode_image(data, given, max_side)
    if image is not None:
        return _image(data, image, id=input_id, path=given)
    if PurePath(given).suffix.lower() in IMAGE_EXTENSIONS:
        raise InputError(not_an_image(given))
    _reject_binary(data, given)
    text = _decode_utf8(data, given)
    if not text:
        raise InputError(f"{given}: file contains only whitespace; add some text or leave it out")
    return Input(input_id, given, "text", _sha256(data), text, None, None)


_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8", b"GIF8", b"BM", b"RIFF", b"II*\x00", b"MM\x00*")


def _plainly_text(data: bytes, path: str) -> bool:
    """UTF-8 text that no image format could be: read without loading Pillow (a shell loop over
    text files pays for no image library)."""
    if PurePath(path).suffix.lower() in IMAGE_EXTENSIONS or data.startswith(_IMAGE_MAGIC):
        return False
    if b"\x00" in data[:8192]:
        return False
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return True


def text_input(text: str, *, id: str) -> Input:
    """Inline text, e.g. from a JSONL record; `id` names it in error messages."""
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InputError(
            f"{id}: text is not valid Unicode (unpaired surrogate at character {e.start}); "
            "fix the text's encoding"
        ) from None
    stripped = text.rstrip()
    if not stripped:
        raise InputError(f"{id}: text is empty; add some text or leave it out")
    return Input(id, None, "text", _sha256(encoded), stripped, None, None)


def image_bytes_input(data: bytes, *, id: str, max_side: int = IMAGE_MAX_SIDE_DEFAULT) -> Input:
    """Image bytes from anywhere but a file (e.g. a record); normalised as load_input does."""
    if not data:
        raise InputError(f"{id}: image data is empty")
    image = decode_image(data, id, max_side)
    if image is None:
        raise InputError(not_an_image(id))
    return _image(data, image, id=id, path=None)


def is_candidate_file(path: str | os.PathLike[str]) -> bool:
    """Whether a directory walk should treat this file as an input: judged by name only.

    Hidden files are skipped: macOS leaves `._photo.jpg` metadata files next to real photos.
    """
    name = PurePath(path).name
    suffix = PurePath(name).suffix.lower()
    return not name.startswith(".") and suffix in IMAGE_EXTENSIONS | TEXT_EXTENSIONS


def file_sha256(path: str, max_bytes: int = MAX_INPUT_BYTES_DEFAULT) -> str:
    """The hex sha256 of a regular file's bytes, read in blocks; InputError as load_input raises
    it for anything it would refuse to read (a FIFO, a device, a file over max_bytes)."""
    digest = hashlib.sha256()
    with _opened(path) as f:
        _check_size(path, os.fstat(f.fileno()).st_size, max_bytes)
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def too_large(label: str, max_bytes: int, size: int | None = None) -> str:
    """The message for an input over --max-input-bytes (size None: known only to be over it)."""
    what = f"{size:,} bytes" if size is not None else f"more than {max_bytes:,} bytes"
    return (
        f"{label}: too large ({what}; the limit is {max_bytes:,} bytes); "
        "raise --max-input-bytes to read it"
    )


def special_file(mode: int) -> str | None:
    """What a file that is not a regular file is ("a FIFO"), or None for a regular file."""
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    if stat.S_ISREG(mode):
        return None
    return next((what for test, what in kinds if test(mode)), "not a regular file")


def read_bytes(path: str, max_bytes: int = MAX_INPUT_BYTES_DEFAULT) -> bytes:
    """A regular file's bytes, refused as load_input refuses it (special files, too large):
    InputError naming the file."""
    return _read_file(path, max_bytes)


def _read_file(given: str, max_bytes: int) -> bytes:
    with _opened(given) as f:
        _check_size(given, os.fstat(f.fileno()).st_size, max_bytes)
        data = f.read(max_bytes + 1)  # a file that grew since, or one whose size is not told
    if len(data) > max_bytes:
        raise InputError(too_large(given, max_bytes))
    return data


def _check_size(given: str, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise InputError(too_large(given, max_bytes, size))


def _opened(given: str) -> BinaryIO:
    """The file open for reading, refused unless it is a regular file. It is looked at before it
    is opened (opening a device can do things) and opened without blocking (opening a FIFO waits
    for a writer forever), then looked at again through the open file, which nothing can swap."""
    try:
        _refuse_special(given, os.stat(given).st_mode)
        f = open(given, "rb", opener=_open_nonblocking)  # noqa: SIM115 - the caller closes it
        try:
            _refuse_special(given, os.fstat(f.fileno()).st_mode)
        except BaseException:
            f.close()
            raise
        return f
    except (FileNotFoundError, NotADirectoryError):
        raise InputError(f"{given}: no such file; check the path") from None
    except PermissionError:
        raise InputError(f"{given}: permission denied; make the file readable") from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise InputError(f"{given}: symlink loop; point the link at a file") from None
        raise InputError(f"{given}: cannot read file ({e.strerror or e})") from None
    except ValueError:  # e.g. an embedded NUL in the path
        raise InputError(f"{given}: not a valid file path") from None


def _open_nonblocking(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))


def _refuse_special(given: str, mode: int) -> None:
    what = special_file(mode)
    if what == "a directory":
        raise InputError(f"{given}: is a directory, not a file; pass the files inside it")
    if what is not None:
        raise InputError(f"{given}: {what}, not a regular file; pass an image or a text file")


def _image(data: bytes, image: tuple[str, tuple[int, int]], *, id: str, path: str | None) -> Input:
    data_url, size = image
    return Input(id, path, "image", _sha256(data), None, data_url, size)


def _reject_binary(data: bytes, label: str) -> None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(
            f"{label}: text is UTF-16, not UTF-8; convert it to UTF-8 "
            f"(e.g. iconv -f UTF-16 -t UTF-8 {label})"
        )
    described = next((what for sig, what in _BINARY_SIGNATURES if data.startswith(sig)), None)
    if described is None and b"\x00" not in data[:8192]:
        return
    raise InputError(f"{label}: unsupported file type ({described or 'binary data'}); {SUPPORTED}")


def _decode_utf8(data: bytes, label: str) -> str:
    """The text with any BOM and trailing whitespace removed."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(
            f"{label}: not UTF-8 text (byte 0x{data[e.start]:02X} at offset {e.start}); "
            f"convert it to UTF-8 (e.g. iconv -f LATIN1 -t UTF-8 {label})"
        ) from None
    return text.removeprefix("\ufeff").rstrip()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
