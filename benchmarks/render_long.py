"""The terminal view of long replies: seconds to render, and seconds per thousand words.

    uv run python benchmarks/render_long.py [--words 1000,10000,20000,20001,100000,1000000]
                                            [--mb 0.99] [--json]

In-process: `probe.pipeline.view.render_record` of one record to a 150-column colour console writing to
memory, for decide-first and forced explanations of each size in two shapes:
  prose   words drawn with English's frequencies (Zipf), the forced explanation with one word in
          ten replaced
  loop    a reply that repeats itself ("The dog runs." / "The cat sits here." over and over), the
          shape that makes difflib's word diff cubic
Each row says whether the panels were word-diffed or shown plainly (past `PLAIN_VIEW_WORDS` words
in either explanation, or `DIFF_BUDGET` word comparisons). Near-linear: seconds per thousand words
stay flat as the size grows.

End to end: `probe ask` against a scripted server whose replies are a --mb MB loop, once on a
pseudo-terminal (the panels; --no-align, --no-cache) and once with --jsonl to a pipe. The default
stays under probe's cap on a reply (1,000,000 characters); past it each variant is an error.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import PYTHON, ROOT, child_env, emit

sys.path.insert(0, str(ROOT))


def texts(shape: str, words: int) -> tuple[str, str]:
    if shape == "loop":
        own = ("The dog runs. " * (words // 3 + 1)).split(" ")[:words]
        forced = ("The cat sits here. " * (words // 4 + 1)).split(" ")[:words]
        return " ".join(own), " ".join(forced)
    # Words drawn as English uses them (Zipf: the commonest, like "the", 1 word in 13), a full
    # stop every 15; the forced explanation is the same with one word in ten replaced.
    rnd = random.Random(0)
    vocabulary = [f"w{rank}" for rank in range(1, 5001)]
    weights = [1 / rank for rank in range(1, 5001)]
    own = rnd.choices(vocabulary, weights, k=words)
    forced = [w if rnd.random() > 0.1 else rnd.choices(vocabulary, weights)[0] for w in own]

    def prose(ws: list[str]) -> str:
        return " ".join(w + ("." if i % 15 == 14 else "") for i, w in enumerate(ws))

    return prose(own), prose(forced)


def record(own: str, forced: str) -> dict:
    from probe.records import record as records

    def variant(text: str) -> dict:
        return records.variant_result(answer="yes", explanation=text, raw=text)

    return {
        "id": "long.txt",
        "question": "Does this scene show anything funny?",
        "model": "openai/bench",
        "task": "funny",
        "options": ["yes", "no"],
        "variants": {
            "decide-first": variant(own),
            "forced": {
                **variant(forced),
                "forced_answer": "no",
                "mechanism": "prefill",
                "honored": True,
                "stance": "forced",
            },
        },
        "verdict": "rationalizes",
        "order_agreement": None,
    }


def render_seconds(rec: dict) -> tuple[float, int, bool]:
    """Seconds to render, characters written, and whether the word diff was shown."""
    from rich.console import Console

    from probe.pipeline.view import PLAIN_VIEW_SUBTITLE, render_record

    buf = io.StringIO()
    console = Console(file=buf, width=150, force_terminal=True, color_system="256")
    start = time.perf_counter()
    render_record(rec, console)
    seconds = time.perf_counter() - start
    return seconds, len(buf.getvalue()), PLAIN_VIEW_SUBTITLE not in buf.getvalue()


def on_a_terminal(cmd: list[str], env: dict[str, str], cwd: str) -> tuple[float, int, int]:
    """Seconds, bytes written and exit code of `cmd` with stdout and stderr on a pseudo-terminal."""
    import pty

    master, slave = pty.openpty()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd)
    os.close(slave)
    written = 0
    while True:
        ready, _, _ = select.select([master], [], [], 1.0)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        try:
            chunk = os.read(master, 1 << 20)
        except OSError:  # the other end is closed
            break
        if not chunk:
            break
        written += len(chunk)
    code = proc.wait()
    os.close(master)
    return time.perf_counter() - start, written, code


def end_to_end(mb: float) -> dict[str, float | int]:
    from tests.scripted_server import Reply, ScriptedServer, prefill_of

    loop = "The scene shows a dog at a wedding. " * int(mb * 1e6 / 36)

    def reply(payload: dict, n: int) -> Reply:
        prefill = prefill_of(payload)
        if prefill:
            return Reply(f"{prefill} {loop}")
        if "last line" in str(payload["messages"][-1]["content"]):
            return Reply(f"{loop}\nAnswer: Yes")
        return Reply(f"Yes. {loop}")

    with tempfile.TemporaryDirectory() as tmp, ScriptedServer(reply) as server:
        scene = Path(tmp) / "scene.txt"
        scene.write_text("A dog in a tuxedo carries the rings down the aisle.")
        env = child_env(PROBE_CACHE_DIR=str(Path(tmp) / "cache"), TERM="xterm-256color")
        env.pop("NO_COLOR", None)
        base = [PYTHON, "-m", "probe", "ask", "Is this funny?", str(scene), "--force", "no"]
        base += ["--model", "openai/bench", "--api-base", server.base_url, "--no-cache"]
        panels_s, written, code = on_a_terminal([*base, "--no-align"], env, tmp)
        start = time.perf_counter()
        jsonl = subprocess.run([*base, "--jsonl"], env=env, cwd=tmp, capture_output=True)
        jsonl_s = time.perf_counter() - start
    return {
        "reply_mb": round(len(loop) / 1e6, 2),
        "terminal_s": round(panels_s, 2),
        "terminal_bytes": written,
        "terminal_exit": code,
        "jsonl_s": round(jsonl_s, 2),
        "jsonl_exit": jsonl.returncode,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", default="1000,10000,20000,20001,100000,1000000")
    parser.add_argument("--mb", type=float, default=0.99, help="end-to-end reply size; 0: skip")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    sizes = [int(w) for w in args.words.split(",")]
    rows, data = [], {"render": [], "end_to_end": None}
    for shape in ("prose", "loop"):
        for words in sizes:
            seconds, chars, diffed = render_seconds(record(*texts(shape, words)))
            per_k = seconds / words * 1000
            data["render"].append(
                {"shape": shape, "words": words, "seconds": seconds, "diff": diffed, "chars": chars}
            )
            view = "word diff" if diffed else "plain"
            rows.append(
                (
                    f"{shape} {words:>9,} words",
                    f"{seconds:7.2f} s  {per_k * 1000:6.1f} ms/1k  {view}",
                )
            )
    if args.mb:
        e2e = end_to_end(args.mb)
        data["end_to_end"] = e2e
        rows.append(
            (
                f"probe, {e2e['reply_mb']} MB replies",
                f"terminal {e2e['terminal_s']} s (exit {e2e['terminal_exit']}, "
                f"{e2e['terminal_bytes'] / 1e6:.1f} MB shown); "
                f"--jsonl {e2e['jsonl_s']} s (exit {e2e['jsonl_exit']})",
            )
        )
    emit("render_long", rows, data, args.json)


if __name__ == "__main__":
    main()
