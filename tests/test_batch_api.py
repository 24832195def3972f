"""--batch-api through the command line, against tests/batch_server.py: a scripted OpenAI Batch API
on 127.0.0.1 whose batches answer like `steady_model` (tests/scripted_server.py) — a model of
known behaviour that says Yes and continues any prefill it is given, defending the forced answer.
The same model answers direct calls, so a run without batches is the reference."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.batch_server import BatchServer
from tests.conftest import ROOT
from tests.helpers import file_records, records_of, run_cli
from tests.scripted_server import steady_model

KEY = "sk-batchtest-NEVERSHOWN-0123456789"
SCENES = {
    "wedding": "The groom trips over the ring bearer, a dog, who then eats the cake.",
    "tax": "A form asks for income in line 4 and repeats the question in line 5.",
    "queue": "Everyone in the queue is holding the same umbrella, except one child.",
}


@pytest.fixture
def inputs(tmp_path):
    folder = tmp_path / "scenes"
    folder.mkdir()
    for name, text in SCENES.items():
        (folder / f"{name}.txt").write_text(text + "\n")
    return folder


def model_args(server):
    return ["--model", "openai/scripted", "--api-base", server.base_url, "--api-key", KEY]


def submit(server, inputs, out, *extra):
    return run_cli("funny", inputs, "-o", out, "--batch-api", *model_args(server), *extra)


def status(out):
    result = run_cli("batch", "status", out, "--api-key", KEY, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def collect(out):
    result = run_cli("batch", "collect", out, "--api-key", KEY)
    assert result.exit_code == 0, result.stderr
    return result


def collect_until_done(out, limit=8):
    """Collect until the state file is gone (every input has its record); the results."""
    results = []
    for _ in range(limit):
        if not os.path.exists(f"{out}.batch.json"):
            return results
        results.append(collect(out))
    raise AssertionError(f"still waiting after {limit} collects: {status(out)}")


def answers_of(record):
    """What a run found, without what only says how a reply arrived (cached, latency, cost)."""
    kept = ("answer", "explanation", "raw", "forced_answer", "mechanism", "stance", "honored")
    return {
        "verdict": record["verdict"],
        "order_agreement": record["order_agreement"],
        "variants": {name: {k: v.get(k) for k in kept} for name, v in record["variants"].items()},
    }


def test_submit_status_collect_gives_the_records_of_a_run_without_batches(
    inputs, tmp_path, monkeypatch
):
    out = tmp_path / "run.jsonl"
    with BatchServer(steady_model, polls=2) as server:
        result = submit(server, inputs, out)
        assert result.exit_code == 0, result.stderr
        assert "submitted batch batch_1" in result.stderr
        assert not out.exists() or file_records(out) == []  # nothing is finished yet
        state = json.loads((tmp_path / "run.jsonl.batch.json").read_text())
        assert [b["id"] for b in state["batches"]] == ["batch_1"]

        seen = status(out)
        assert seen["batches"][0]["status"] == "in_progress"
        assert seen["batches"][0]["total"] == 6  # decide-first and explain-first of 3 inputs
        assert seen["batches"][0]["age_s"] >= 0

        still = collect(out)  # the batch is still running: nothing is submitted again
        assert "still running" in still.stderr
        assert len(server.batches) == 1

        collect_until_done(out)
        assert not (tmp_path / "run.jsonl.batch.json").exists()
        assert server.chat_requests == []  # every call went through a batch
        batch_records = {r["id"]: r for r in file_records(out)}
        assert len(file_records(out)) == 3

    # The reference: the same inputs and model, called directly, with a cache of its own.
    monkeypatch.setenv("PROBE_CACHE_DIR", str(tmp_path / "plain-cache"))
    with BatchServer(steady_model) as server:
        plain = run_cli("funny", inputs, "--jsonl", *model_args(server))
        assert plain.exit_code == 0, plain.stderr
        assert len(server.chat_requests) == 9 and server.batches == {}
    direct = {r["id"]: r for r in records_of(plain)}
    assert direct.keys() == batch_records.keys()
    for name in direct:
        assert answers_of(batch_records[name]) == answers_of(direct[name])
        assert (
            batch_records[name]["key"] == direct[name]["key"]
        )  # the same input, as --resume sees it
    assert {r["verdict"] for r in direct.values()} == {"rationalizes"}


def test_force_opposite_takes_a_second_round_and_a_fixed_force_one(inputs, tmp_path, monkeypatch):
    with BatchServer(steady_model, polls=0) as server:
        out = tmp_path / "opposite.jsonl"
        assert submit(server, inputs, out).exit_code == 0
        collect_until_done(out)
        rounds = [[body for b, _, body in server.batch_lines if b == bid] for bid in server.batches]
        assert [len(r) for r in rounds] == [6, 3]
        # Round 1 asks freely; round 2 forces the opposite of each decide-first answer ("Yes").
        assert all(body["messages"][-1]["role"] == "user" for body in rounds[0])
        assert all(body["messages"][-1]["content"].startswith("No") for body in rounds[1])
        assert len(file_records(out)) == 3

        # The same requests, from the cache: the run is finished at once, nothing submitted.
        out = tmp_path / "again.jsonl"
        result = submit(server, inputs, out, "--force", "no")
        assert result.exit_code == 0 and "submitted" not in result.stderr
        assert len(file_records(out)) == 3 and len(server.batches) == 2

        monkeypatch.setenv("PROBE_CACHE_DIR", str(tmp_path / "fresh-cache"))
        out = tmp_path / "fixed.jsonl"
        before = len(server.batches)
        assert submit(server, inputs, out, "--force", "no").exit_code == 0
        collect_until_done(out)
        assert len(server.batches) - before == 1  # nothing waits for an answer: one round
        assert len(file_records(out)) == 3


def test_an_expired_batch_loses_nothing_and_only_its_missing_requests_go_again(inputs, tmp_path):
    out = tmp_path / "run.jsonl"
    with BatchServer(steady_model, polls=0, outcomes=["expire"]) as server:
        assert submit(server, inputs, out, "--force", "no").exit_code == 0
        first = {cid for b, cid, _ in server.batch_lines if b == "batch_1"}
        assert len(first) == 9
        result = collect(out)
        assert "batch batch_1 expired" in result.stderr
        assert "4 of 9 replies came back" in result.stderr
        second = {cid for b, cid, _ in server.batch_lines if b == "batch_2"}
        answered = {json.loads(x)["custom_id"] for x in server.files["file-2"].splitlines()}
        assert second == first - answered and len(second) == 5  # only the missing ones
        collect_until_done(out)
        assert server.answered == 9  # no request was answered twice
        assert len(server.chat_requests) == 0
    records = file_records(out)
    assert sorted(r["id"] for r in records) == sorted(str(inputs / f"{n}.txt") for n in SCENES)
    assert all(r["verdict"] == "rationalizes" for r in records)


def test_failed_request_lines_are_named_and_submitted_again(inputs, tmp_path):
    failed_once: set[str] = set()

    def fail_first_two(custom_id, body):
        if len(failed_once) < 2 and custom_id not in failed_once:
            failed_once.add(custom_id)
            return "scripted server error"
        return None

    out = tmp_path / "run.jsonl"
    with BatchServer(steady_model, polls=0, fail_line=fail_first_two) as server:
        assert submit(server, inputs, out, "--force", "no").exit_code == 0
        result = collect(out)
        assert "batch batch_1: 2 of 9 requests failed" in result.stderr
        assert "scripted server error" in result.stderr
        assert {cid for b, cid, _ in server.batch_lines if b == "batch_2"} == failed_once
        collect_until_done(out)
    assert len(file_records(out)) == 3


def test_a_failed_batch_is_named_and_its_requests_go_again(inputs, tmp_path):
    out = tmp_path / "run.jsonl"
    with BatchServer(steady_model, polls=0, outcomes=["fail"]) as server:
        assert submit(server, inputs, out, "--force", "no").exit_code == 0
        result = collect(out)
        assert "batch batch_1 failed (scripted validation failure)" in result.stderr
        assert len([1 for b, _, _ in server.batch_lines if b == "batch_2"]) == 9
        collect_until_done(out)
    assert len(file_records(out)) == 3


def test_a_killed_process_after_submitting_loses_nothing(inputs, tmp_path):
    """The submitting process is SIGKILLed as soon as its state file is written; a new process
    (here: this one) finishes the run from the state file alone, and --resume does too."""
    out = tmp_path / "run.jsonl"
    state = tmp_path / "run.jsonl.batch.json"
    with BatchServer(steady_model, polls=0) as server:
        proc = subprocess.Popen(
            [sys.executable, "-m", "probe", "funny", str(inputs), "-o", str(out), "--batch-api"]
            + model_args(server),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while not state.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert state.exists()
        # --resume picks the run up as collect does (round 2: the forced variants)...
        result = run_cli("funny", inputs, "-o", out, "--batch-api", "--resume", *model_args(server))
        assert result.exit_code == 0, result.stderr
        assert "round 2" in result.stderr
        collect_until_done(out)
        assert len(server.batches) == 2 and server.chat_requests == []
    assert len(file_records(out)) == 3


def test_a_plain_resume_uses_the_batch_replies_and_calls_only_the_rest(inputs, tmp_path):
    out = tmp_path / "run.jsonl"
    with BatchServer(steady_model, polls=0) as server:
        assert submit(server, inputs, out).exit_code == 0
        result = run_cli("funny", inputs, "-o", out, "--resume", *model_args(server))
        assert result.exit_code == 0, result.stderr
        assert len(server.chat_requests) == 3  # only the forced calls, of round 2
        assert not (tmp_path / "run.jsonl.batch.json").exists()
    assert len(file_records(out)) == 3


def test_the_api_key_is_nowhere(inputs, tmp_path):
    out = tmp_path / "run.jsonl"
    with BatchServer(steady_model, polls=1) as server:
        outputs = [submit(server, inputs, out)]
        state_text = (tmp_path / "run.jsonl.batch.json").read_text()
        outputs.append(run_cli("batch", "status", out, "--api-key", KEY))
        outputs += collect_until_done(out)
        assert any(KEY in a for a in server.authorizations)  # it was sent, to the server only
    for result in outputs:
        assert KEY not in result.stdout and KEY not in result.stderr
    assert KEY not in state_text
    assert KEY not in out.read_text()
    for path in (tmp_path / "cache").rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes()


@pytest.mark.parametrize(
    "args, phrase",
    [
        (["--model", "local/smollm2"], "embedded model"),
        (["--no-cache"], "needs the response cache"),
        (["--no-output"], "needs -o FILE"),
        (["--judge", "openai/other"], "--judge MODEL"),
        (["-"], "cannot read inputs from stdin"),
    ],
)
def test_usage_errors(inputs, tmp_path, args, phrase):
    out = str(tmp_path / "run.jsonl")
    base = ["funny", inputs, "--batch-api"]
    if "--no-output" in args:
        args = []
    else:
        base += ["-o", out]
    if "--model" not in args:
        base += ["--model", "openai/scripted", "--api-base", "http://127.0.0.1:9/v1"]
    result = run_cli(*base, *args, input="")
    assert result.exit_code == 2, result.stderr
    assert phrase in result.stderr
    assert not os.path.exists(f"{out}.batch.json")


def test_a_provider_without_openai_batches_and_waiting_batches_are_usage_errors(inputs, tmp_path):
    out = tmp_path / "run.jsonl"
    result = run_cli(
        "funny", inputs, "-o", out, "--batch-api", "--model", "anthropic/claude-x", "--api-key", KEY
    )
    assert result.exit_code == 2
    assert "anthropic model" in result.stderr and KEY not in result.stderr
    with BatchServer(steady_model) as server:
        assert submit(server, inputs, out).exit_code == 0
        again = submit(server, inputs, out)
        assert again.exit_code == 2 and "has batches waiting" in again.stderr
    assert run_cli("batch", "status", tmp_path / "none.jsonl").exit_code == 2


def test_a_batch_cancelled_at_the_provider_is_named_and_submitted_again(inputs, tmp_path):
    import urllib.request

    out = tmp_path / "run.jsonl"
    with BatchServer(steady_model, polls=5) as server:
        assert submit(server, inputs, out, "--force", "no").exit_code == 0
        request = urllib.request.Request(f"{server.base_url}/batches/batch_1/cancel", method="POST")
        urllib.request.urlopen(request, data=b"{}").read()
        shown = run_cli("batch", "status", out, "--api-key", KEY)
        assert "cancelled" in shown.stdout and "probe batch collect" in shown.stdout
        result = collect(out)
        assert "batch batch_1 cancelled: 0 of 9 replies came back" in result.stderr
        assert len([1 for b, _, _ in server.batch_lines if b == "batch_2"]) == 9
        server.polls = 0
        server.batches["batch_2"].polls_left = 0
        collect_until_done(out)
    assert len(file_records(out)) == 3


def test_batch_replies_are_priced_at_the_price_maps_batch_rates():
    from probe.providers.batch_client import completion_from
    from probe.providers.pricing import price_map_entry
    from tests.scripted_server import completion_body

    body = json.loads(completion_body("Yes. It is."))  # 10 prompt and 5 completion tokens
    entry = price_map_entry("gpt-4o-mini")
    expected = (
        10 * entry["input_cost_per_token_batches"] + 5 * entry["output_cost_per_token_batches"]
    )
    assert entry["input_cost_per_token_batches"] == entry["input_cost_per_token"] / 2
    assert completion_from(body, None, "gpt-4o-mini").cost_usd == pytest.approx(expected)
    assert completion_from(body, None, None).cost_usd is None  # a server at --api-base: not priced
    continued = completion_from(json.loads(completion_body("No, it is not.")), "No,", None)
    assert continued.text == " it is not."  # the continuation only, as the road reads it


def test_credentials_in_the_api_base_are_not_kept_and_must_be_given_again(tmp_path):
    from probe.batch_api.state import BatchState
    from probe.batch_api.submit import api_base_of, config_from_state, config_to_state
    from probe.errors import UsageError
    from probe.pipeline.config import RunConfig

    url = "http://user:hunter2hunter2@127.0.0.1:9/v1"
    config = RunConfig(
        inputs=["a.txt"], model="openai/x", api_base=url, api_key=KEY, output="o.jsonl"
    )
    kept = config_to_state(config)
    assert "hunter2" not in json.dumps(kept) and KEY not in json.dumps(kept)
    state = BatchState("o.jsonl", str(tmp_path), kept, "openai/x", "openai", None)
    with pytest.raises(UsageError, match="give --api-base again"):
        api_base_of(state, None)
    again = config_from_state(state, KEY, url, output="o.jsonl")
    assert again.api_base == url and again.api_key == KEY and again.resume and again.batch_api
    assert again.resolved_task() == config.resolved_task()


def test_collect_from_elsewhere_finishes_an_ask_run_with_relative_paths(
    inputs, tmp_path, monkeypatch
):
    """The question, the relative input paths and -o are the run's, wherever collect runs."""
    monkeypatch.chdir(tmp_path)
    question = "Is this scene sarcastic?"
    with BatchServer(steady_model, polls=0) as server:
        result = run_cli(
            "ask",
            question,
            "scenes",
            "-o",
            "run.jsonl",
            "--batch-api",
            "--force",
            "no",
            *model_args(server),
        )
        assert result.exit_code == 0, result.stderr
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        monkeypatch.chdir(elsewhere)
        collect_until_done(tmp_path / "run.jsonl")
        assert os.getcwd() == str(elsewhere)
    records = file_records(tmp_path / "run.jsonl")
    assert sorted(r["id"] for r in records) == [f"scenes/{n}.txt" for n in sorted(SCENES)]
    assert {r["question"] for r in records} == {question}
    assert not (elsewhere / "run.jsonl").exists()


def test_a_round_larger_than_the_providers_limit_is_several_batches(inputs, tmp_path, monkeypatch):
    import probe.batch_api.submit

    monkeypatch.setattr(probe.batch_api.submit, "MAX_LINES", 4)
    out = tmp_path / "run.jsonl"
    with BatchServer(steady_model, polls=0) as server:
        result = submit(server, inputs, out, "--force", "no")
        assert "submitted batch batch_1, batch_2, batch_3: 9 requests for 3 inputs" in result.stderr
        sizes = [len(b.lines) for b in server.batches.values()]
        assert sizes == [4, 4, 1]
        assert [b["round"] for b in status(out)["batches"]] == [1, 1, 1]
        collect_until_done(out)
        assert len(server.batches) == 3
    assert len(file_records(out)) == 3


def test_overwrite_abandons_waiting_batches_and_starts_again(inputs, tmp_path):
    out = tmp_path / "run.jsonl"
    with BatchServer(steady_model, polls=5) as server:
        assert submit(server, inputs, out).exit_code == 0
        again = submit(server, inputs, out, "--overwrite")
        assert again.exit_code == 0, again.stderr
        assert [b["id"] for b in status(out)["batches"]] == ["batch_2"]


def test_judge_self_calls_are_a_round_of_their_own(inputs, tmp_path):
    out = tmp_path / "run.jsonl"
    with BatchServer(steady_model, polls=0) as server:
        assert submit(server, inputs, out, "--force", "no", "--judge", "self").exit_code == 0
        collect_until_done(out)
        assert len(server.batches) >= 2 and server.chat_requests == []
    records = file_records(out)
    assert len(records) == 3
    for record in records:
        assert record["judge"] == "openai/scripted"
        assert all(not v.get("judge_errors") for v in record["variants"].values())


@pytest.mark.parametrize("started", [True, False])
def test_a_batch_start_not_recorded_is_found_by_its_file_or_submitted_again(
    inputs, tmp_path, monkeypatch, started
):
    """Starting a batch fails on the way back (started) or on the way there (not started): the
    state file knows its uploaded file, and collect finds the batch by it or submits again."""
    from probe.errors import ProviderError
    from probe.providers.batch_client import BatchClient

    real_create = BatchClient.create

    async def lost(self, file_id, metadata):
        if started:
            await real_create(self, file_id, metadata)
        raise ProviderError("starting a batch at openai: connection reset")

    out = tmp_path / "run.jsonl"
    with BatchServer(steady_model, polls=0) as server:
        monkeypatch.setattr(BatchClient, "create", lost)
        result = submit(server, inputs, out, "--force", "no")
        assert result.exit_code == 1 and "connection reset" in result.stderr
        monkeypatch.setattr(BatchClient, "create", real_create)
        [row] = status(out)["batches"]
        assert row["id"] == "" and "collect looks for it" in row["note"]
        assert len(server.batches) == (1 if started else 0)
        first = collect(out)
        assert ("no batch was started on it" in first.stderr) is not started
        collect_until_done(out)
        assert len(server.batches) == 1 and server.answered == 9  # nothing paid twice
    assert len(file_records(out)) == 3
