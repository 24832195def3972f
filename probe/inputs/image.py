"""Decoding an image safely: one supported image's bytes to a normalised JPEG data URL.

Normalised: first frame, EXIF orientation applied, RGB on white, long side capped. A large image
is shrunk as it is decoded, with one large decode at a time in the process, and a decompression
bomb ends as a one-line InputError. Pillow is imported only when an image is decoded.
"""

from __future__ import annotations

import base64
import contextlib
import io
import re
import threading
import warnings
from typing import TYPE_CHECKING

from probe.errors import InputError

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

JPEG_QUALITY = 90
# An image whose decoded pixels would take more than this waits for any other such decode to end,
# so --concurrency N large images cost one decode's memory, not N.
LARGE_DECODE_BYTES = 64 << 20
_large_decode = threading.BoundedSemaphore(1)
# Resampling quality: shrink by whole factors (fast, little memory) to no less than this many times
# the target, then finish with Lanczos (Pillow's own `reducing_gap`).
_REDUCING_GAP = 2.0
_BAND_PIXELS = 4_000_000  # converted to RGB at a time while shrinking
_EXIF_ORIENTATION = 0x0112
# Pillow's names for the formats probe reads (its JPEG reader also opens multi-picture "MPO" files).
_PILLOW_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")


def decode_image(
    data: bytes, label: str, max_side: int, *, quality: int = JPEG_QUALITY
) -> tuple[str, tuple[int, int]] | None:
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
            found = int(match.group(1)) if match else None
            raise InputError(_bomb_message(label, found, Image.MAX_IMAGE_PIXELS)) from None
        except Exception:
            # Pillow's decoders fail on bad data with many exception types (OSError, SyntaxError,
            # ValueError, EOFError, zlib.error, ...); to the user they all mean the same thing.
            raise InputError(
                f"{label}: cannot read image (truncated or corrupt {fmt} data); "
                "re-export or re-download it"
            ) from None
    buffer = io.BytesIO()
    rgb.save(buffer, "JPEG", quality=quality, optimize=True)
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


def not_an_image(label: str) -> str:
    return (
        f"{label}: cannot read image (not JPEG, PNG, WebP, GIF, BMP or TIFF data); "
        "re-export it in one of those formats"
    )
