"""The HTML report: its size and build time for 200 image inputs, and the README's screenshots.

1. Size: 200 photo-like JPEGs (1600x1200, smooth shading, shapes and sensor-like noise; 150-300 kB
   each, as phone photos downscaled for the web are) are probed with `probe funny DIR --vision
   --force opposite` against bench_server.py (an OpenAI-compatible server on 127.0.0.1 answering at
   once); then `probe report RUN --html OUT` is timed in a fresh process, with the default
   `--image-size 800` (the default) and with `--image-size 0` (thumbnails only): wall time, peak RSS, file size.
2. Screenshots (with --screenshots DIR): the samples (two photos, six texts) probed against a scripted
   vision model on 127.0.0.1 that rationalises (defends whatever answer it is forced into, in words
   that change with the input), reported, opened in headless Chromium (Debian's /usr/bin/chromium,
   through Playwright): the overview at 1280x900 and one image input opened.

    uv run python benchmarks/html_report.py [--inputs 200] [--screenshots docs/img] [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import PYTHON, ROOT, child_env, emit, machine
from bench_server import BenchServer, completion_body

PROBE = [PYTHON, "-m", "probe"]
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def photo(seed: int, size: tuple[int, int] = (1600, 1200)) -> bytes:
    """A JPEG that compresses like a photo: shading, a few shapes, and per-pixel noise."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(seed)
    w, h = size
    base = Image.linear_gradient("L").resize((w, h))
    im = Image.merge(
        "RGB",
        [base.point(lambda v, k=k: int(v * rng.uniform(0.3, 1.0) + 40 * k)) for k in range(3)],
    )
    draw = ImageDraw.Draw(im)
    for _ in range(12):
        x, y = rng.randrange(w), rng.randrange(h)
        r = rng.randrange(40, 300)
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    im = im.filter(ImageFilter.GaussianBlur(3))
    noise = Image.effect_noise((w, h), 18).convert("RGB")
    im = Image.blend(im, noise, 0.12)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=82)
    return buf.getvalue()


def peak_rss_mb(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one fresh process; RUSAGE_CHILDREN's maxrss is the largest
    child so far, so each measurement runs in its own helper process."""
    code = (
        "import resource, subprocess, sys, time, json;"
        "t = time.perf_counter(); subprocess.run(sys.argv[1:], check=True, capture_output=True);"
        "print(json.dumps([time.perf_counter() - t,"
        " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024]))"
    )
    out = subprocess.run(
        [PYTHON, "-c", code, *cmd], check=True, capture_output=True, text=True, env=child_env()
    )
    wall, rss = json.loads(out.stdout)
    return wall, rss


def size_run(n: int, work: Path) -> dict[str, Any]:
    inputs = work / "photos"
    inputs.mkdir()
    total = 0
    for i in range(n):
        data = photo(i)
        total += len(data)
        (inputs / f"photo-{i:04d}.jpg").write_bytes(data)
    run = work / "run.jsonl"
    with BenchServer(delay_s=0.0) as server:
        subprocess.run(
            [*PROBE, "funny", str(inputs), "--model", "openai/bench", "--api-base", server.base_url,
             "--api-key", "x", "--vision", "--force", "opposite", "--no-cache", "--concurrency",
             "16", "-o", str(run)],
            check=True, capture_output=True, env=child_env(),
        )  # fmt: skip
    out: dict[str, Any] = {"inputs": n, "input_mb": round(total / 1e6, 1)}
    for px in (800, 0):
        page = work / f"report-{px}.html"
        wall, rss = peak_rss_mb(
            [*PROBE, "report", str(run), "--html", str(page), "--image-size", str(px)]
        )
        out[f"image_size_{px}"] = {
            "seconds": round(wall, 2),
            "peak_rss_mb": round(rss),
            "mb": round(page.stat().st_size / 1e6, 1),
        }
    return out


# --- screenshots ----------------------------------------------------------------------------------

SUBJECTS = {
    "chelsea": "a tabby cat looking straight into the camera",
    "coffee": "a cup of coffee on a saucer",
    "cat-in-cake-box": "a cat curled up inside a cake box",
    "dog-wedding": "a dog in a bow tie carrying the rings down the aisle",
    "kitchen-inventory": "a list of kitchen supplies",
    "morning-commute": "a crowded morning train",
    "self-checkout": "a self-checkout machine arguing with a shopper",
    "tax-form": "a tax form",
}


def _subject(payload: dict[str, Any]) -> str:
    text = json.dumps(payload["messages"])
    for key, subject in SUBJECTS.items():
        words = key.split("-")
        if all(w in text.lower() for w in words):
            return subject
    if "image_url" in text:  # the file's name is not in the request
        return "the animal in the picture"
    return "the scene"


def rationaliser(payload: dict[str, Any]) -> str:
    """A model that decides, then defends whatever it is made to say."""
    subject = _subject(payload)
    last = payload["messages"][-1]
    if last["role"] == "assistant":
        if last["content"].strip().lower().startswith("no"):
            return (
                f"{last['content']}. {subject.capitalize()} is an ordinary sight: nothing in it is "
                "out of place, and there is no joke or surprise to it."
            )
        return (
            f"{last['content']}. {subject.capitalize()} is funny because it is so unexpected: the "
            "contrast between the setting and what happens in it is playful."
        )
    user = json.dumps(payload["messages"])
    if "last line" in user:
        return f"The picture shows {subject}. It is a little unusual and has a playful side.\nAnswer: Yes"
    return f"Yes. {subject.capitalize()} is unexpected, and the contrast is playful."


class ScriptedVision:
    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = completion_body(rationaliser(json.loads(self.rfile.read(length))))
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        host, port = self.httpd.server_address[:2]
        self.base_url = f"http://{host}:{port}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def screenshots(folder: Path, work: Path) -> list[str]:
    from playwright.sync_api import sync_playwright

    run = work / "samples.jsonl"
    server = ScriptedVision()
    try:
        subprocess.run(
            [*PROBE, "funny", "samples", "--model", "openai/scripted-vision", "--api-base",
             server.base_url, "--api-key", "x", "--vision", "--force", "opposite", "--no-cache",
             "-o", str(run)],
            check=True, capture_output=True, env=child_env(), cwd=ROOT,
        )  # fmt: skip
    finally:
        server.close()
    page_file = work / "samples.html"
    subprocess.run(
        [*PROBE, "report", str(run), "--html", str(page_file)],
        check=True, capture_output=True, env=child_env(), cwd=ROOT,
    )  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1500})
        page.goto(page_file.resolve().as_uri())
        shot = folder / "report-overview.png"
        page.screenshot(path=str(shot))
        written.append(str(shot))
        body = page.locator("tbody.input", has=page.locator("td.id", has_text="chelsea.jpg")).first
        body.locator("tr.row").click()
        body.scroll_into_view_if_needed()
        shot = folder / "report-input.png"
        body.screenshot(path=str(shot))
        written.append(str(shot))
        browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=200)
    parser.add_argument("--screenshots", type=Path, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="probe-html-bench-") as tmp:
        work = Path(tmp)
        data: dict[str, Any] = {"machine": machine(), "size": size_run(args.inputs, work)}
        if args.screenshots:
            data["screenshots"] = screenshots(args.screenshots, work)
    s = data["size"]
    rows = [
        ("image inputs", f"{s['inputs']} JPEGs, {s['input_mb']} MB on disk"),
        *[
            (
                f"--image-size {px}",
                f"{s[f'image_size_{px}']['mb']} MB page, built in "
                f"{s[f'image_size_{px}']['seconds']} s, peak RSS {s[f'image_size_{px}']['peak_rss_mb']} MB",
            )
            for px in (800, 0)
        ],
        ("load average (1 min)", f"{os.getloadavg()[0]:.2f}"),
    ]
    if args.screenshots:
        rows.append(("screenshots", ", ".join(data["screenshots"])))
    emit("HTML report", rows, data, args.json)


if __name__ == "__main__":
    main()
