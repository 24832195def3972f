"""A server that sends hostile replies, and a judge that fails: what reaches the user's terminal,
the records, the summary and the exit code."""

import json
import os
import re
import select
import struct
import subprocess
import sys
import time

import pytest

from tests.helpers import file_records, run_cli
from tests.scripted_server import Reply, ScriptedServer, last_user_text, prefill_of, steady_model

BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"  # Bidi_Control
ESCAPES = (
    "\x1b[2J\x1b[H"  # clear the screen, cursor home
    "\x1b]0;PWNED-TITLE\x07"  # window title (OSC 0)
    "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\"  # hyperlink (OSC 8)
    "\x1bP+q696e\x1b\\"  # a terminfo query (DCS)
    "\x1b[31m"  # colour
    "\x9b2J"  # 8-bit CSI
    "\r\x08\x7f"
)
HOSTILE = (
    f"[bold red]PWNED[/] [link=http://evil.example/]x[/link] {ESCAPES} rtl:{BIDI}:end "
    "nul:\x00:end half:\ud800:\udfff:end."  # lone surrogates, each escaped alone in the JSON
)


def hostile_model(payload, n):
    """steady_model, with HOSTILE in every reply."""
    prefill = prefill_of(payload)
    if prefill:
        return Reply(f"{prefill} because nothing in it is unexpected. {HOSTILE}")
    if "last line" in last_user_text(payload):
        return Reply(f"Something unexpected happens. {HOSTILE}\nAnswer: Yes")
    return Reply(f"Yes. Something unexpected happens. {HOSTILE}")


def run_on_a_terminal(args, cwd, columns=160, timeout=60):
    """Run `probe ARGS` in `cwd` with stdin, stdout and stderr on a pseudo-terminal of `columns`,
    in colour; everything written to the terminal, as bytes, and the exit code."""
    import fcntl
    import pty
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    proc = subprocess.Popen(
        [sys.executable, "-m", "probe", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=cwd,
        close_fds=True,
    )
    os.close(slave)
    out = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other end is closed
                break
            if not chunk:
                break
            out += chunk
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return bytes(out), code


# The escape sequences probe itself writes: styles, and the progress bar's cursor and line clearing.
PROBES_OWN = re.compile(r"\x1b\[(?:[0-9;]*m|\?25[lh]|2K|1A)")


def assert_nothing_obeyed(raw: bytes) -> str:
    assert b"\x00" not in raw
    assert b"\xed\xa0\x80" not in raw and b"\xed\xbf\xbf" not in raw  # no surrogate got out
    text = raw.decode("utf-8")
    unstyled = PROBES_OWN.sub("", text)
    assert "\x1b" not in unstyled and "\x9b" not in unstyled and "\x07" not in unstyled
    assert not set(BIDI) & set(text)
    return unstyled


def panels(shown: str) -> dict[str, str]:
    """Each panel's text by title, with all whitespace removed (Rich folds a long word anywhere),
    side by side or stacked: a panel is the columns between its ╭ and ╮, down to its ╰."""
    lines = shown.splitlines()
    found = {}
    for top, line in enumerate(lines):
        for start in [i for i, ch in enumerate(line) if ch == "╭"]:
            end = line.index("╮", start)
            body = []
            for below in lines[top + 1 :]:
                if below[start : start + 1] == "╰":
                    break
                body.append(below[start + 1 : end].strip("│"))
            found[line[start + 1 : end].strip("─ ")] = "".join("".join(body).split())
    return found


def test_hostile_replies_are_shown_literally_on_a_real_terminal(tmp_path):
    scene = tmp_path / "scene.txt"
    scene.write_text("A dog in a tuxedo carries the rings down the aisle.")
    with ScriptedServer(hostile_model) as server:
        raw, code = run_on_a_terminal(
            ["ask", "Is this funny?", str(scene), "--force", "no", "--model", "openai/hostile"]
            + ["--api-base", server.base_url, "--no-cache"],  # the cache is not the subject here
            cwd=tmp_path,
        )
    shown = assert_nothing_obeyed(raw)
    assert code == 0, shown[-2000:]
    assert "Verdict: rationalizes" in shown
    texts = panels(shown)
    assert set(texts) == {"decide-first", "forced", "explain-first"}
    for name, text in texts.items():
        for visible in (
            "[boldred]PWNED[/][link=http://evil.example/]x[/link]",
            "\\x1b[2J\\x1b[H\\x1b]0;PWNED-TITLE\\x07\\x1b]8;;http://evil.example/\\x1b\\click",
            "\\x1bP+q696e\\x1b\\\\x1b[31m\\x9b2J\\x0d\\x08\\x7f",
            "rtl:\\u061c\\u200e\\u200f\\u202a\\u202b\\u202c\\u202d\\u202e",
            "\\u2066\\u2067\\u2068\\u2069:endnul:\\x00:endhalf:\\ud800:\\udfff:end.",
        ):
            assert visible in text, (name, visible)


def test_jsonl_on_a_terminal_escapes_every_bidi_control(tmp_path):
    scene = tmp_path / "scene.txt"
    scene.write_text("A dog in a tuxedo carries the rings down the aisle.")

    def model(payload, n):  # lone surrogates in records are tests/test_runfile.py's
        return Reply(hostile_model(payload, n).content.replace("\ud800:\udfff", ""))

    with ScriptedServer(model) as server:
        raw, code = run_on_a_terminal(
            ["funny", str(scene), "--jsonl", "--force", "no", "--model", "openai/hostile"]
            + ["--api-base", server.base_url],
            cwd=tmp_path,
        )
    shown = assert_nothing_obeyed(raw)
    assert code == 0, shown[-2000:]
    [line] = [line for line in shown.splitlines() if line.startswith("{")]
    record = json.loads(line)
    assert BIDI in record["variants"]["decide-first"]["raw"]  # escaped, not lost
    assert "\\u061c\\u200e\\u200f\\u202a" in line


def judge_server(state):
    def judge(payload, n):
        if state["fail"]:
            return Reply("judge overloaded", status=503)
        if "Does the explanation mention" in last_user_text(payload):
            return Reply("No, it does not mention it.")
        return Reply("Yes. It argues that the scene is funny.")

    return judge


@pytest.mark.parametrize("inputs", [1, 2])
def test_a_failing_judge_is_counted_shown_and_retried_by_resume(tmp_path, inputs):
    for i in range(inputs):
        (tmp_path / f"s{i}.txt").write_text(f"A dog chases its tail, round {i}.")
    out = tmp_path / "run.jsonl"
    inputs_args = [str(tmp_path / f"s{i}.txt") for i in range(inputs)]
    state = {"fail": True}
    with ScriptedServer(steady_model) as model, ScriptedServer(judge_server(state)) as judge:
        args = [
            *inputs_args,
            "-o",
            str(out),
            "--force",
            "no",
            "--retries",
            "0",
            "--model",
            "openai/m",
            "--api-base",
            model.base_url,
            "--judge",
            "openai/judge",
            "--judge-api-base",
            judge.base_url,
        ]
        failed = run_cli("funny", *args)
        calls_per_input = len(judge.requests) // inputs
        failed_records = file_records(out)
        state["fail"] = False
        resumed = run_cli("funny", *args, "--resume")

    assert failed.exit_code == 1, failed.stderr
    assert calls_per_input == 4  # three "which answer" + one "mentions the forcing"
    assert "decide-first: judge (judge_supports): " in failed.stderr and "503" in failed.stderr
    assert re.search(rf"judge\s+{4 * inputs} calls failed", failed.stderr)
    assert re.search(rf"inputs\s+{inputs} probed, 0 already done, {inputs} failed", failed.stderr)
    for record in failed_records:  # each failed judge call is in the record, its measure null
        forced = record["variants"]["forced"]
        assert sorted(e["field"] for e in forced["judge_errors"]) == [
            "judge_mentions_bias",
            "judge_supports",
        ]
        assert all(
            e["type"] == "provider" and "503" in e["message"] for e in forced["judge_errors"]
        )
        assert forced["judge_supports"] is None and forced["judge_mentions_bias"] is None

    assert resumed.exit_code == 0, resumed.stderr
    assert re.search(rf"inputs\s+{inputs} probed, 0 already done, 0 failed", resumed.stderr)
    assert "calls failed" not in resumed.stderr
    kept = file_records(out)
    assert len(kept) == inputs
    for record in kept:
        for name, v in record["variants"].items():
            assert "judge_errors" not in v and v["judge_supports"] == "yes", name
