"""Hostile inputs: files that are not files, files that point elsewhere, files too large to read,
images too large to decode at once. Each ends as one line and (if named) one record, quickly.

Runs that could hang on a regression (a FIFO, /dev/zero) go through the real CLI in a subprocess
with a timeout, so a hang fails the test instead of stalling the suite.
"""

import io
import json
import os
import subprocess
import sys
import time
import tracemalloc

import pytest

from probe.errors import InputError
from probe.inputs.load import load_input
from probe.inputs.sources import collect
from tests.conftest import ROOT
from tests.helpers import records_of, run_cli
from tests.scripted_server import ScriptedServer, last_user_text, steady_model

KEY = "sk-test-hostile-0123456789"
SCENE = "A dog in a tuxedo officiates a wedding.\n"


def remote(base):
    return ["--model", "openai/scripted", "--api-base", base, "--api-key", KEY, "--timeout", "5"]


def probe_subprocess(*args, timeout=60):
    """The real CLI in its own process; a hang fails the test at `timeout` and kills probe."""
    cmd = [sys.executable, "-m", "probe", *map(str, args)]
    try:
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"probe hung for {timeout} s: {' '.join(cmd)}")


def records(stdout):
    return {r["id"]: r for r in map(json.loads, stdout.splitlines())}


def sent(server):
    return "\n".join(last_user_text(payload) for payload in server.requests)


# --- files that are not files --------------------------------------------------------------


def test_fifos_devices_and_symlink_loops_in_a_directory_are_skipped_with_a_line_each(tmp_path):
    d = tmp_path / "scenes"
    d.mkdir()
    (d / "good.txt").write_text(SCENE)
    os.mkfifo(d / "pipe.txt")  # nobody ever writes to it: opening it to read would wait forever
    (d / "zero.txt").symlink_to("/dev/zero")  # reading it never ends
    (d / "loop.txt").symlink_to(d / "loop.txt")
    with ScriptedServer(steady_model) as server:
        result = probe_subprocess("funny", d, "--jsonl", *remote(server.base_url))

    assert result.returncode == 0, result.stderr
    assert list(records(result.stdout)) == [str(d / "good.txt")]
    lines = result.stderr.splitlines()
    for name, what in [
        ("pipe.txt", "a FIFO (named pipe), not a regular file; skipped"),
        ("zero.txt", "a character device, not a regular file; skipped"),
        ("loop.txt", "a symlink loop; skipped"),
    ]:
        assert [line for line in lines if name in line] == [f"probe: {d / name}: {what}"]
    assert "skipped 3 file(s)" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_fifo_or_dev_zero_named_as_an_input_is_one_error_record_not_a_hang(tmp_path):
    pipe = tmp_path / "pipe.txt"
    os.mkfifo(pipe)
    good = tmp_path / "good.txt"
    good.write_text(SCENE)
    with ScriptedServer(steady_model) as server:
        result = probe_subprocess(
            "funny", "/dev/zero", pipe, good, "--jsonl", *remote(server.base_url)
        )

    assert result.returncode == 1, result.stderr
    recs = records(result.stdout)
    assert set(recs) == {"/dev/zero", str(pipe), str(good)}
    assert recs[str(good)]["error"] is None
    assert (
        "/dev/zero: a character device, not a regular file" in recs["/dev/zero"]["error"]["message"]
    )
    assert f"{pipe}: a FIFO (named pipe), not a regular file" in recs[str(pipe)]["error"]["message"]
    errors = [line for line in result.stderr.splitlines() if line.startswith("probe: error:")]
    assert len(errors) == 2


def test_hidden_files_are_skipped_and_counted(tmp_path):
    d = tmp_path / "photos"
    d.mkdir()
    (d / "scene.txt").write_text(SCENE)
    (d / ".draft.txt").write_text("Not for probing.\n")
    (d / "._scene.txt").write_bytes(b"\x00\x05\x16\x07 macOS metadata")
    (d / "notes.md").write_text("# notes\n")
    with ScriptedServer(steady_model) as server:
        result = run_cli("funny", d, "-o", tmp_path / "out.jsonl", *remote(server.base_url))

    assert result.exit_code == 0, result.stderr
    assert "skipped 3 file(s)" in result.stderr
    assert "1 probed, 0 already done, 0 failed, 3 files skipped" in result.stderr
    assert "Not for probing" not in sent(server)


# --- JSONL records that point elsewhere ----------------------------------------------------


def test_a_jsonl_file_may_name_files_only_inside_its_own_directory(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "scene.txt").write_text(SCENE)
    secret = tmp_path / "secret.txt"
    secret.write_text("The launch code is 0000.\n")
    (data / "link.txt").symlink_to(secret)
    (data / "run.jsonl").write_text(
        "\n".join(
            json.dumps(record)
            for record in [
                {"id": "inside", "path": "scene.txt"},
                {"id": "up", "path": "../secret.txt"},
                {"id": "passwd", "path": "../../../../../../etc/passwd"},
                {"id": "absolute", "path": str(secret)},
                {"id": "image", "image": "../secret.txt"},
                {"id": "link", "path": "link.txt"},
            ]
        )
        + "\n"
    )
    with ScriptedServer(steady_model) as server:
        refused = run_cli("funny", data / "run.jsonl", "--jsonl", *remote(server.base_url))
        assert "launch code" not in sent(server) and "root:" not in sent(server)
        allowed = run_cli(
            "funny", data / "run.jsonl", "--jsonl", "--allow-outside", *remote(server.base_url)
        )

    recs = {r["id"]: r for r in records_of(refused)}
    assert refused.exit_code == 1
    assert recs["inside"]["error"] is None
    for name, field, value in [
        ("up", "path", "../secret.txt"),
        ("passwd", "path", "../../../../../../etc/passwd"),
        ("absolute", "path", str(secret)),
        ("image", "image", "../secret.txt"),
        ("link", "path", "link.txt"),
    ]:
        message = recs[name]["error"]["message"]
        assert f"({name}): {field} {value} is outside {data}, the JSONL file's directory" in message
        assert "pass --allow-outside to read it" in message
    recs = {r["id"]: r for r in records_of(allowed)}
    assert all(record["error"] is None for record in recs.values())
    assert allowed.exit_code == 0


# --- too large ------------------------------------------------------------------------------


def test_a_200_mb_text_file_is_too_large_before_it_is_read(tmp_path):
    big = tmp_path / "big.txt"
    with big.open("wb") as f:  # sparse: 200 MB that take no disk
        f.truncate(200_000_000)
    good = tmp_path / "good.txt"
    good.write_text(SCENE)
    started = time.monotonic()
    with ScriptedServer(steady_model) as server:
        result = run_cli("funny", big, good, "--jsonl", *remote(server.base_url))

    assert time.monotonic() - started < 20
    recs = {r["id"]: r for r in records_of(result)}
    assert recs[str(good)]["error"] is None
    assert recs[str(big)]["error"]["message"] == (
        f"{big}: too large (200,000,000 bytes; the limit is 20,000,000 bytes); "
        "raise --max-input-bytes to read it"
    )
    assert result.exit_code == 1

    tracemalloc.start()
    try:
        with pytest.raises(InputError, match="too large"):
            load_input(big)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # nothing of it was read


def test_max_input_bytes_sets_the_limit(tmp_path):
    scene = tmp_path / "scene.txt"
    scene.write_text(SCENE * 50)  # 2,000 bytes
    with ScriptedServer(steady_model) as server:
        small = run_cli(
            "funny", scene, "--jsonl", "--max-input-bytes", "1000", *remote(server.base_url)
        )
        enough = run_cli(
            "funny", scene, "--jsonl", "--max-input-bytes", "2000", *remote(server.base_url)
        )

    [record] = records_of(small)
    assert "too large (2,000 bytes; the limit is 1,000 bytes)" in record["error"]["message"]
    assert enough.exit_code == 0, enough.stderr
    assert "--max-input-bytes" in run_cli("ask", "--help").stdout


def test_a_100_mb_jsonl_line_is_too_large_and_the_next_line_still_runs(tmp_path):
    run = tmp_path / "run.jsonl"
    with run.open("w") as f:
        f.write('{"id": "huge", "text": "' + "ha" * 50_000_000 + '"}\n')
        f.write(json.dumps({"id": "next", "text": SCENE}) + "\n")
    with ScriptedServer(steady_model) as server:
        result = run_cli("funny", run, "--jsonl", *remote(server.base_url))

    recs = {r["id"]: r for r in records_of(result)}
    assert set(recs) == {f"{run} line 1", "next"}
    assert recs["next"]["error"] is None
    assert recs[f"{run} line 1"]["error"]["message"] == (
        f"{run} line 1: too large (more than 20,000,000 bytes; the limit is 20,000,000 bytes); "
        "raise --max-input-bytes to read it"
    )


@pytest.mark.parametrize("source", ["file", "stdin"])
def test_a_jsonl_line_is_read_no_further_than_the_limit(tmp_path, source):
    huge = '{"id": "huge", "text": "' + "ha" * 15_000_000 + '"}\n'  # 30 MB
    rest = json.dumps({"id": "next", "text": SCENE}) + "\n"
    run = tmp_path / "run.jsonl"
    if source == "file":
        run.write_text(huge + rest)
    stdin = io.StringIO(huge + rest)
    del huge

    tracemalloc.start()
    try:
        collected = collect(
            [str(run)] if source == "file" else ["-"], stdin, max_input_bytes=1_000_000
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    first, second = collected.items
    assert "too large (more than 1,000,000 bytes" in first.error.message
    assert second.id == "next" and second.error is None
    assert peak < 5_000_000  # a few times the limit, never the 30 MB line


# --- images ---------------------------------------------------------------------------------

MEASURE = """
import resource, sys, threading
from probe.inputs.load import load_input
import PIL.Image
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
threads = [threading.Thread(target=load_input, args=(path,)) for path in sys.argv[1:]]
for t in threads:
    t.start()
for t in threads:
    t.join()
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)
"""


def test_large_images_decode_one_at_a_time_within_one_decodes_memory(tmp_path):
    from PIL import Image

    side = 6400  # 41 megapixels: 164 MB decoded (RGBA), half Pillow's bomb limit
    first = tmp_path / "poster-0.png"
    Image.new("RGBA", (side, side), (200, 30, 30, 128)).save(first)
    second = tmp_path / "poster-1.png"
    second.write_bytes(first.read_bytes())

    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(first), str(second)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    decoded = side * side * 4
    # Two at once, as --concurrency 2 would load them: one full decode and its shrunk copy.
    # (Before: each held several full-size copies at once, ~1.9 GB in all.)
    peak = int(out.stdout)
    print(f"peak {peak / 1e6:.0f} MB for {decoded / 1e6:.0f} MB decoded")
    assert peak < 1.6 * decoded


# --- an input taken for the question ----------------------------------------------------------


def test_ask_refuses_an_existing_path_as_its_question(tmp_path):
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text(SCENE)
    second.write_text(SCENE)

    result = run_cli("ask", first, second, "--jsonl")

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"probe: error: '{first}' is an existing path, not a question: put the question first, "
        f'in quotes (probe ask "Is this sarcastic?" {first} ...), or use --task\n'
    )
