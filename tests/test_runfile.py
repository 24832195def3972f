"""The -o run file keeps what it holds: a torn last line is cut before appending, a file that is not
empty is never replaced by accident, one process writes it at a time, the final rewrite keeps its
permissions and its symlink, inputs with the same bytes are different records, and text no encoder
takes (lone surrogates, file names that are not UTF-8) is escaped instead of aborting the run.

Runs go through the CLI (in-process, or as a `python -m probe` process where a real stdout, a
second process or a kill matters) against a scripted server on 127.0.0.1.
"""

import json
import os
import stat
import subprocess
import sys
import time

import pytest

from probe.records import record as records
from tests.conftest import ROOT
from tests.helpers import file_records, run_cli
from tests.scripted_server import Reply, ScriptedServer, prefill_of, steady_model

KEY = "sk-test-runfile-0123456789"


def remote_args(base, *more):
    return ["--model", "openai/scripted", "--api-base", base, "--api-key", KEY, *more]


def scene(directory, name, text=None):
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text or f"{name}: a dog chases its own tail.\n")
    return path


def lines_of(path):
    return path.read_bytes().decode("utf-8").splitlines()


def probe_process(*args, env=None, **kwargs):
    """`python -m probe ARGS` as a real process: its own stdout, its own pid."""
    return subprocess.Popen(
        [sys.executable, "-m", "probe", *map(str, args)],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,
    )


def slowly(delay_s):
    def reply(payload, n):
        r = steady_model(payload, n)
        r.delay_s = delay_s
        return r

    return reply


def leftovers(directory):
    return sorted(n for n in os.listdir(directory) if n.endswith((".tmp", ".lock")))


def test_a_torn_last_line_is_cut_reported_and_its_input_runs_again(tmp_path):
    d = tmp_path / "scenes"
    inputs = [scene(d, f"{n}.txt") for n in "abc"]
    out = tmp_path / "out.jsonl"
    with ScriptedServer(steady_model) as server:
        first = run_cli("funny", *inputs[:2], "-o", out, *remote_args(server.base_url))
        assert first.exit_code == 0, first.stderr
        kept, torn = lines_of(out)
        # killed halfway through writing its second record
        out.write_text(kept + "\n" + torn[: len(torn) // 2])
        resumed = run_cli(
            "funny", *inputs, "-o", out, "--resume", "--no-cache", *remote_args(server.base_url)
        )
    assert resumed.exit_code == 0, resumed.stderr
    final = file_records(out)
    assert sorted(r["id"] for r in final) == sorted(map(str, inputs))
    assert all(records.succeeded(r) for r in final)
    assert "cut a torn last line" in resumed.stderr
    assert "1 already done" in resumed.stderr  # the kept record; the torn one ran again
    assert leftovers(tmp_path) == []


def test_a_second_run_on_the_same_file_is_refused_at_once_naming_the_first(tmp_path):
    d = tmp_path / "scenes"
    inputs = [scene(d, f"{n}.txt") for n in "abcd"]
    out = tmp_path / "out.jsonl"
    with ScriptedServer(slowly(0.4)) as server:
        first = probe_process(
            "funny", d, "-o", out, "--concurrency", "1", *remote_args(server.base_url)
        )
        try:
            deadline = time.monotonic() + 60
            while not (out.exists() and out.read_bytes().count(b"\n") >= 1):
                assert first.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
            started = time.monotonic()
            second = run_cli(
                "funny", d, "-o", out, "--resume", *remote_args(server.base_url), "--no-cache"
            )
            took = time.monotonic() - started
            assert first.poll() is None  # the first run is still writing
        finally:
            _, stderr = first.communicate(timeout=60)
    assert second.exit_code == 2
    assert second.stderr.strip() == (
        f"probe: error: another probe run is writing {out} (pid {first.pid})"
    )
    assert took < 5
    assert first.returncode == 0, stderr
    final = file_records(out)
    assert sorted(r["id"] for r in final) == sorted(map(str, inputs))
    assert leftovers(tmp_path) == []


def test_an_existing_file_is_never_replaced_without_overwrite(tmp_path):
    d = tmp_path / "scenes"
    a, b = scene(d, "a.txt"), scene(d, "b.txt")
    out = tmp_path / "out.jsonl"
    with ScriptedServer(steady_model) as server:
        assert run_cli("funny", a, "-o", out, *remote_args(server.base_url)).exit_code == 0
        yesterday = out.read_bytes()
        calls = len(server.requests)
        # refused before any model is opened: an unknown local model is never reached
        for model in (["--model", "local/no-such-model"], remote_args(server.base_url)):
            again = run_cli("funny", b, "-o", out, *model)
            assert again.exit_code == 2
            assert again.stderr.strip() == (
                f"probe: error: {out} is not empty: add --resume to continue the run it "
                "holds, or --overwrite to replace it"
            )
            assert out.read_bytes() == yesterday
        assert len(server.requests) == calls
        # --overwrite whose model fails to open: nothing replaced the file, so it stays
        failed = run_cli("funny", b, "-o", out, "--overwrite", "--model", "local/no-such-model")
        assert failed.exit_code == 2 and out.read_bytes() == yesterday
        replaced = run_cli("funny", b, "-o", out, "--overwrite", *remote_args(server.base_url))
    assert replaced.exit_code == 0, replaced.stderr
    assert [r["id"] for r in file_records(out)] == [str(b)]


def test_overwrite_empties_the_file_only_when_a_record_is_ready(tmp_path):
    d = tmp_path / "scenes"
    a = scene(d, "a.txt")
    out = tmp_path / "out.jsonl"
    out.write_text('{"yesterday": "results"}\n')
    with ScriptedServer(slowly(30)) as server:
        proc = probe_process("funny", a, "-o", out, "--overwrite", *remote_args(server.base_url))
        deadline = time.monotonic() + 60
        while not server.requests:  # it is running, waiting for its first reply
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.kill()
        proc.communicate()
    assert out.read_text() == '{"yesterday": "results"}\n'


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    yield
    os.umask(old)


def test_the_rewrite_keeps_the_files_mode_and_a_new_file_honours_the_umask(tmp_path, umask_027):
    d = tmp_path / "scenes"
    a, b = scene(d, "a.txt"), scene(d, "b.txt")
    new, shared = tmp_path / "new.jsonl", tmp_path / "shared.jsonl"
    with ScriptedServer(steady_model) as server:
        assert run_cli("funny", a, "-o", new, *remote_args(server.base_url)).exit_code == 0
        assert run_cli("funny", a, "-o", shared, *remote_args(server.base_url)).exit_code == 0
        shared.chmod(0o664)  # group-writable, as a team directory wants it
        resumed = run_cli("funny", a, b, "-o", shared, "--resume", *remote_args(server.base_url))
    assert resumed.exit_code == 0
    assert stat.S_IMODE(new.stat().st_mode) == 0o640  # 0666 less the umask 027
    assert stat.S_IMODE(shared.stat().st_mode) == 0o664
    assert len(file_records(shared)) == 2


def test_a_symlinked_output_stays_a_symlink_and_its_target_is_written(tmp_path):
    d = tmp_path / "scenes"
    a, b = scene(d, "a.txt"), scene(d, "b.txt")
    target = tmp_path / "archive" / "run.jsonl"
    target.parent.mkdir()
    link = tmp_path / "latest.jsonl"
    link.symlink_to(target)
    with ScriptedServer(steady_model) as server:
        first = run_cli("funny", a, "-o", link, *remote_args(server.base_url))
        resumed = run_cli("funny", a, b, "-o", link, "--resume", *remote_args(server.base_url))
    assert first.exit_code == resumed.exit_code == 0, first.stderr + resumed.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert sorted(r["id"] for r in file_records(target)) == [str(a), str(b)]
    assert "1 already done" in resumed.stderr
    assert leftovers(tmp_path) == leftovers(target.parent) == []


def test_inputs_with_the_same_bytes_are_one_record_each(tmp_path):
    d = tmp_path / "scenes"
    for name in ("a.txt", "b.txt", "c.txt"):
        scene(d, name, "The groom circles the string quartet twice.\n")
    scene(d, "d.txt")
    out = tmp_path / "out.jsonl"
    with ScriptedServer(steady_model) as server:
        first = run_cli("funny", d, "-o", out, *remote_args(server.base_url))
        resumed = run_cli("funny", d, "-o", out, "--resume", *remote_args(server.base_url))
    assert first.exit_code == resumed.exit_code == 0
    assert "4 probed" in first.stderr
    recs = file_records(out)
    assert sorted(r["id"] for r in recs) == [
        str(d / n) for n in ("a.txt", "b.txt", "c.txt", "d.txt")
    ]
    assert len({r["key"] for r in recs}) == 4
    assert "0 probed, 4 already done" in resumed.stderr


def surrogate_model(payload, n):
    """Replies holding an unpaired surrogate, as a broken server's JSON ("\\ud800") can."""
    prefill = prefill_of(payload)
    if prefill:
        return Reply(prefill + " because \ud800 nothing in it is unexpected.")
    return Reply("Yes. Something \ud800 unexpected happens.")


def test_lone_surrogates_and_non_utf8_file_names_are_escaped_not_fatal(tmp_path):
    d = tmp_path / "scenes"
    scene(d, "plain.txt")
    odd = os.fsencode(d) + b"/caf\xe9.txt"  # a Latin-1 file name: not UTF-8
    with open(odd, "w") as fh:
        fh.write("A cat sits in a cake box.\n")
    out = tmp_path / "out.jsonl"
    with ScriptedServer(surrogate_model) as server:
        # --no-cache: what is tested is the record writer (the cache is a separate matter)
        args = ["funny", d, "--no-cache", *remote_args(server.base_url)]
        to_file = probe_process(*args, "-o", out)
        to_stdout = probe_process(*args, "--jsonl")
        _, file_err = to_file.communicate(timeout=120)
        stdout, stdout_err = to_stdout.communicate(timeout=120)
    assert to_file.returncode == 0, file_err.decode()
    assert to_stdout.returncode == 0, stdout_err.decode()
    for raw in (out.read_bytes(), stdout):
        recs = [json.loads(line) for line in raw.decode("utf-8").splitlines()]  # strict UTF-8
        assert sorted(os.fsencode(r["id"]) for r in recs) == sorted(
            [odd, os.fsencode(d / "plain.txt")]
        )
        assert all(records.succeeded(r) for r in recs)
        assert all("\ud800" in r["variants"]["decide-first"]["raw"] for r in recs)
        assert b"\\ud800" in raw and b"\\udce9" in raw


def test_a_record_the_output_cannot_take_becomes_that_inputs_error(tmp_path):
    d = tmp_path / "scenes"
    scene(d, "a.txt", "A plain scene.\n")
    scene(d, "b.txt", "A scene with a cafe.\n")

    def model(payload, n):
        r = steady_model(payload, n)
        if "cafe" in str(payload["messages"]):
            r.content = (r.content or "") + " Très drôle."
        return r

    with ScriptedServer(model) as server:
        # stdout that takes ASCII only: the record of b cannot be written there
        proc = probe_process(
            "funny", d, "--jsonl", *remote_args(server.base_url), env={"PYTHONIOENCODING": "ascii"}
        )
        stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 1, stderr.decode()
    recs = {r["id"]: r for r in map(json.loads, stdout.decode("ascii").splitlines())}
    assert sorted(recs) == [str(d / "a.txt"), str(d / "b.txt")]
    assert records.succeeded(recs[str(d / "a.txt")])
    error = recs[str(d / "b.txt")]["error"]
    assert error["type"] == "output"
    assert "could not be written: UnicodeEncodeError" in error["message"]
    assert "Traceback" not in stderr.decode()


def test_records_keyed_before_ids_were_in_the_key_still_count(tmp_path):
    """A file written before the key held the input's id: its successful inputs are done, and
    a new record of the same input replaces its old one instead of adding a second."""
    from probe.records.run_file import RunFile, one_per_input

    old_key = "0" * 32
    ok = {"key": old_key, "id": "a.txt", "variants": {}, "error": None}
    failed = {"key": "1" * 32, "id": "b.txt", "variants": {}, "error": {"type": "x"}}
    retried = {**failed, "key": records.input_key("1" * 32, "b.txt"), "error": None}
    out = tmp_path / "old.jsonl"
    out.write_text("".join(records.dumps(r) + "\n" for r in (ok, failed)))
    run = RunFile(out, resume=True)
    assert records.input_key(old_key, "a.txt") in run.done
    assert records.input_key("1" * 32, "b.txt") not in run.done
    run.write(retried)
    run.close()
    assert file_records(out) == [ok, retried]
    assert one_per_input([ok, retried, failed]) == [ok, retried]


def test_the_final_rewrite_streams_records_instead_of_holding_them(tmp_path):
    """Closing a run file of 2,200 records (9 MB) allocates under a quarter of the file's size at
    its peak (measured: about a tenth; reading them all at once, as it once did, took more than
    the file's size): records are read one at a time, and only a summary of each (key, id,
    success) and its line's offset are kept. The file keeps one record per input, the success
    where an input has one, in the order first seen."""
    import tracemalloc

    from probe.records.run_file import RunFile

    def record(i, ok):
        text = f"explanation {i} " + "word " * 400
        variant = {"answer": "yes", "explanation": text, "raw": text, "error": None}
        return {"key": f"{i:032x}", "id": f"{i}.txt", "variants": {"decide-first": variant}} | {
            "error": None if ok else {"type": "x", "message": "failed"}
        }

    out = tmp_path / "big.jsonl"
    run = RunFile(out, resume=False)
    for i in range(2000):
        run.write(record(i, ok=i % 10 != 3))
    for i in range(3, 2000, 10):  # the failed ones retried, and succeeding
        run.write(record(i, ok=True))
    run.write(record(0, ok=False))  # a later failure never replaces an earlier success
    size = out.stat().st_size
    tracemalloc.start()
    try:
        run.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < size / 4, (peak, size)
    kept = file_records(out)
    assert [r["key"] for r in kept] == [f"{i:032x}" for i in range(2000)]
    assert all(r["error"] is None for r in kept)


def test_a_usage_error_found_after_the_model_is_opened_leaves_no_lock_file(tmp_path):
    """An unknown --embed-model is found only when the embedder is opened, after the model; the
    run stops with exit 2 and the run file's directory holds no .lock left behind."""
    d = tmp_path / "scenes"
    scene(d, "a.txt")
    out = tmp_path / "runs" / "out.jsonl"
    with ScriptedServer(steady_model) as server:
        result = run_cli(
            "funny",
            d,
            "-o",
            out,
            "--align",
            "--embed-model",
            "local/nope",
            *remote_args(server.base_url),
        )
    assert result.exit_code == 2, result.stderr
    assert "unknown local embedding model 'local/nope'" in result.stderr
    assert not out.parent.exists() or leftovers(out.parent) == []
    assert not out.exists() or out.stat().st_size == 0
