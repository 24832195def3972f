"""Loading one input: a text file, an image file, or inline text.

Files are told apart by content, not by name: whatever Pillow recognises as a supported image is an
image, anything else must be UTF-8 text. Images are normalised (EXIF orientation applied, RGB on
white, long side capped) and re-encoded as a JPEG data URL, ready for a vision model.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING

from probe.errors import InputError

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

IMAGE_MAX_SIDE_DEFAULT = 1568
JPEG_QUALITY = 90

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
    path: str | os.PathLike[str], *, id: str | None = None, max_side: int = IMAGE_MAX_SIDE_DEFAULT
) -> Input:
    """Read one file as a text or image input; raise InputError naming the file if it cannot be."""
    given = os.fspath(path)
    data = _read_file(given)
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


def _read_file(given: str) -> bytes:
    try:
        mode = os.stat(given).st_mode
        if stat.S_ISDIR(mode):
            raise InputError(f"{given}: is a directory, not a file; pass the files inside it")
        if not stat.S_ISREG(mode):
            raise InputError(f"{given}: not a regular file; pass an image or a text file")
        with open(given, "rb") as f:
            return f.read()
    except (FileNotFoundError, NotADirectoryError):
        raise InputError(f"{given}: no such file; check the path") from None
    except PermissionError:
        raise InputError(f"{given}: permission denied; make the file readable") from None
    except OSError as e:
        raise InputError(f"{given}: cannot read file ({e.strerror or e})") from None
    except ValueError:  # e.g. an embedded NUL in the path
        raise InputError(f"{given}: not a valid file path") from None


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
                rgb = _normalise(im, max_side)
        except UnidentifiedImageError:
            return None
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
            raise InputError(_bomb_message(label, str(e), Image.MAX_IMAGE_PIXELS)) from None
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
    """First frame, upright, RGB on white, long side at most max_side."""
    from PIL import Image, ImageOps

    if im.format in ("JPEG", "MPO"):
        # Let the JPEG decoder downscale by a power of two first: much faster for camera photos.
        im.draft(None, _fit(im.size, max_side))
    im.load()
    try:
        upright = ImageOps.exif_transpose(im)
    except Exception:
        # A malformed EXIF block only loses the orientation; the pixels are still good.
        upright = im
    rgb = _to_rgb(upright)
    target = _fit(rgb.size, max_side)
    if target != rgb.size:
        rgb = rgb.resize(target, Image.Resampling.LANCZOS)
    return rgb


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


def _bomb_message(label: str, pillow_message: str, limit: int | None) -> str:
    match = _BOMB_PIXELS.search(pillow_message)
    pixels = f"{int(match.group(1)):,} pixels" if match else "too many pixels"
    return (
        f"{label}: image too large to decode safely ({pixels}; the limit is {limit or 0:,}); "
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
