"""Crash consistency under faults: a 200-input run against a provider where a quarter of the
replies are faults, killed with SIGKILL at random moments and resumed each time, ends with exactly
one record per input — a success for each input the provider answers, an error record for each
it never answers — none lost, none duplicated, no torn line.

The scripted server on 127.0.0.1 stands for such a provider: it fails one request in four, chosen
by the scene the request is about (a hash of its number), so the same requests fail on every run
and the test knows which inputs must end as error records. The faults are those a provider
gives: HTTP 500, a timeout (the reply comes after --timeout), a body that is not JSON, a completion
with no choices, a dropped connection. probe runs with --retries 0 (a fault is final for that run:
no backoff waits) and one variant (decide-first), to keep the test cheap; `--resume` runs an
input whose record failed again, as documented (docs/usage.md, Resume), so the faulty inputs are
tried by every run and never succeed.
"""

import hashlib
import json
import os
import random
import re
import time

from probe.records import record as records
from tests.scripted_server import Reply, ScriptedServer, last_user_text
from tests.test_crash import (
    NothingLost,
    kill,
    lines,
    start,
    wait_for_lines,
    write_scenes,
)

INPUTS = 200
SEED = 20261208
KILLS = 4
TIMEOUT_S = 2.0
SCENE = re.compile(r"Scene (\d+):")
FAULTS = ("500", "timeout", "garbage", "no-choices", "drop")
KEY = "sk-test-crash-faults"
# One variant, no retries (a fault is final for that run: no backoff waits), a short --timeout.
OPTIONS = ("--variants", "decide-first", "--concurrency", "16", "--retries", "0")
OPTIONS += ("--timeout", str(TIMEOUT_S))


def fault_of(number):
    """The fault the provider gives for every request about scene `number`, or None (3 in 4)."""
    digest = hashlib.sha256(f"scene {number}".encode()).digest()
    return FAULTS[digest[1] % len(FAULTS)] if digest[0] % 4 == 0 else None


def provider(payload, n):
    match = SCENE.search(last_user_text(payload))
    fault = fault_of(int(match.group(1))) if match else None
    if fault == "500":
        return Reply("the server had an error", status=500)
    if fault == "timeout":
        return Reply("Yes. Too late.", delay_s=TIMEOUT_S + 1)
    if fault == "garbage":
        return Reply(body=b"<html>502 Bad Gateway</html>")
    if fault == "no-choices":
        return Reply(
            body=json.dumps({"id": "x", "object": "chat.completion", "choices": []}).encode()
        )
    if fault == "drop":
        return Reply(drop=True)
    return Reply("Yes. Something unexpected happens.")


def test_kill_9_while_a_quarter_of_replies_are_faults_then_resume(tmp_path):
    rng = random.Random(SEED)
    scenes = tmp_path / "scenes"
    ids = write_scenes(scenes, INPUTS)
    faulty = {ids[i] for i in range(INPUTS) if fault_of(i)}
    assert 30 <= len(faulty) <= 70  # about a quarter
    assert {fault_of(i) for i in range(INPUTS)} == {None, *FAULTS}
    out = tmp_path / "run.jsonl"
    check_nothing_lost = NothingLost(out)

    with ScriptedServer(provider) as server:
        killed = 0
        for _ in range(KILLS):
            proc = start(scenes, out, server.base_url, OPTIONS, KEY)
            # a random number of records on (start-up time varies with load), then a random moment
            wait_for_lines(proc, out, lines(out) + rng.randint(1, 40))
            time.sleep(rng.uniform(0, 0.3))
            killed += kill(proc)
            check_nothing_lost()
        assert killed >= KILLS - 1  # (one may finish before its kill)
        assert 0 < len(check_nothing_lost.seen) < INPUTS  # the kills landed mid-run

        final = start(scenes, out, server.base_url, OPTIONS, KEY)
        _, stderr = final.communicate(timeout=120)
    assert final.returncode == 1, stderr  # some inputs failed: exit 1, as for any failed input
    check_nothing_lost()
    data = out.read_bytes()
    assert data.endswith(b"\n")  # no torn line
    recs = [json.loads(line) for line in data.decode("utf-8").splitlines()]
    assert sorted(r["id"] for r in recs) == ids  # one record each
    failed = {r["id"] for r in recs if not records.succeeded(r)}
    assert failed == faulty  # the faulty ones as error records, every other one a success
    for r in recs:
        if r["id"] in faulty:
            assert r["variants"]["decide-first"]["error"]["message"], r
    assert f"{len(faulty)} failed" in stderr
    assert KEY not in stderr + data.decode("utf-8")
    assert [n for n in os.listdir(tmp_path) if n.endswith(".tmp")] == []
    assert not (tmp_path / f".{out.name}.lock").exists()
