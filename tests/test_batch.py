"""Batch runs: many inputs, JSONL on stdin, -o files, resume, cache, limits, faults, Ctrl-C.

Most tests talk to scripted servers on 127.0.0.1 (tests/scripted_server.py) standing for a
provider whose faults can be produced on demand; one runs the embedded model over a directory.
The invariant under every fault: each input ends with exactly one record, and --resume finishes
the rest without duplicates.
"""

import itertools
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, SAMPLES
from tests.helpers import file_records, records_of, run_cli
from tests.scripted_server import Reply, ScriptedServer, last_user_text, steady_model

KEY = "sk-test-batch-0123456789"


def scenes(tmp_path, n, prefix="scene"):
    d = tmp_path / "scenes"
    d.mkdir(exist_ok=True)
    for i in range(n):
        (d / f"{prefix}-{i:02d}.txt").write_text(f"Scene number {i}: a dog chases its own tail.\n")
    return d


def remote_args(base, *more):
    return [
        "--model",
        "openai/scripted",
        "--api-base",
        base,
        "--api-key",
        KEY,
        "--retries",
        "2",
        "--timeout",
        "5",
        *more,
    ]


def test_a_directory_with_bad_files_gives_one_record_per_input_and_counts_skips(tmp_path):
    d = scenes(tmp_path, 2)
    (d / "empty.txt").write_bytes(b"")
    (d / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (d / "nested").mkdir()
    (d / "nested" / "deep.txt").write_text("A cat falls off a sofa.")
    (d / "data.csv").write_text("a,b\n")  # not an input: skipped and counted
    (d / "dangling.txt").symlink_to(d / "gone.txt")  # unreadable: no such file
    with ScriptedServer(steady_model) as server:
        result = run_cli("funny", d, "--jsonl", *remote_args(server.base_url))
    assert result.exit_code == 1
    recs = records_of(result)
    ids = sorted(r["id"] for r in recs)
    assert ids == sorted(
        str(d / n)
        for n in [
            "scene-00.txt",
            "scene-01.txt",
            "empty.txt",
            "broken.png",
            "nested/deep.txt",
            "dangling.txt",
        ]
    )
    failed = {r["id"].rsplit("/", 1)[-1]: r["error"]["message"] for r in recs if r["error"]}
    assert set(failed) == {"empty.txt", "broken.png", "dangling.txt"}
    assert "file is empty" in failed["empty.txt"]
    assert "skipped 1 file" in result.stderr
    assert result.stderr.count("probe: error:") == 3


def test_stdin_jsonl_with_bad_lines(tmp_path):
    good = tmp_path / "g.txt"
    good.write_text("A man slips on a banana peel.")
    lines = [
        json.dumps({"id": "a", "text": "A penguin wears a bow tie.", "gold": "Yes"}),
        "{not json",
        json.dumps({"id": "b"}),
        json.dumps({"id": "c", "text": "x", "path": str(good)}),
        json.dumps(["a list"]),
        "",
        json.dumps({"path": str(good), "question": "Is anyone slipping?"}),
        json.dumps({"id": "d", "prompt": "Sure, I love waiting.", "\x1b[2Jwipe": 1}),
    ]
    with ScriptedServer(steady_model) as server:
        result = run_cli(
            "ask",
            "Is this sarcastic?",
            "-",
            "--jsonl",
            *remote_args(server.base_url),
            input="\n".join(lines) + "\n",
        )
    recs = {r["id"]: r for r in records_of(result)}
    assert set(recs) == {"a", "stdin line 2", "b", "c", "stdin line 5", "stdin line 7", "d"}
    assert recs["a"]["error"] is None and recs["a"]["gold"] == "yes"
    assert recs["a"]["question"] == "Is this sarcastic?"
    assert "stdin line 2: not valid JSON" in recs["stdin line 2"]["error"]["message"]
    assert "needs exactly one of text, image or path; got none" in recs["b"]["error"]["message"]
    # the message names the fields the line has, so the fix (`jq '{text: .prompt}'`) is plain
    assert "got none (its fields: id, prompt, " in recs["d"]["error"]["message"]
    assert "\x1b" not in result.stderr and "\\x1b[2Jwipe" in result.stderr  # shown, not obeyed
    assert "got text and path" in recs["c"]["error"]["message"]
    assert "expected a JSON object" in recs["stdin line 5"]["error"]["message"]
    assert recs["stdin line 7"]["question"] == "Is anyone slipping?"
    assert recs["stdin line 7"]["input"]["path"] == str(good)
    assert result.exit_code == 1


def test_output_file_resume_and_cache_make_a_finished_run_free(tmp_path):
    d = scenes(tmp_path, 4)
    out = tmp_path / "runs" / "out.jsonl"
    with ScriptedServer(steady_model) as server:
        first = run_cli("funny", d, "-o", out, *remote_args(server.base_url))
        calls = len(server.requests)
        again = run_cli("funny", d, "-o", out, "--overwrite", *remote_args(server.base_url))
        resumed = run_cli(
            "funny", d, "-o", out, "--resume", "--no-cache", *remote_args(server.base_url)
        )
        assert len(server.requests) == calls == 4 * 3
    assert first.exit_code == again.exit_code == resumed.exit_code == 0
    assert records_of(first) == []  # -o alone keeps stdout for people, not records
    recs = file_records(out)
    assert len(recs) == 4 and len({r["key"] for r in recs}) == 4
    assert all(v["cached"] for r in file_records(out) for v in r["variants"].values()) is True
    assert "4 already done" in resumed.stderr
    assert "0 made, 12 from cache" in again.stderr


def test_samples_are_independent_draws_and_cached_separately(tmp_path):
    d = scenes(tmp_path, 2)
    out = tmp_path / "s.jsonl"
    with ScriptedServer(steady_model) as server:
        run_cli(
            "funny",
            d,
            "-o",
            out,
            "--samples",
            "3",
            "--temperature",
            "0.7",
            *remote_args(server.base_url),
        )
        assert len(server.requests) == 2 * 3 * 3
        run_cli(
            "funny",
            d,
            "-o",
            out,
            "--samples",
            "3",
            "--temperature",
            "0.7",
            *remote_args(server.base_url),
        )
        assert len(server.requests) == 2 * 3 * 3  # all from cache
    recs = file_records(out)
    assert sorted((r["id"][-6:], r["sample"]) for r in recs) == sorted(
        (f"{i:02d}.txt", s) for i in range(2) for s in range(3)
    )
    assert all(v["sample"] == r["sample"] for r in recs for v in r["variants"].values())


def test_concurrency_bounds_calls_in_flight(tmp_path):
    d = scenes(tmp_path, 6)

    def slow(payload, n):
        r = steady_model(payload, n)
        r.delay_s = 0.2
        return r

    with ScriptedServer(slow) as server:
        result = run_cli(
            "funny", d, "--jsonl", "--concurrency", "3", "--no-cache", *remote_args(server.base_url)
        )
    assert result.exit_code == 0
    assert len(records_of(result)) == 6
    assert 2 <= server.max_active <= 3


def test_rpm_spaces_requests(tmp_path):
    d = scenes(tmp_path, 1)
    with ScriptedServer(steady_model) as server:
        run_cli("funny", d, "--jsonl", "--rpm", "240", "--no-cache", *remote_args(server.base_url))
    gaps = [b - a for a, b in itertools.pairwise(server.arrivals)]
    # 240 a minute: one every 0.25 s. probe spaces the sends; when they reach the server, a loaded
    # machine adds a few tens of ms of jitter to any one gap, but not to the span of them all.
    assert len(gaps) == 2 and min(gaps) >= 0.2 and sum(gaps) >= 0.48


@pytest.mark.usefixtures("transport")
def test_429_honours_retry_after(tmp_path):
    d = scenes(tmp_path, 1)

    def limited(payload, n):
        if n == 1:
            return Reply("slow down", status=429, headers={"Retry-After": "1"})
        return steady_model(payload, n)

    with ScriptedServer(limited) as server:
        result = run_cli(
            "funny", d, "--jsonl", "--concurrency", "1", "--no-cache", *remote_args(server.base_url)
        )
    assert result.exit_code == 0
    assert server.arrivals[1] - server.arrivals[0] >= 0.95
    [record] = records_of(result)
    assert record["error"] is None


FAULTS = {
    "500": lambda: Reply("boom", status=500),
    "hang": lambda: Reply("late", delay_s=3),
    "badjson": lambda: Reply(body=b"{this is not json"),
    "nochoices": lambda: Reply(
        body=json.dumps(
            {"id": "x", "object": "chat.completion", "choices": [], "model": "m", "created": 0}
        ).encode()
    ),
    "drop": lambda: Reply(drop=True),
}


@pytest.mark.usefixtures("transport")
def test_faults_end_in_one_record_each_and_resume_completes_the_rest(tmp_path):
    d = tmp_path / "scenes"
    d.mkdir()
    for name in [*FAULTS, "ok1", "ok2"]:
        (d / f"{name}.txt").write_text(f"Scene {name}: a cat sits in a box.\n")
    out = tmp_path / "out.jsonl"

    def faulty(payload, n):
        text = last_user_text(payload) + " ".join(
            m["content"] for m in payload["messages"] if isinstance(m["content"], str)
        )
        for name, fault in FAULTS.items():
            if f"Scene {name}:" in text:
                return fault()
        return steady_model(payload, n)

    with ScriptedServer(faulty) as server:
        result = run_cli(
            "funny", d, "-o", out, *remote_args(server.base_url, "--timeout", "1", "--retries", "1")
        )
    assert result.exit_code == 1
    recs = file_records(out)
    assert sorted(r["id"] for r in recs) == sorted(
        str(d / f"{n}.txt") for n in [*FAULTS, "ok1", "ok2"]
    )
    ok = {r["id"].rsplit("/", 1)[-1] for r in recs if r["verdict"] != "error"}
    assert ok == {"ok1.txt", "ok2.txt"}
    for r in recs:
        if r["verdict"] == "error":
            err = r["variants"]["decide-first"]["error"]
            assert err["type"] == "provider" and err["message"].startswith("openai/scripted at ")
    assert result.stderr.count("probe: error:") == len(FAULTS)

    with ScriptedServer(steady_model) as healthy:  # the provider recovered
        resumed = run_cli("funny", d, "-o", out, "--resume", *remote_args(healthy.base_url))
        assert len(healthy.requests) == len(FAULTS) * 3  # only the failed inputs run again
    assert resumed.exit_code == 0
    recs = file_records(out)
    assert len(recs) == len(FAULTS) + 2 and len({r["id"] for r in recs}) == len(recs)
    assert all(r["verdict"] == "rationalizes" for r in recs)


def test_sigint_mid_run_keeps_completed_records_and_resume_finishes(tmp_path):
    d = scenes(tmp_path, 8)
    out = tmp_path / "out.jsonl"

    def slow(payload, n):
        r = steady_model(payload, n)
        r.delay_s = 0.3
        return r

    with ScriptedServer(slow) as server:
        cmd = [
            sys.executable,
            "-m",
            "probe",
            "funny",
            str(d),
            "-o",
            str(out),
            "--concurrency",
            "2",
            *remote_args(server.base_url),
        ]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
            out.exists() and out.read_text().count("\n") >= 2
        ):
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 130, stderr
        assert "Traceback" not in stderr
        partial = file_records(out)  # every line a whole record
        assert 2 <= len(partial) < 8
        assert len({r["id"] for r in partial}) == len(partial)

        resumed = run_cli("funny", d, "-o", out, "--resume", *remote_args(server.base_url))
    assert resumed.exit_code == 0
    final = file_records(out)
    assert sorted(r["id"] for r in final) == sorted(str(d / f"scene-{i:02d}.txt") for i in range(8))
    assert f"{len(partial)} already done" in resumed.stderr


def test_a_record_written_while_the_embedded_model_loads_reaches_stdout(tmp_path):
    """llama-cpp-python points sys.stdout and fd 1 at /dev/null while it loads a model; an
    input that fails at once (an image the model cannot see) used to write its record then, and
    it was lost. Run in a fresh process, where the model is not loaded yet."""
    d = tmp_path / "mixed"
    d.mkdir()
    (d / "a.txt").write_text((SAMPLES / "dog-wedding.txt").read_text())
    (d / "b.png").write_bytes((SAMPLES / "coffee.jpg").read_bytes())
    code = (
        "import llama_cpp.llama_chat_format, sys; from probe.cli.app import run; "
        f"sys.argv = ['probe', 'funny', {str(d)!r}, '--jsonl', '--max-tokens', '5', '--no-cache']; run()"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    ids = sorted(json.loads(line)["id"].rsplit("/", 1)[-1] for line in done.stdout.splitlines())
    assert ids == ["a.txt", "b.png"], done.stderr
    assert "b.png: local/smollm2 cannot see images" in done.stderr


def test_embedded_model_over_a_directory(tmp_path):
    d = tmp_path / "mixed"
    d.mkdir()
    (d / "a.txt").write_text((SAMPLES / "dog-wedding.txt").read_text())
    (d / "b.png").write_bytes(
        (SAMPLES / "coffee.jpg").read_bytes()
    )  # an image the model cannot see
    result = run_cli("funny", d, "--jsonl", "--max-tokens", "30")
    recs = {r["id"].rsplit("/", 1)[-1]: r for r in records_of(result)}
    assert set(recs) == {"a.txt", "b.png"}
    assert recs["a.txt"]["variants"]["forced"]["mechanism"] == "prefill"
    assert "cannot see images" in recs["b.png"]["error"]["message"]
    assert result.exit_code == 1


@pytest.mark.parametrize("args", [["--resume"], ["-o", "x.jsonl", "--samples", "0"]])
def test_batch_usage_errors(args):
    result = run_cli("funny", SAMPLES / "dog-wedding.txt", *args)
    assert result.exit_code == 2


def test_a_closed_pipe_stops_quietly(tmp_path):
    """`probe … | head -c 50`: the reader leaves early; probe stops without a traceback."""
    d = scenes(tmp_path, 6)
    with ScriptedServer(steady_model) as server:
        cmd = f"{sys.executable} -m probe funny {d} --jsonl --concurrency 1 " + " ".join(
            remote_args(server.base_url)
        )
        proc = subprocess.run(
            f"{cmd} | head -c 50",
            shell=True,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            executable="/bin/bash",
        )
    assert len(proc.stdout) == 50
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


def test_after_the_first_prefill_is_confirmed_forced_calls_run_together(tmp_path):
    """Only the run's first prefill is tried alone; the rest must not queue one by one."""
    d = scenes(tmp_path, 6)

    def slow(payload, n):
        r = steady_model(payload, n)
        r.delay_s = 0.3
        return r

    with ScriptedServer(slow) as server:
        result = run_cli(
            "funny",
            d,
            "--jsonl",
            "--no-cache",
            "--force",
            "no",
            "--variants",
            "forced",
            "--concurrency",
            "4",
            *remote_args(server.base_url),
        )
    recs = records_of(result)
    assert len(recs) == 6 and all(r["variants"]["forced"]["mechanism"] == "prefill" for r in recs)
    assert server.max_active >= 3
