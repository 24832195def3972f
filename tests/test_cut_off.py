"""A reply cut off at --max-tokens says so (`finish_reason: length`), in the record and in the
panel, instead of leaving a bare "Answer: ?" to guess at.

A scripted server (tests/scripted_server.py) stands for a provider that stops a reply at the
token limit; the embedded model is really cut off with `--max-tokens 3`.
"""

import os
import pty
import re
import subprocess
import sys

from tests.conftest import ROOT, SAMPLES
from tests.helpers import records_of, run_cli
from tests.scripted_server import Reply, ScriptedServer, last_user_text, prefill_of

SCENE = SAMPLES / "dog-wedding.txt"
CUT_LINE = "Cut off at --max-tokens (finish_reason: length)"


def _cut_explain_first(payload, n):
    """Decide-first and the forced continuation end on their own; explain-first runs out of
    tokens before its answer line."""
    prefill = prefill_of(payload)
    if prefill:
        return Reply(prefill + " because nothing unexpected happens.")
    if "last line" in last_user_text(payload):
        return Reply("A dog steals the ring and the groom", finish_reason="length")
    return Reply("Yes. A dog steals the ring.")


def _args(base):
    return ["--model", "openai/scripted", "--api-base", base, "--retries", "0", "--timeout", "5"]


def test_a_cut_off_reply_is_recorded_with_finish_reason_length(transport):
    with ScriptedServer(_cut_explain_first) as server:
        result = run_cli("funny", SCENE, "--force", "no", "--jsonl", *_args(server.base_url))
    assert result.exit_code == 0, result.stderr
    [record] = records_of(result)
    variants = record["variants"]
    assert variants["explain-first"]["finish_reason"] == "length"
    assert variants["explain-first"]["answer"] is None
    assert variants["decide-first"]["finish_reason"] == "stop"
    assert variants["forced"]["finish_reason"] == "stop"


def _on_a_terminal(*args: str) -> str:
    """probe's stdout as a terminal shows it (panels, not JSONL): run under a pseudo-terminal."""
    main, child = pty.openpty()
    env = {**os.environ, "COLUMNS": "70", "LINES": "50", "TERM": "xterm"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "probe", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=child,
        stderr=subprocess.PIPE,
    )
    os.close(child)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the terminal closed: probe exited
            break
        if not chunk:
            break
        chunks.append(chunk)
    _, stderr = proc.communicate(timeout=60)
    os.close(main)
    assert proc.returncode == 0, stderr.decode(errors="replace")
    shown = b"".join(chunks).decode("utf-8", errors="replace").replace("\r\n", "\n")
    return re.sub(r"\x1b\[[0-9;]*m", "", shown)  # NO_COLOR keeps bold and strike: drop them


def test_the_terminal_panel_of_a_cut_off_reply_says_so():
    with ScriptedServer(_cut_explain_first) as server:
        out = _on_a_terminal(
            "funny", str(SCENE), "--force", "no", "--no-align", *_args(server.base_url)
        )
    lines = out.splitlines()
    top = next(i for i, line in enumerate(lines) if "─ explain-first ─" in line)
    assert "Answer: ?" in lines[top + 1]
    assert CUT_LINE in lines[top + 2]
    assert out.count(CUT_LINE) == 1  # only the reply that was cut off


def test_the_embedded_model_cut_at_three_tokens_records_finish_reason_length():
    args = ("funny", SCENE, "--force", "no", "--max-tokens", "3", "--jsonl", "--no-align")
    first, again = run_cli(*args), run_cli(*args)  # the second run answers from the cache
    assert first.exit_code == again.exit_code == 0, first.stderr
    for result in (first, again):
        [record] = records_of(result)
        assert [v["finish_reason"] for v in record["variants"].values()] == ["length"] * 3
    [cached] = records_of(again)
    assert all(v["cached"] for v in cached["variants"].values())
