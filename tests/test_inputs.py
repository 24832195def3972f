"""Loading inputs: every image format, normalisation, text decoding, and one-line errors."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PIL import Image

from probe.errors import InputError
from probe.inputs.load import (
    IMAGE_MAX_SIDE_DEFAULT,
    image_bytes_input,
    is_candidate_file,
    load_input,
    text_input,
)
from probe.inputs.sources import collect

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
RED = (220, 30, 30)
BLUE = (30, 30, 220)
WHITE = (255, 255, 255)


def decode(data_url: str) -> Image.Image:
    prefix = "data:image/jpeg;base64,"
    assert data_url.startswith(prefix)
    image = Image.open(io.BytesIO(base64.b64decode(data_url[len(prefix) :])))
    assert image.format == "JPEG"
    image.load()
    return image


def assert_close(pixel: tuple[int, ...], expected: tuple[int, int, int], tolerance=12) -> None:
    assert all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True)), pixel


def write_image(path: Path, fmt: str, size=(30, 20), color=RED, mode="RGB", **save) -> Path:
    Image.new(mode, size, color).save(path, fmt, **save)
    return path


def error_for(path: Path | str, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        load_input(path, **kwargs)
    message = info.value.message
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message


# --- images ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "name"),
    [
        ("JPEG", "photo.jpg"),
        ("PNG", "photo.png"),
        ("WEBP", "photo.webp"),
        ("GIF", "photo.gif"),
        ("BMP", "photo.bmp"),
        ("TIFF", "photo.tiff"),
    ],
)
def test_each_image_format_becomes_a_jpeg_data_url(tmp_path, fmt, name):
    path = write_image(tmp_path / name, fmt)

    loaded = load_input(path)

    assert loaded.kind == "image"
    assert loaded.path == str(path)
    assert loaded.id == str(path)
    assert loaded.text is None
    assert loaded.image_size == (30, 20)
    image = decode(loaded.image_data_url)
    assert image.size == (30, 20)
    assert image.mode == "RGB"
    assert_close(image.getpixel((15, 10)), RED, tolerance=20)  # GIF quantises the colour


def test_images_are_recognised_by_content_not_extension(tmp_path):
    path = write_image(tmp_path / "really-a-png.txt", "PNG")

    assert load_input(path).kind == "image"


@pytest.mark.parametrize(
    ("name", "fmt", "scale", "max_side"),
    [
        ("rotated.jpg", "JPEG", 1, IMAGE_MAX_SIDE_DEFAULT),
        # large: shrunk band by band as it is decoded, turned upright after
        ("rotated.png", "PNG", 100, 500),
    ],
)
def test_exif_orientation_is_applied(tmp_path, name, fmt, scale, max_side):
    # Stored 40x20, left half red and right half blue; orientation 6 says "rotate 90° clockwise
    # to display", so the upright image is 20x40 with red on top.
    stored = Image.new("RGB", (40 * scale, 20 * scale), BLUE)
    stored.paste(RED, (0, 0, 20 * scale, 20 * scale))
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / name
    stored.save(path, fmt, exif=exif.tobytes(), quality=95)

    loaded = load_input(path, max_side=max_side)

    w, h = (20, 40) if scale == 1 else (250, 500)
    assert loaded.image_size == (w, h)
    image = decode(loaded.image_data_url)
    assert image.size == (w, h)
    assert_close(image.getpixel((w // 2, h // 8)), RED)
    assert_close(image.getpixel((w // 2, h - h // 8)), BLUE)


def test_transparency_is_composited_onto_white(tmp_path):
    rgba = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    rgba.paste((*RED, 255), (0, 0, 10, 20))
    path = tmp_path / "logo.png"
    rgba.save(path, "PNG")

    image = decode(load_input(path).image_data_url)

    assert image.mode == "RGB"
    assert_close(image.getpixel((5, 10)), RED)
    assert_close(image.getpixel((15, 10)), WHITE)


@pytest.mark.parametrize("side", [20, 3000])  # 3000: converted in bands, then shrunk
def test_palette_transparency_is_composited_onto_white(tmp_path, side):
    palette = Image.new("P", (side, side), 0)
    palette.putpalette([0, 0, 0, *RED] + [0] * (256 - 2) * 3)
    palette.paste(1, (0, 0, side // 2, side))
    path = tmp_path / "icon.gif"
    palette.save(path, "GIF", transparency=0)

    image = decode(load_input(path).image_data_url)

    w, h = image.size
    assert_close(image.getpixel((w // 4, h // 2)), RED)
    assert_close(image.getpixel((w * 3 // 4, h // 2)), WHITE)


def test_sixteen_bit_greyscale_keeps_its_tones(tmp_path):
    path = tmp_path / "scan.png"
    Image.new("I;16", (20, 20), 32768).save(path, "PNG")

    image = decode(load_input(path).image_data_url)

    assert_close(image.getpixel((10, 10)), (128, 128, 128), tolerance=3)


def test_long_side_is_capped_at_the_default(tmp_path):
    path = write_image(tmp_path / "wide.png", "PNG", size=(3000, 1000))

    loaded = load_input(path)

    assert loaded.image_size == (IMAGE_MAX_SIDE_DEFAULT, 523)
    assert decode(loaded.image_data_url).size == (IMAGE_MAX_SIDE_DEFAULT, 523)


def test_max_side_override_is_honoured(tmp_path):
    tall = write_image(tmp_path / "tall.png", "PNG", size=(1000, 3000))
    camera = write_image(tmp_path / "camera.jpg", "JPEG", size=(4000, 2000))

    assert load_input(tall, max_side=300).image_size == (100, 300)
    loaded = load_input(camera, max_side=500)
    assert loaded.image_size == (500, 250)
    assert_close(decode(loaded.image_data_url).getpixel((250, 125)), RED)


def test_small_images_are_not_enlarged(tmp_path):
    path = write_image(tmp_path / "small.png", "PNG", size=(30, 20))

    assert load_input(path, max_side=5000).image_size == (30, 20)


def test_gif_uses_the_first_frame(tmp_path):
    path = tmp_path / "anim.gif"
    first = Image.new("RGB", (20, 20), RED)
    first.save(path, "GIF", save_all=True, append_images=[Image.new("RGB", (20, 20), BLUE)])

    image = decode(load_input(path).image_data_url)

    assert_close(image.getpixel((10, 10)), RED)


def test_image_sha256_is_of_the_original_bytes(tmp_path):
    path = write_image(tmp_path / "photo.png", "PNG")

    loaded = load_input(path)

    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_id_defaults_to_the_path_as_given_and_can_be_set(tmp_path, monkeypatch):
    write_image(tmp_path / "photo.png", "PNG")
    monkeypatch.chdir(tmp_path)

    assert load_input("photo.png").id == "photo.png"
    assert load_input(Path("photo.png"), id="cat-1").id == "cat-1"


def test_image_bytes_input_normalises_like_a_file(tmp_path):
    data = write_image(tmp_path / "big.png", "PNG", size=(400, 200)).read_bytes()

    loaded = image_bytes_input(data, id="record-7", max_side=100)

    assert (loaded.id, loaded.path, loaded.kind) == ("record-7", None, "image")
    assert loaded.image_size == (100, 50)
    assert loaded.sha256 == hashlib.sha256(data).hexdigest()


def test_image_bytes_input_rejects_non_images():
    with pytest.raises(InputError, match=r"^record-7: cannot read image \(not JPEG"):
        image_bytes_input(b"hello", id="record-7")


# --- text -----------------------------------------------------------------------------------


def test_text_file_with_bom_and_trailing_whitespace(tmp_path):
    path = tmp_path / "scene.txt"
    raw = "\ufeff  A dog walks into a bar.\nThe bartender sighs.  \n\n\t\n".encode()
    path.write_bytes(raw)

    loaded = load_input(path)

    assert loaded.kind == "text"
    assert loaded.text == "  A dog walks into a bar.\nThe bartender sighs."
    assert loaded.sha256 == hashlib.sha256(raw).hexdigest()
    assert (loaded.image_data_url, loaded.image_size) == (None, None)


def test_text_input_is_inline_text():
    loaded = text_input("Ça va? 🐶 \n", id="rec-1")

    assert (loaded.id, loaded.path, loaded.kind) == ("rec-1", None, "text")
    assert loaded.text == "Ça va? 🐶"
    assert loaded.sha256 == hashlib.sha256("Ça va? 🐶 \n".encode()).hexdigest()


def test_text_input_rejects_empty_text():
    with pytest.raises(InputError, match=r"^rec-1: text is empty"):
        text_input(" \n ", id="rec-1")


def test_text_input_rejects_unpaired_surrogates():
    with pytest.raises(InputError, match=r"^rec-1: text is not valid Unicode"):
        text_input("oops \ud800", id="rec-1")


# --- bad inputs -----------------------------------------------------------------------------


def test_missing_file(tmp_path):
    assert "no such file" in error_for(tmp_path / "nope.jpg")


def test_directory_instead_of_file(tmp_path):
    assert "is a directory" in error_for(tmp_path)


def test_a_device_is_named_for_what_it_is():
    assert "a character device, not a regular file" in error_for("/dev/zero")


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    pipe = tmp_path / "pipe.txt"
    os.mkfifo(pipe)
    item = collect([str(pipe)]).items[0]
    outcome = {}

    def both():
        outcome["identity"] = item.identity()
        with pytest.raises(InputError) as info:
            item.load()
        outcome["error"] = info.value.message

    worker = threading.Thread(target=both, daemon=True)
    worker.start()
    worker.join(timeout=10)
    if worker.is_alive():  # stuck opening the FIFO: a writer comes and goes to free it
        os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("opening a FIFO waited for a writer")
    assert outcome["identity"] == f"id:{pipe}"
    assert outcome["error"] == (
        f"{pipe}: a FIFO (named pipe), not a regular file; pass an image or a text file"
    )


def test_a_symlink_loop_is_named(tmp_path):
    loop = tmp_path / "loop.txt"
    loop.symlink_to(loop)

    assert error_for(loop) == f"{loop}: symlink loop; point the link at a file"


def test_unreadable_file(tmp_path, monkeypatch):
    path = tmp_path / "secret.txt"
    path.write_text("hidden")

    def refuse(file, *args, **kwargs):
        raise PermissionError(13, "Permission denied", os.fspath(file))

    monkeypatch.setattr("builtins.open", refuse)
    assert "permission denied" in error_for(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")

    assert "file is empty" in error_for(path)


def test_empty_image_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")

    assert "file is empty" in error_for(path)


def test_whitespace_only_file(tmp_path):
    path = tmp_path / "blank.md"
    path.write_bytes(b"\xef\xbb\xbf \n\t\r\n  ")

    assert "only whitespace" in error_for(path)


def test_truncated_jpeg(tmp_path):
    path = tmp_path / "cut.jpg"
    full = io.BytesIO()
    Image.effect_noise((200, 200), 60).convert("RGB").save(full, "JPEG")
    path.write_bytes(full.getvalue()[: len(full.getvalue()) // 2])

    message = error_for(path)

    assert message.startswith(f"{path}: cannot read image (truncated or corrupt JPEG data)")


def test_truncated_png(tmp_path):
    path = tmp_path / "cut.png"
    full = io.BytesIO()
    Image.effect_noise((200, 200), 60).convert("RGB").save(full, "PNG")
    path.write_bytes(full.getvalue()[: len(full.getvalue()) // 2])

    assert "truncated or corrupt PNG data" in error_for(path)


def test_garbage_with_an_image_extension(tmp_path):
    path = tmp_path / "holiday.jpg"
    path.write_bytes(b"definitely not a picture\n" * 20)

    message = error_for(path)

    assert "cannot read image" in message
    assert "JPEG, PNG, WebP, GIF, BMP or TIFF" in message


def test_pdf_is_unsupported(tmp_path):
    path = tmp_path / "paper.pdf"
    path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")

    message = error_for(path)

    assert "unsupported file type (a PDF document)" in message
    assert "JPEG, PNG, WebP, GIF, BMP and TIFF images and UTF-8 text" in message


def test_random_bytes_are_unsupported(tmp_path):
    path = tmp_path / "blob.bin"
    path.write_bytes(bytes(range(256)) * 4)

    assert "unsupported file type (binary data)" in error_for(path)


def test_non_utf8_text_names_the_first_bad_byte(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("Café au lait".encode("latin-1"))

    message = error_for(path)

    assert "not UTF-8 text (byte 0xE9 at offset 3)" in message
    assert "convert it to UTF-8" in message


def test_utf16_text_is_named(tmp_path):
    path = tmp_path / "notepad.txt"
    path.write_bytes("A funny scene".encode("utf-16"))

    assert "text is UTF-16, not UTF-8" in error_for(path)


@pytest.mark.parametrize(("size", "pixels"), [((40, 40), "1,600"), ((50, 50), "2,500")])
def test_decompression_bombs_are_refused(tmp_path, monkeypatch, size, pixels):
    # Above MAX_IMAGE_PIXELS Pillow warns; above twice that it raises. Both must be refused.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    path = write_image(tmp_path / "bomb.png", "PNG", size=size)

    message = error_for(path)

    assert f"image too large to decode safely ({pixels} pixels; the limit is 1,000)" in message


# --- walking directories and start-up -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("cat.JPG", True),
        ("dir/cat.jpeg", True),
        ("scan.tif", True),
        ("anim.gif", True),
        ("scene.txt", True),
        ("notes.md", False),  # documentation (a README) is not walked into; name it to probe it
        ("paper.pdf", False),
        ("records.jsonl", False),
        ("Makefile", False),
        ("._cat.jpg", False),
        (".hidden.txt", False),
    ],
)
def test_is_candidate_file(name, expected):
    assert is_candidate_file(name) is expected
    assert is_candidate_file(Path(name)) is expected


def test_samples_all_load():
    names = sorted(p.name for p in SAMPLES.iterdir() if is_candidate_file(p))
    loaded = {name: load_input(SAMPLES / name) for name in names if name != "README.md"}

    assert {"dog-wedding.txt", "tax-form.txt", "chelsea.jpg", "coffee.jpg"} <= loaded.keys()
    assert loaded["chelsea.jpg"].image_size == (451, 300)
    assert "ring" in loaded["dog-wedding.txt"].text


def test_importing_inputs_does_not_import_pillow():
    code = "import sys, probe.inputs.load; sys.exit('PIL' in sys.modules)"

    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
