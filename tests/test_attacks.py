"""Issue 21: the attacks an attack test of 96 cases found unheld, and the errors a newcomer met.

Each test fails on the code before the fix. Runs go through the command line against servers on
127.0.0.1: tests/scripted_server.py stands for an OpenAI-compatible chat server (each test says
which behaviour of a real server it scripts), tests/batch_server.py for OpenAI's Batch API; the
embedded model is the real SmolLM2 run in-process.
"""

import base64
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from tests.batch_server import BatchServer
from tests.conftest import ROOT
from tests.helpers import file_records, record, run, run_cli
from tests.scripted_server import Reply, ScriptedServer, steady_model

KEY = "sk-attack-NEVERSTORED-0123456789"


def remote(server, *more):
    return ["--model", "openai/scripted", "--api-base", server.base_url, "--api-key", KEY, *more]


def scenes(tmp_path, count=3, name="scenes"):
    folder = tmp_path / name
    folder.mkdir()
    for i in range(count):
        (folder / f"s{i}.txt").write_text(f"Scene {i}: a dog chases its own tail.\n")
    return folder


def probe_process(*args, **kwargs):
    """`python -m probe ARGS` as a process of its own (a real stdout, signals, a session)."""
    return subprocess.Popen(
        [sys.executable, "-m", "probe", *map(str, args)],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=kwargs.pop("stdout", subprocess.PIPE),
        stderr=subprocess.PIPE,
        **kwargs,
    )


# --- 1. a batch state file is bound to the run file it sits beside ---


def _waiting_batch_run(server, tmp_path):
    """A --batch-api run whose batch is still running: its run file and state file."""
    out = tmp_path / "a.jsonl"
    result = run_cli("funny", scenes(tmp_path), "-o", out, "--batch-api", *remote(server))
    assert result.exit_code == 0, result.stderr
    return out, tmp_path / "a.jsonl.batch.json"


def test_collect_never_writes_where_a_copied_or_edited_state_file_points(tmp_path):
    """The batch server stands for OpenAI's Batch API with a batch that has not ended."""
    victim = tmp_path / "notes.txt"
    victim.write_text("a text file of someone's own\nsecond line\n")
    with BatchServer(steady_model, polls=5) as server:
        out, state = _waiting_batch_run(server, tmp_path)
        original = state.read_bytes()

        # Copied beside another run file, its `output` edited to point at the text file.
        data = json.loads(original)
        data["output"] = str(victim)
        copy = tmp_path / "b.jsonl.batch.json"
        copy.write_text(json.dumps(data))
        result = run_cli("batch", "collect", tmp_path / "b.jsonl", "--api-key", KEY)
        assert result.exit_code == 2
        assert "copied or edited" in result.stderr and result.stderr.count("\n") == 1
        # Copied unchanged: it names a.jsonl, which is not the file it sits beside.
        shutil.copy(state, copy)
        assert run_cli("batch", "collect", tmp_path / "b.jsonl", "--api-key", KEY).exit_code == 2
        assert run_cli("batch", "status", copy, "--api-key", KEY).exit_code == 2

        # Its own state file, edited in place to point elsewhere.
        state.write_text(json.dumps(data))
        result = run_cli("batch", "collect", out, "--api-key", KEY)
        assert result.exit_code == 2 and "copied or edited" in result.stderr
        edited = json.loads(original)
        edited["output"] = "../elsewhere/a.jsonl"  # the same name elsewhere: never used
        state.write_text(json.dumps(edited))
        server.polls = 0
        server.batches["batch_1"].polls_left = 0
        for _ in range(4):
            if state.exists():
                assert run_cli("batch", "collect", out, "--api-key", KEY).exit_code == 0
        assert not state.exists() and len(file_records(out)) == 3
    assert victim.read_text() == "a text file of someone's own\nsecond line\n"
    assert not (tmp_path / "b.jsonl").exists() and not (tmp_path.parent / "elsewhere").exists()


def test_resume_refuses_a_state_file_copied_beside_another_run_file(tmp_path):
    """The batch server stands for OpenAI's Batch API with a batch that has not ended."""
    with BatchServer(steady_model, polls=5) as server:
        out, state = _waiting_batch_run(server, tmp_path)
        other = tmp_path / "b.jsonl"
        shutil.copy(state, tmp_path / "b.jsonl.batch.json")
        result = run_cli(
            "funny", tmp_path / "scenes", "-o", other, "--resume", "--batch-api", *remote(server)
        )
        assert result.exit_code == 2 and "copied or edited" in result.stderr
        assert len(server.batches) == 1


# --- 2. --resume refuses a run file holding lines that are not records ---


def test_resume_refuses_a_run_file_with_a_note_in_it_and_leaves_it_as_it_was(tmp_path):
    """The scripted server stands for a model that says Yes and defends a forced answer."""
    folder = scenes(tmp_path)
    out = tmp_path / "run.jsonl"
    with ScriptedServer(steady_model) as server:
        assert run_cli("funny", folder, "-o", out, *remote(server)).exit_code == 0
        first, *rest = out.read_bytes().splitlines(keepends=True)
        out.write_bytes(first + b"my note: model changed on Tuesday\n" + b"".join(rest))
        before = out.read_bytes()
        calls = len(server.requests)
        result = run_cli("funny", folder, "-o", out, "--resume", *remote(server))
        assert result.exit_code == 2
        assert f"{out}: line 2 is not a probe record (not JSON)" in result.stderr
        assert out.read_bytes() == before and len(server.requests) == calls

        # A text file named by mistake: refused whole, not cut to one line of it.
        notes = tmp_path / "notes.txt"
        notes.write_text("first line\nsecond line\nlast line without newline")
        result = run_cli("funny", folder, "-o", notes, "--resume", *remote(server))
        assert result.exit_code == 2 and "line 1 is not a probe record" in result.stderr
        assert "torn" not in result.stderr
        assert notes.read_text() == "first line\nsecond line\nlast line without newline"
        # A JSON line that is not a record is not one either.
        out.write_bytes(b"".join([first, b'{"note": "kept by hand"}\n', *rest]))
        result = run_cli("funny", folder, "-o", out, "--resume", *remote(server))
        assert result.exit_code == 2 and "a JSON object without a record's key" in result.stderr


def test_a_torn_last_record_is_still_cut_and_blank_lines_are_no_reason_to_refuse(tmp_path):
    """The scripted server stands for a model that says Yes and defends a forced answer."""
    folder = scenes(tmp_path)
    out = tmp_path / "run.jsonl"
    with ScriptedServer(steady_model) as server:
        assert run_cli("funny", folder, "-o", out, *remote(server)).exit_code == 0
        lines = out.read_bytes().splitlines(keepends=True)
        out.write_bytes(lines[0] + b"\n" + lines[1] + lines[2][: len(lines[2]) // 2])
        result = run_cli("funny", folder, "-o", out, "--resume", *remote(server))
        assert result.exit_code == 0, result.stderr
        assert "cut a torn last line" in result.stderr
    assert len(file_records(out)) == 3


def test_a_line_written_into_the_run_file_during_a_run_stops_the_final_rewrite(tmp_path):
    from probe.records.run_file import RunFile

    out = tmp_path / "run.jsonl"
    warnings = []
    runfile = RunFile(out, resume=True, warn=warnings.append)
    runfile.write(record("a", {"decide-first": run("yes")}) | {"key": "k-a"})
    with out.open("ab") as fh:  # someone else's line, appended as the run went on
        fh.write(b"note: do not lose me\n")
    runfile.write(record("b", {"decide-first": run("no")}) | {"key": "k-b"})
    runfile.close()
    assert b"note: do not lose me\n" in out.read_bytes()
    assert warnings and "not rewritten" in warnings[0]


# --- 3. keys a server echoes back are stored nowhere ---


def test_a_key_a_server_echoes_in_its_reply_is_kept_out_of_records_and_cache(tmp_path, monkeypatch):
    """The scripted server stands for a misconfigured proxy or debug endpoint that answers with
    the request's Authorization header in the reply text (a 200, not an error)."""
    env_key = "anthropic-env-secret-value-42"
    monkeypatch.setenv("ANTHROPIC_API_KEY", env_key)
    holder = {}

    def echo(payload, n):
        auth = holder["server"].headers[-1].get("Authorization", "")  # the SDK road: httpx
        return Reply(f"Yes. Your header was {auth!r}; env {env_key}; it is funny.")

    out = tmp_path / "run.jsonl"
    with ScriptedServer(echo) as server:
        holder["server"] = server
        result = run_cli("funny", scenes(tmp_path, 1), "-o", out, *remote(server))
        assert result.exit_code == 0, result.stderr
        assert KEY in server.headers[0]["Authorization"]  # it was sent, to the server only
    # (The HTML page is made from the run file's records alone: what they lack it cannot show.)
    stored = [out.read_bytes()]
    stored += [p.read_bytes() for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    for blob in stored:
        assert KEY.encode() not in blob and env_key.encode() not in blob
    assert "[redacted]" in out.read_text()
    db = sqlite3.connect(tmp_path / "cache" / "responses.sqlite3")
    values = " ".join(v for (v,) in db.execute("SELECT value FROM responses"))
    assert KEY not in values and "[redacted]" in values


def test_a_key_echoed_in_a_batch_reply_is_kept_out_of_records_and_cache(tmp_path):
    """The batch server stands for OpenAI's Batch API whose replies quote the request's
    Authorization header."""
    holder = {}

    def echo(payload, n):
        return Reply(f"Yes, {holder['server'].authorizations[-1]} saw it.")

    out = tmp_path / "run.jsonl"
    with BatchServer(echo, polls=0) as server:
        holder["server"] = server
        folder = scenes(tmp_path, 1)
        assert run_cli("funny", folder, "-o", out, "--batch-api", *remote(server)).exit_code == 0
        for _ in range(4):
            if os.path.exists(f"{out}.batch.json"):
                assert run_cli("batch", "collect", out, "--api-key", KEY).exit_code == 0
    assert len(file_records(out)) == 1
    assert KEY not in out.read_text()
    for path in (tmp_path / "cache").rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes()


# --- 6. credentials in a Router deployment's URL ---


def test_a_router_deployment_with_credentials_in_its_url_works(tmp_path):
    """Two scripted servers stand for OpenAI-compatible servers behind a reverse proxy that takes
    HTTP Basic credentials written into the URL (as the single --api-base road sends them)."""
    password = "hunter2hunter2"
    expected = "Basic " + base64.b64encode(f"user:{password}".encode()).decode()
    with ScriptedServer(steady_model) as one, ScriptedServer(steady_model) as two:
        bases = [s.base_url.replace("http://", f"http://user:{password}@") for s in (one, two)]
        config = tmp_path / "router.yaml"
        config.write_text(
            "model_list:\n"
            + "".join(
                f"  - model_name: m\n    litellm_params: {{model: openai/m, api_base: '{b}'}}\n"
                for b in bases
            )
        )
        out = tmp_path / "run.jsonl"
        folder = scenes(tmp_path)
        result = run_cli("funny", folder, "--router", config, "-o", out, "--retries", "0")
        assert result.exit_code == 0, result.stderr
        several = run_cli(
            "funny",
            folder,
            "--model",
            "openai/m",
            *[x for b in bases for x in ("--api-base", b)],
            "--jsonl",
            "--retries",
            "0",
            "--no-cache",
        )
        assert several.exit_code == 0, several.stderr
        headers = one.headers + two.headers
        sent = {v for h in headers for k, v in h.items() if k.lower() == "authorization"}
        assert len(headers) >= 2 * 3 * 2 and sent == {expected}
    assert password not in out.read_text() + result.stderr + several.stdout + several.stderr
    assert len(file_records(out)) == 3


# --- 8. duplicate ids and unknown batch ids are named ---


def test_two_inputs_sharing_an_id_are_named(tmp_path):
    """The scripted server stands for a model that says Yes."""
    data = tmp_path / "data.jsonl"
    data.write_text(
        '{"id": "q1", "text": "A cat sits."}\n'
        '{"id": "q2", "text": "A dog runs."}\n'
        '{"id": "q1", "text": "A bird sings."}\n'
    )
    with ScriptedServer(steady_model) as server:
        result = run_cli("funny", data, "--variants", "decide-first", *remote(server))
    assert result.exit_code == 0, result.stderr
    assert (
        f"id 'q1' is given to 2 inputs ({data} line 1, {data} line 3): their records share it"
        in " ".join(result.stderr.split())
    )
    assert "'q2'" not in result.stderr


def test_an_unknown_batch_id_is_named_by_status_and_collect(tmp_path):
    """The batch server stands for OpenAI's Batch API, which answers 404 for a batch it never
    made (the state file's batch id was edited)."""
    with BatchServer(steady_model, polls=5) as server:
        out, state = _waiting_batch_run(server, tmp_path)
        data = json.loads(state.read_text())
        data["batches"][0]["id"] = "batch_999"
        state.write_text(json.dumps(data))
        shown = run_cli("batch", "status", out, "--api-key", KEY)
        assert shown.exit_code == 1
        assert "batch batch_999: the provider has no such batch" in shown.stderr
        result = run_cli("batch", "collect", out, "--api-key", KEY)
        assert result.exit_code == 1
        assert "batch batch_999: the provider has no such batch" in result.stderr
        assert "still running" not in result.stderr
        assert json.loads(state.read_text())["batches"][0]["id"] == "batch_999"
        assert len(server.batches) == 1  # nothing submitted again, nothing paid twice


def test_a_state_file_edited_to_name_another_server_never_sends_it_the_key(tmp_path):
    """Two batch servers stand for OpenAI's Batch API (where the run's batch went) and a server
    of someone else's, whose URL was written into the run's state file as its --api-base. Without
    the user naming that server with --api-base, the key never reaches it."""
    with BatchServer(steady_model, polls=5) as real, BatchServer(steady_model, polls=0) as other:
        out, state = _waiting_batch_run(real, tmp_path)
        original = json.loads(state.read_text())
        for fields in ({"api_base"}, {"api_base", "endpoint"}):
            data = json.loads(json.dumps(original))
            data["config"]["api_base"] = other.base_url
            if "endpoint" in fields:
                data["endpoint"] = other.base_url
            state.write_text(json.dumps(data))
            for command in ("status", "collect"):
                result = run_cli("batch", command, out, "--api-key", KEY)
                assert result.exit_code == 2, (command, result.stderr)
                [line] = result.stderr.strip().splitlines()
                assert f"--api-base {other.base_url}" in line and str(state) in line, line
        # A router or a judge server written into it: refused even with --api-base.
        for name, value in (("judge_api_base", other.base_url), ("router", "other.yaml")):
            data = json.loads(json.dumps(original))
            data["config"][name] = value
            state.write_text(json.dumps(data))
            result = run_cli("batch", "collect", out, "--api-key", KEY, "--api-base", real.base_url)
            assert result.exit_code == 2 and name in result.stderr, result.stderr
        assert other.authorizations == [] and other.batches == {}

        # The user names the run's own server: the edit is undone, the batch collected there.
        data = json.loads(json.dumps(original))
        data["config"]["api_base"] = other.base_url
        state.write_text(json.dumps(data))
        real.polls = 0
        real.batches["batch_1"].polls_left = 0
        result = run_cli("batch", "collect", out, "--api-key", KEY, "--api-base", real.base_url)
        assert result.exit_code == 0, result.stderr
        assert json.loads(state.read_text())["config"]["api_base"] == real.base_url
        for _ in range(4):  # sealed again by this collect: no --api-base needed from here
            if state.exists():
                assert run_cli("batch", "collect", out, "--api-key", KEY).exit_code == 0
        assert not state.exists() and len(file_records(out)) == 3
        assert other.authorizations == [] and other.batches == {}


# --- a newcomer's errors ---


def _in_fresh_process(*args):
    """Run probe in-process in a fresh interpreter: exit code, stderr, whether LiteLLM was
    imported."""
    code = (
        "import sys; from typer.testing import CliRunner; from probe.cli.app import app; "
        f"r = CliRunner().invoke(app, {list(map(str, args))!r}); "
        "print(r.exit_code); print('litellm' in sys.modules); print(r.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    exit_code, imported, stderr = done.stdout.split("\n", 2)
    return int(exit_code), imported == "True", stderr


def test_a_bad_model_string_is_a_usage_error_before_litellm_is_imported(tmp_path):
    scene = tmp_path / "a.txt"
    scene.write_text("A cat falls off a table.\n")
    started = time.monotonic()
    code, imported, stderr = _in_fresh_process("funny", scene, "--model", "gpt4o-mini")
    assert code == 2 and not imported, stderr
    assert "did you mean openai/gpt-4o-mini?" in stderr and "provider/model" in stderr
    assert time.monotonic() - started < 30
    code, imported, stderr = _in_fresh_process(
        "funny", scene, "--judge", "claude-nonsense", "--model", "openai/x", "--api-base", "u"
    )
    assert code == 2 and not imported and "--judge claude-nonsense" in stderr
    # A bare name LiteLLM knows by itself is still LiteLLM's to open (here: no key for it).
    code, imported, stderr = _in_fresh_process("funny", scene, "--model", "gpt-4o-mini")
    assert code == 2 and "needs an API key" in stderr


def test_report_on_a_text_file_or_an_empty_file_is_one_clear_error(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("".join(f"line {i}\n" for i in range(50)))
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    for path, why in ((text, "line 1: not JSON"), (empty, "it is empty")):
        result = run_cli("report", path)
        assert result.exit_code == 2
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1
        assert result.stderr.startswith(f"probe: error: {path}: not a file of probe records")
        assert why in result.stderr


def test_report_into_a_closed_pipe_exits_0_quietly(tmp_path):
    runs = tmp_path / "run.jsonl"
    rows = [
        record(f"i{i}", {"decide-first": run("yes"), "explain-first": run("no")}) | {"key": f"k{i}"}
        for i in range(300)
    ]
    runs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    for extra in ([], ["--json"]):
        read, write = os.pipe()
        os.close(read)  # the reader (`| head -1`) is gone before probe writes
        proc = probe_process("report", runs, *extra, stdout=write)
        os.close(write)
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
        assert stderr == b""


def test_skipped_files_are_named_and_verbose_names_them_all(tmp_path):
    """The scripted server stands for a model that says Yes."""
    folder = scenes(tmp_path, 1)
    for i in range(7):
        (folder / f"blob{i}.bin").write_bytes(b"\x00\x01" * 10)
    with ScriptedServer(steady_model) as server:
        args = ("funny", folder, "--variants", "decide-first", *remote(server))
        result = run_cli(*args)
        verbose = run_cli(*args, "--verbose")
    said = " ".join(result.stderr.split())
    assert "skipped 7 file(s)" in said
    assert f"{folder / 'blob0.bin'}, {folder / 'blob1.bin'}" in said
    assert "and 2 more (--verbose names them all)" in said and "blob6.bin" not in said
    assert all(f"blob{i}.bin" in " ".join(verbose.stderr.split()) for i in range(7))


@pytest.mark.parametrize("command", ["funny", "rerun"])
def test_ctrl_c_says_how_many_records_were_kept_and_how_to_resume(tmp_path, command):
    """The scripted server stands for a model that answers the first input at once and then
    takes long enough for the user to press Ctrl-C (and answers at once again after it). `probe
    rerun`, re-sending a run file's requests, says what `probe funny` says; the command it names
    finishes the run."""
    pressed = threading.Event()

    def then_slow(payload, n):
        reply = steady_model(payload, n)
        reply.delay_s = 0 if n == 1 or pressed.is_set() else 30
        return reply

    folder = scenes(tmp_path, 3)
    out = tmp_path / "run.jsonl"
    what = [folder, "-o", out, "--variants", "decide-first"]
    if command == "rerun":
        source = tmp_path / "source.jsonl"
        with ScriptedServer(steady_model) as server:
            made = run_cli(
                "funny", folder, "-o", source, "--variants", "decide-first", *remote(server)
            )
        assert made.exit_code == 0, made.stderr
        what = [source, "-o", out]
    with ScriptedServer(then_slow) as server:
        proc = probe_process(command, *what, "-j", "1", *remote(server))
        deadline = time.monotonic() + 120
        while len(server.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
        pressed.set()
        said = " ".join(stderr.decode().split())
        assert proc.returncode == 130, said
        assert f"interrupted: 1 record(s) kept in {out}" in said
        assert "--resume" in said and KEY not in said
        assert f"probe {command} {what[0]} -o {out}" in said
        assert len(file_records(out)) == 1
        named = said.split("the rest run with: ")[1].removesuffix(" (and --api-key KEY)")
        assert named.split()[-1] == "--resume" and named.split()[0] == "probe"
        resumed = run_cli(*named.split()[1:], "--api-key", KEY)
    assert resumed.exit_code == 0, resumed.stderr
    assert "1 already done" in resumed.stderr
    assert sorted(r["id"] for r in file_records(out)) == sorted(
        str(folder / f"s{i}.txt") for i in range(3)
    )


def _in_a_terminal_session(*commands):
    """Run shell commands one after another in a new terminal session, stderr on a pty (as in a
    terminal): what they wrote there."""
    import pty
    import shlex

    master, slave = pty.openpty()
    script = "; ".join(shlex.join([sys.executable, "-m", "probe", *map(str, c)]) for c in commands)
    shell = subprocess.Popen(
        ["bash", "-c", script],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=slave,
        start_new_session=True,
    )
    os.close(slave)
    said = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every writer has gone
            break
        if not chunk:
            break
        said += chunk
    os.close(master)
    assert shell.wait(timeout=600) == 0, said
    return said.decode(errors="replace")


def test_the_embedded_models_note_once_per_terminal_session_and_never_with_quiet(tmp_path):
    scene = tmp_path / "a.txt"
    scene.write_text("A cat falls off a table.\n")
    args = ["funny", scene, "--variants", "decide-first", "--max-tokens", "8", "--jsonl"]
    # A shell loop: the note once, in the first run of the session.
    said = _in_a_terminal_session(args, args)
    assert said.count("smoke-test quality") == 1, said
    # Another terminal session: once again; with --quiet: never.
    assert _in_a_terminal_session(args).count("smoke-test quality") == 1
    assert "smoke-test quality" not in _in_a_terminal_session([*args, "--quiet"])
    # Where stderr is not a terminal (a log), every run says it.
    first, second = run_cli(*args), run_cli(*args)
    assert first.exit_code == 0 and "smoke-test quality" in first.stderr + second.stderr
    assert "smoke-test quality" in second.stderr


def test_the_summary_names_only_the_measures_that_ran(tmp_path):
    """The scripted server stands for a model that says Yes."""
    folder = scenes(tmp_path, 2)
    with ScriptedServer(steady_model) as server:
        only = run_cli("funny", folder, "--variants", "decide-first", "--jsonl", *remote(server))
        both = run_cli("funny", folder, "--jsonl", *remote(server, "--no-cache"))
    assert only.exit_code == 0 and "inputs 2 probed" in " ".join(only.stderr.split())
    assert "disagree" not in only.stderr
    assert "decide-first and explain-first disagree on 0" in " ".join(both.stderr.split())


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["funny", "d", "-o", "o.jsonl"], "probe funny d -o o.jsonl --resume"),
        (["funny", "d", "-o", "o.jsonl", "--overwrite"], "probe funny d -o o.jsonl --resume"),
        (
            ["ask", "Is it odd?", "d", "-o", "o.jsonl", "--api-key", KEY],
            "probe ask 'Is it odd?' d -o o.jsonl --resume (and --api-key KEY)",
        ),
        (
            ["funny", "d", "-o", "o", "--api-base", "http://u:pw-secret@h/v1"],
            "probe funny d -o o --api-base 'http://[redacted]@h/v1' --resume",
        ),
    ],
)
def test_the_resume_command_keeps_no_key(argv, expected):
    from probe.cli.execute import command_with_resume

    assert command_with_resume(argv) == expected
