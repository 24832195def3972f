"""Loading one input: a text file, an image file, or inline text.

Files are told apart by content, not by name: whatever Pillow recognises as a supported image is an
image, anything else must be UTF-8 text. Images are normalised (EXIF orientation applied, RGB on
white, long side capped) and re-encoded as a JPEG data URL, ready for a vision model.

Hostile files end as one-line errors, never as a hang or a memory blow-up: only regular files are
opened (a FIFO or a device never is), a file larger than `max_bytes` is refused before it is read,
and an image is shrunk as it is decoded, with one large decode at a time in the process.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import io
import os
import re
import stat
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING, BinaryIO

from probe.errors import InputError

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

IMAGE_MAX_SIDE_DEFAULT = 1568
JPEG_QUALITY = 90
# The largest file (or JSONL line) read as one input: --max-input-bytes.
MAX_INPUT_BYTES_DEFAULT = 20_000_000
# An image whose decoded pixels would take more than this waits for any other such decode to end,
# so --concurrency N large images cost one decode's memory, not N.
LARGE_DECODE_BYTES = 64 << 20
_large_decode = threading.BoundedSemaphore(1)
# Resampling quality: shrink by whole factors (fast, little memory) to no less than this many times
# the target, then finish with Lanczos (Pillow's own `reducing_gap`).
_REDUCING_GAP = 2.0
_BAND_PIXELS = 4_000_000  # converted to RGB at a time while shrinking
_EXIF_ORIENTATION = 0x0112

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
# Text files a directory walk picks up; Markdown is left out so READMEs are not probed (name one
# explicitly to probe it).
TEXT_EXTENSIONS = frozenset({".txt", ".text"})
# Pillow's names for the formats above (its JPEG reader also opens multi-picture "MPO" files).
_PILLOW_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
SUPPORTED = "probe reads JPEG, PNG, WebP, GIF, BMP and TIFF images and UTF-8 text files"

_BINARY_SIGNATURES = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x7fELF", "an executable"),
)
_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")


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
    image = _decode_image(data, given, max_side)
    if image is not None:
        return _image(data, image, id=input_id, path=given)
    if PurePath(given).suffix.lower() in IMAGE_EXTENSIONS:
        raise InputError(_not_an_image(given))
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
    image = _decode_image(data, id, max_side)
    if image is None:
        raise InputError(_not_an_image(id))
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


def _decode_image(data: bytes, label: str, max_side: int) -> tuple[str, tuple[int, int]] | None:
    """(JPEG data URL, size) after normalisation; None if the data is no supported image format."""
    if max_side < 1:
        raise ValueError(f"max_side must be at least 1, got {max_side}")
    from PIL import Image, UnidentifiedImageError

    fmt = "image"
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS) as im:
                fmt = im.format or "image"
                pixels = im.width * im.height
                if Image.MAX_IMAGE_PIXELS and pixels > Image.MAX_IMAGE_PIXELS:
                    # Pillow only warns below twice its limit, and a warnings filter is not
                    # thread-safe: another thread's decode may have put the default one back.
                    raise InputError(_bomb_message(label, pixels, Image.MAX_IMAGE_PIXELS))
                rgb = _normalise(im, max_side)
        except InputError:
            raise
        except UnidentifiedImageError:
            return None
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
            match = _BOMB_PIXELS.search(str(e))
            pixels = int(match.group(1)) if match else None
            raise InputError(_bomb_message(label, pixels, Image.MAX_IMAGE_PIXELS)) from None
        except Exception:
            # Pillow's decoders fail on bad data with many exception types (OSError, SyntaxError,
            # ValueError, EOFError, zlib.error, ...); to the user they all mean the same thing.
            raise InputError(
                f"{label}: cannot read image (truncated or corrupt {fmt} data); "
                "re-export or re-download it"
            ) from None
    buffer = io.BytesIO()
    rgb.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"data:image/jpeg;base64,{encoded}", rgb.size


def _normalise(im: PILImage, max_side: int) -> PILImage:
    """First frame, upright, RGB on white, long side at most max_side.

    A large image costs one decoded copy and no more: it is shrunk to near its final size before
    anything else is done to it, and only one such decode runs at a time in the process.
    """
    from PIL import Image

    if im.format in ("JPEG", "MPO"):
        # Let the JPEG decoder downscale by a power of two first: much faster for camera photos,
        # and the full-size pixels are never held.
        im.draft(None, _fit(im.size, max_side))
    large = im.width * im.height * 4 > LARGE_DECODE_BYTES  # most modes take 4 bytes a pixel
    with _large_decode if large else contextlib.nullcontext():
        im.load()
        orientation = _orientation(im)
        rgb = _shrunk_rgb(im, _reduce_factor(im.size, max_side))
        im.close()  # the full-size pixels go now, before another large decode may start
        rgb = _upright(rgb, orientation)
        target = _fit(rgb.size, max_side)
        if target != rgb.size:
            rgb = rgb.resize(target, Image.Resampling.LANCZOS)
    return rgb


def _reduce_factor(size: tuple[int, int], max_side: int) -> int:
    """The whole factor to shrink by first: leaves at least _REDUCING_GAP times the final size."""
    return max(1, int(max(size) / (max(_fit(size, max_side)) * _REDUCING_GAP)))


def _shrunk_rgb(im: PILImage, factor: int) -> PILImage:
    """The decoded image as RGB on white, reduced by `factor`, converted band by band so that no
    full-size converted copy is ever made."""
    from PIL import Image

    width, height = im.size
    rows = max(factor, _BAND_PIXELS // max(width, 1) // factor * factor)
    if rows >= height:
        return _reduced(_to_rgb(im), factor)
    out = Image.new("RGB", (-(-width // factor), -(-height // factor)))
    for top in range(0, height, rows):
        band = _to_rgb(im.crop((0, top, width, min(top + rows, height))))
        out.paste(_reduced(band, factor), (0, top // factor))
    return out


def _reduced(rgb: PILImage, factor: int) -> PILImage:
    return rgb.reduce(factor) if factor > 1 else rgb


def _orientation(im: PILImage) -> int | None:
    try:
        return im.getexif().get(_EXIF_ORIENTATION)
    except Exception:
        # A malformed EXIF block only loses the orientation; the pixels are still good.
        return None


def _upright(im: PILImage, orientation: int | None) -> PILImage:
    """The image turned as its EXIF orientation says (as ImageOps.exif_transpose does)."""
    from PIL import Image

    method = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }.get(orientation or 1)
    return im.transpose(method) if method is not None else im


def _to_rgb(im: PILImage) -> PILImage:
    from PIL import Image

    if im.mode in ("I", "I;16", "I;16L", "I;16B", "I;16N"):
        # 16-bit greyscale (PNG, TIFF): scale to 8 bits, or convert() would clip it to white.
        im = im.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    elif im.mode == "F":
        im = im.convert("L")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im.convert("RGB")


def _fit(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    w, h = size
    if max(w, h) <= max_side:
        return size
    scale = max_side / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def _bomb_message(label: str, pixels: int | None, limit: int | None) -> str:
    count = f"{pixels:,} pixels" if pixels is not None else "too many pixels"
    return (
        f"{label}: image too large to decode safely ({count}; the limit is {limit or 0:,}); "
        "scale it down before probing"
    )


def _not_an_image(label: str) -> str:
    return (
        f"{label}: cannot read image (not JPEG, PNG, WebP, GIF, BMP or TIFF data); "
        "re-export it in one of those formats"
    )


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
