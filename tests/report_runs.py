"""Run files for the HTML report tests, made by real probe runs (the CLI, in-process) against a
scripted vision model on 127.0.0.1.

The scripted model stands for a vision model whose replies carry hostile text: an explanation
that quotes `<script>`, `</textarea>`, a `javascript:` link, an HTML comment and an `<img onerror>`
(as a model quoting a web page might). It rationalises: it defends whatever answer it is forced
into. For inputs whose text says "stubborn" it takes the forced answer back instead.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from tests.helpers import run_cli
from tests.scripted_server import Reply, ScriptedServer, last_user_text, prefill_of

HOSTILE = (
    '<script>window.__pwned = 1</script> </textarea><a href="javascript:window.__pwned=2">see</a>'
    ' <!-- hidden --> <img src=x onerror="window.__pwned=3">'
)


def hostile_model(payload: dict, n: int) -> Reply:
    prefill = prefill_of(payload)
    asked = last_user_text(payload)
    stubborn = "stubborn" in asked
    if prefill:
        if stubborn:
            return Reply(
                prefill + " — no, I take that back: the answer is Yes, it is clearly funny."
            )
        return Reply(prefill + f" because the scene is ordinary. {HOSTILE} Nothing stands out.")
    if "last line" in asked:
        return Reply(f"The cat sits in a box, which is playful. {HOSTILE}\nAnswer: Yes")
    return Reply(
        f"Yes. The cat sits in a box, which is playful. {HOSTILE}",
        top_logprobs={"Yes": -0.2, "No": -1.7},
    )


def make_inputs(folder: Path, images: int = 2) -> Path:
    """A folder of `images` small PNG images, two text inputs (one with markup in it, one the
    model is stubborn about) and a corrupt image (an input error)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(images):
        im = Image.new("RGB", (320 + 16 * i, 200), (40 + 50 * i % 200, 120, 200))
        for x in range(0, 320, 40):
            for y in range(0, 200, 40):
                im.putpixel((x + 1, y + 1), (255, 255, 255))
        buf = io.BytesIO()
        im.save(buf, "PNG")
        (folder / f"photo-{i:03d}.png").write_bytes(buf.getvalue())
    (folder / "note.txt").write_text(
        "A sign reads <script>window.__pwned = 4</script> and a dog wears a bow tie.\n"
    )
    (folder / "stubborn.txt").write_text("A stubborn goat stands on a car roof.\n")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return folder


def probe_run(server: ScriptedServer, inputs: Path, out: Path, model: str = "openai/scripted"):
    result = run_cli(
        "funny",
        inputs,
        "--model",
        model,
        "--api-base",
        server.base_url,
        "--api-key",
        "sk-test-not-a-real-key",
        "--vision",
        "--force",
        "opposite",
        "--no-cache",
        "-o",
        out,
    )
    assert out.exists(), result.stderr
    return result


def ids_with(records: list[dict], **where) -> set[str]:
    return {r["id"] for r in records if all(r.get(k) == v for k, v in where.items())}


def strip_tags(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)
