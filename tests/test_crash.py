"""Crash consistency: a 100-input run killed with SIGKILL at random moments — at start-up, mid-run,
and during the final rewrite of the -o file — and resumed each time ends with exactly one record
per input: none lost, none duplicated, no temporary or lock file left behind.

Real `python -m probe` processes against a scripted server on 127.0.0.1 that answers after a short
delay, so the kills land while calls are in flight; the moments come from a fixed seed.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time

from probe.records import record as records
from tests.conftest import ROOT
from tests.scripted_server import ScriptedServer, steady_model

INPUTS = 100
SEED = 20261203
RANDOM_KILLS = 6


def delayed(payload, n):
    reply = steady_model(payload, n)
    reply.delay_s = 0.01
    return reply


def complete_records(path):
    """The records on the file's whole lines, each of which must be one (a kill may leave a torn
    last line without its newline: the next run cuts it)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_bytes().split(b"\n")[:-1]]


def start(
    directory, out, base, options=("--concurrency", "8", "--timeout", "10"), key="sk-test-crash"
):
    """`probe funny DIRECTORY -o OUT --resume OPTIONS` against the server at `base`, as a
    process of its own (to be killed); tests/test_crash_faults.py starts its runs with it too."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "probe",
            "funny",
            str(directory),
            "-o",
            str(out),
            "--resume",
            *options,
            "--model",
            "openai/scripted",
            "--api-base",
            base,
            "--api-key",
            key,
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def lines(path):
    return path.read_bytes().count(b"\n") if path.exists() else 0


def wait_for_lines(proc, path, n):
    """Until `path` holds n whole lines, or the process has ended."""
    deadline = time.monotonic() + 60
    while proc.poll() is None and lines(path) < n:
        assert time.monotonic() < deadline
        time.sleep(0.01)


def holder(lock):
    try:
        return int(lock.read_text())
    except (OSError, ValueError):
        return None


def holds(proc, path):
    """The process has `path` open (Linux: /proc/PID/fd)."""
    fds = f"/proc/{proc.pid}/fd"
    try:
        return any(os.readlink(f"{fds}/{fd}") == str(path) for fd in os.listdir(fds))
    except OSError:
        return False


def kill(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    return proc.returncode == -signal.SIGKILL


def temp_files(directory, out):
    return [
        n for n in os.listdir(directory) if n.startswith(f".{out.name}.") and n.endswith(".tmp")
    ]


def write_scenes(folder, count):
    """`count` one-line scenes in `folder` (made here); their paths, the records' ids, in order."""
    folder.mkdir()
    ids = []
    for i in range(count):
        path = folder / f"scene-{i:03d}.txt"
        path.write_text(f"Scene {i}: a dog chases its own tail at a wedding.\n")
        ids.append(str(path))
    return ids


class NothingLost:
    """Called after each kill: every record seen whole in the run file before is still there."""

    def __init__(self, out):
        self.out = out
        self.seen: set[str] = set()  # ids with a whole record in the file after some kill

    def __call__(self):
        now = {r["id"] for r in complete_records(self.out)}
        assert self.seen <= now, f"records lost: {sorted(self.seen - now)[:5]}"
        self.seen.update(now)


def test_kill_9_at_random_moments_then_resume_loses_and_duplicates_nothing(tmp_path):
    rng = random.Random(SEED)
    scenes = tmp_path / "scenes"
    ids = write_scenes(scenes, INPUTS)
    out = tmp_path / "run.jsonl"
    check_nothing_lost = NothingLost(out)

    with ScriptedServer(delayed) as server:
        killed = 0
        for kill_number in range(RANDOM_KILLS):
            proc = start(scenes, out, server.base_url)
            if kill_number == 0:  # during start-up
                time.sleep(rng.uniform(0.1, 1.0))
            else:  # mid-run: a random number of records on (start-up time varies with load)
                wait_for_lines(proc, out, lines(out) + rng.randint(1, 15))
                time.sleep(rng.uniform(0, 0.2))
            killed += kill(proc)
            check_nothing_lost()
        assert killed >= RANDOM_KILLS - 1  # (one may finish the rest before its kill)
        assert 0 < len(check_nothing_lost.seen) < INPUTS  # the kills landed mid-run

        # during the final rewrite: killed the moment its temporary file appears
        landed = 0
        lock = tmp_path / f".{out.name}.lock"
        for _ in range(12):
            stale = set(temp_files(tmp_path, out))  # left by the last kill: removed on open
            proc = start(scenes, out, server.base_url)
            # The rewrite comes after the last record and after the run file is opened (its lock
            # file names this process, or the process holds it open): from then on, watch
            # without sleeping - it takes a few milliseconds.
            wait_for_lines(proc, out, INPUTS)
            while proc.poll() is None and holder(lock) != proc.pid and not holds(proc, out):
                time.sleep(0.002)
            while proc.poll() is None and not set(temp_files(tmp_path, out)) - stale:
                pass
            if kill(proc) and set(temp_files(tmp_path, out)) - stale:
                landed += 1  # the rename had not happened: the old file is all there is
                check_nothing_lost()
                if landed == 2:
                    break
            else:
                check_nothing_lost()
        assert landed >= 1, "no kill landed during the final rewrite"

        calls = len(server.requests)
        final = start(scenes, out, server.base_url)
        _, stderr = final.communicate(timeout=120)
        assert final.returncode == 0, stderr
        assert len(server.requests) == calls  # every input was already done
    assert f"0 probed, {INPUTS} already done, 0 failed" in stderr
    check_nothing_lost()
    recs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["id"] for r in recs) == ids  # one record per input: none lost, none twice
    assert len({r["key"] for r in recs}) == INPUTS
    assert all(records.succeeded(r) for r in recs)
    assert temp_files(tmp_path, out) == []
    assert not lock.exists()
