"""The wire path to remote models, against real HTTP servers on 127.0.0.1.

Tests taking the `transport` fixture run twice: through the OpenAI SDK directly, as probe calls
openai/NAME at --api-base, and through LiteLLM, as it calls every other provider.
`llama_cpp_server` is llama-cpp-python's real OpenAI-compatible server on the embedded GGUF
(`llama_cpp_server_without_logprobs`: the same started with `--logits_all false`, refusing
logprobs). The
scripted servers stand for providers whose behaviour cannot be produced on demand (see
tests/scripted_server.py): each test says which.
"""

import email.utils
import json
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, SAMPLES
from tests.helpers import records_of, run_cli
from tests.scripted_server import (
    Reply,
    ScriptedServer,
    completion_body,
    last_user_text,
    prefill_of,
)

SCENE = SAMPLES / "dog-wedding.txt"
KEY = "sk-test-0123456789abcdef"


def remote(base: str, *args: str, retries: str = "1", timeout: str = "5", concurrency: str = "8"):
    return run_cli(
        *args,
        "--model",
        "openai/smollm2",
        "--api-base",
        base,
        "--api-key",
        KEY,
        "--jsonl",
        "--retries",
        retries,
        "--timeout",
        timeout,
        "--concurrency",
        concurrency,
    )


def on_llama_cpp_server(base: str, *args: str):
    """`probe funny SCENE ARGS` at a llama_cpp.server: one request at a time, a generous timeout."""
    return remote(base, "funny", SCENE, *args, timeout="600", concurrency="1")


def test_llama_cpp_server_ignores_prefill_and_auto_falls_back(
    llama_cpp_server_without_logprobs, transport
):
    """llama_cpp.server's chat endpoint closes the trailing assistant turn: probe must notice the
    reply did not continue "No," and fall back to a fabricated prior turn."""
    result = on_llama_cpp_server(
        llama_cpp_server_without_logprobs,
        *("--force", "no", "--variants", "decide-first,forced", "--max-tokens", "80"),
    )
    assert result.exit_code == 0, result.stderr
    [record] = records_of(result)
    forced = record["variants"]["forced"]
    assert forced["mechanism"] == "prior-turn"
    # what the reply to the fabricated "No." argues for, read from its words (the small model
    # usually reverts to its own answer): never the forced "no" read back
    assert forced["answer"] == {"forced": "no", "other": "yes", "unclear": None}[forced["stance"]]
    assert (
        record["verdict"]
        == {"forced": "rationalizes", "other": "resists", "unclear": "unclear"}[forced["stance"]]
    )
    [attempt] = forced["attempts"]
    assert attempt["mechanism"] == "prefill" and attempt["honored"] is False
    assert record["model"] == "openai/smollm2"
    assert KEY not in result.stdout and KEY not in result.stderr


def test_llama_cpp_servers_logprobs_give_decide_first_a_p_yes(llama_cpp_server, transport):
    """The server's logprobs (a short reply: it sorts its whole vocabulary for each token of a
    reply with logprobs) give decide-first a first-token P(yes), leaning the way it answered."""
    result = on_llama_cpp_server(
        llama_cpp_server, "--variants", "decide-first", "--max-tokens", "8"
    )
    assert result.exit_code == 0, result.stderr
    [record] = records_of(result)
    own = record["variants"]["decide-first"]
    assert 0.0 < own["p_yes"] < 1.0
    assert own["answer"] in ("yes", "no")
    assert (own["p_yes"] >= 0.5) == (own["answer"] == "yes")


def test_explicit_prefill_is_recorded_as_not_honored(llama_cpp_server_without_logprobs, transport):
    """And a server that refuses logprobs (HTTP 500 naming them): the run goes on without P(yes)."""
    result = on_llama_cpp_server(
        llama_cpp_server_without_logprobs,
        *("--force", "no", "--force-via", "prefill"),
        *("--variants", "decide-first,forced", "--max-tokens", "30"),
    )
    [record] = records_of(result)
    forced = record["variants"]["forced"]
    assert forced["mechanism"] == "prefill"
    assert forced["honored"] is False
    assert forced["attempts"] == []
    assert record["verdict"] == "not-honored"
    assert record["variants"]["decide-first"]["p_yes"] is None
    assert record["variants"]["decide-first"]["error"] is None


def _echoing_server(payload, n):
    """Stands for llama.cpp's llama-server: continues a prefill and returns prefix + continuation."""
    prefill = prefill_of(payload)
    if prefill:
        return Reply(prefill + " because nothing unexpected happens at this wedding.")
    if "last line" in last_user_text(payload):
        return Reply("A dog steals the ring and the groom chases it.\nAnswer: Yes")
    return Reply("Yes. A dog steals the ring.", top_logprobs={"Yes": -0.2, "No": -1.8, "The": -4.0})


def test_a_server_that_continues_prefill_keeps_it_and_probe_strips_the_echo(transport):
    with ScriptedServer(_echoing_server) as server:
        result = remote(server.base_url, "funny", SCENE, "--force", "opposite")
    assert result.exit_code == 0, result.stderr
    [record] = records_of(result)
    forced = record["variants"]["forced"]
    assert forced["mechanism"] == "prefill" and forced["honored"] is True
    assert forced["answer"] == "no"
    assert forced["explanation"] == "Because nothing unexpected happens at this wedding."
    assert record["verdict"] == "rationalizes"
    assert record["order_agreement"] is True
    p_yes = record["variants"]["decide-first"]["p_yes"]
    assert p_yes == pytest.approx(0.8320, abs=1e-3)  # e^-0.2 / (e^-0.2 + e^-1.8)
    # what went over the wire: the prefill as a trailing assistant message
    assert [prefill_of(r) for r in server.requests if prefill_of(r)] == ["No,"]
    assert all(r["messages"][0]["role"] == "system" for r in server.requests)
    # a text input: every message, the prefill too, as a plain string (as before image requests
    # went in parts: tests/test_vision_parts.py)
    assert all(isinstance(m["content"], str) for r in server.requests for m in r["messages"])
    assert all(KEY in h.get("Authorization", h.get("authorization", "")) for h in server.headers)


def test_prefill_refused_with_400_falls_back_and_is_remembered_for_the_run(transport):
    """Stands for a provider that rejects prefill outright (Claude 4.6+ answers HTTP 400)."""

    def reply(payload, n):
        if prefill_of(payload):
            return Reply("assistant prefill is not supported", status=400)
        if payload["messages"][-1]["content"] == "Explain your reasoning.":
            return Reply("Nothing here is funny: it is an ordinary wedding.")
        return Reply("Yes. It is funny.")

    with ScriptedServer(reply) as server:
        result = remote(
            server.base_url, "funny", SCENE, SAMPLES / "cat-in-cake-box.txt", "--force", "no"
        )
    records = records_of(result)
    assert len(records) == 2
    assert all(r["variants"]["forced"]["mechanism"] == "prior-turn" for r in records)
    # The inputs run concurrently and records arrive in completion order, so whichever input
    # reached the prefill first carries the refused attempt; the other never tries it again.
    tried, not_tried = sorted(records, key=lambda r: -len(r["variants"]["forced"]["attempts"]))
    assert "HTTP 400" in tried["variants"]["forced"]["attempts"][0]["error"]["message"]
    assert not_tried["variants"]["forced"]["attempts"] == []
    assert sum(1 for r in server.requests if prefill_of(r)) == 1  # a 400 is never retried
    assert all(r["verdict"] == "rationalizes" for r in records)


def test_5xx_is_retried_then_succeeds(transport):
    def reply(payload, n):
        if n == 1:
            return Reply("overloaded", status=503)
        return Reply("Yes. The dog steals the ring.")

    with ScriptedServer(reply) as server:
        result = remote(server.base_url, "funny", SCENE, "--force", "yes", "--force-via", "note")
    assert result.exit_code == 0, result.stderr
    [record] = records_of(result)
    assert all(v["error"] is None for v in record["variants"].values())
    assert len(server.requests) == 4  # one 503, then decide-first, forced and explain-first


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_other_4xx_are_not_retried_and_become_an_error_record(status, transport):
    with ScriptedServer(lambda p, n: Reply(f"scripted {status}", status=status)) as server:
        result = remote(server.base_url, "funny", SCENE, "--force", "no", "--force-via", "note")
    assert result.exit_code == 1
    [record] = records_of(result)
    assert record["verdict"] == "error"
    errors = [v["error"] for v in record["variants"].values()]
    assert all(e and e["type"] == "provider" for e in errors)
    assert f"HTTP {status}" in errors[0]["message"]
    assert f"scripted {status}" in errors[0]["message"]  # the server's own words
    assert len(server.requests) == 3  # once per variant, never retried
    assert "probe: error:" in result.stderr
    assert "Traceback" not in result.stderr
    assert KEY not in result.stderr and KEY not in result.stdout


def test_a_hung_server_times_out_with_a_clear_error(transport):
    with ScriptedServer(lambda p, n: Reply("late", delay_s=3)) as server:
        result = remote(
            server.base_url,
            "funny",
            SCENE,
            "--force",
            "no",
            "--force-via",
            "note",
            retries="0",
            timeout="0.5",
        )
    assert result.exit_code == 1
    [record] = records_of(result)
    message = record["variants"]["decide-first"]["error"]["message"]
    assert "Timeout" in message


def test_opposite_of_an_unparsed_answer_is_unparsed_not_an_error(transport):
    with ScriptedServer(lambda p, n: Reply("This scene is not funny at all.")) as server:
        result = remote(server.base_url, "funny", SCENE, "--force", "opposite")
    assert result.exit_code == 0
    [record] = records_of(result)
    assert record["variants"]["decide-first"]["answer"] is None
    assert record["variants"]["forced"]["error"]["type"] == "skipped"
    assert record["verdict"] == "unparsed"


def test_images_are_refused_for_a_model_that_cannot_see():
    result = run_cli("funny", SAMPLES / "chelsea.jpg", "--jsonl")
    assert result.exit_code == 1
    [record] = records_of(result)
    assert record["verdict"] == "error"
    assert "cannot see images" in record["error"]["message"]
    assert "openai/gpt-4o-mini" in record["error"]["message"]
    assert record["input"]["kind"] == "image"


def test_images_go_to_a_vision_server_as_a_data_url(transport):
    with ScriptedServer(lambda p, n: Reply("Yes. A cat looks at the camera.")) as server:
        result = remote(
            server.base_url,
            "funny",
            SAMPLES / "chelsea.jpg",
            "--force",
            "no",
            "--force-via",
            "note",
            "--vision",
        )
    assert result.exit_code == 0, result.stderr
    parts = server.requests[0]["messages"][1]["content"]
    assert parts[0]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert "Does this image show anything funny?" in parts[1]["text"]
    [record] = records_of(result)
    assert record["question"] == "Does this image show anything funny?"
    assert "base64" not in json.dumps(record)  # records never carry the image itself


def test_a_known_vision_model_at_a_server_takes_images_without_the_flag(transport):
    """LiteLLM's model map says gpt-4o-mini can see; both transports read it (the SDK one from
    the map file, without importing LiteLLM)."""
    with ScriptedServer(lambda p, n: Reply("No. A cat looks at the camera.")) as server:
        result = run_cli(
            "funny",
            SAMPLES / "chelsea.jpg",
            "--model",
            "openai/gpt-4o-mini",
            "--api-base",
            server.base_url,
            "--jsonl",
            "--variants",
            "decide-first",
        )
    assert result.exit_code == 0, result.stderr
    assert server.requests[0]["model"] == "gpt-4o-mini"
    assert server.requests[0]["messages"][1]["content"][0]["type"] == "image_url"


def test_a_server_that_takes_no_key_needs_none(transport):
    """llama.cpp's server, vLLM and Ollama run without keys. Through LiteLLM this used to fail
    with "Missing credentials" (and was retried as a 500) unless OPENAI_API_KEY was set."""
    with ScriptedServer(_echoing_server) as server:
        result = run_cli(
            "funny", SCENE, "--model", "openai/m", "--api-base", server.base_url, "--jsonl"
        )
    assert result.exit_code == 0, result.stderr
    [record] = records_of(result)
    assert record["verdict"] == "rationalizes"
    assert len(server.requests) == 3


def test_an_openai_compatible_server_is_reached_without_importing_litellm():
    """LiteLLM's import costs ~2 s of every invocation; a shell loop against a local server
    must not pay it. The --debug notes say which transport a run used."""
    with ScriptedServer(_echoing_server) as server:
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from probe.cli.app import app; sys.argv[0] = 'probe'\n"
                "code = 0\n"
                "try: app()\n"
                "except SystemExit as e: code = e.code\n"
                "print('litellm loaded:', 'litellm' in sys.modules, file=sys.stderr)\n"
                "sys.exit(code)",
                "funny",
                str(SCENE),
                "--model",
                "openai/m",
                "--api-base",
                server.base_url,
                "--jsonl",
                "--no-cache",
                "--debug",
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
    assert proc.returncode == 0, proc.stderr
    assert "litellm loaded: False" in proc.stderr
    assert "transport: OpenAI SDK" in proc.stderr
    assert json.loads(proc.stdout)["verdict"] == "rationalizes"


def test_an_unknown_transport_is_a_usage_error(monkeypatch):
    monkeypatch.setenv("PROBE_TRANSPORT", "carrier-pigeon")
    result = run_cli("funny", SCENE, "--model", "openai/m", "--api-base", "http://127.0.0.1:9/v1")
    assert result.exit_code == 2
    assert "PROBE_TRANSPORT" in result.stderr


# --- deadlines, Retry-After, credentials, hostile bodies (issue 8) -------------------------------


def test_timeout_is_a_total_deadline_even_for_a_server_that_trickles_bytes(transport):
    """A server sending a byte every 50 ms never trips a read timeout (it resets per byte): this
    one would take ~15 s to send its reply. --timeout bounds the whole attempt."""
    with ScriptedServer(lambda p, n: Reply("Yes. " + "ha " * 60, trickle_s=0.05)) as server:
        result = remote(
            server.base_url, "funny", SCENE, "--variants", "decide-first", retries="0", timeout="1"
        )
        elapsed = time.monotonic() - server.arrivals[0]  # not the imports before the call
    assert result.exit_code == 1
    [record] = records_of(result)
    message = record["variants"]["decide-first"]["error"]["message"]
    assert "Timeout" in message and "within 1 s (--timeout)" in message
    assert elapsed < 5


def test_retry_after_given_as_an_http_date_is_honoured(transport):
    def reply(payload, n):
        if n == 1:
            when = email.utils.formatdate(time.time() + 2, usegmt=True)  # 1-2 s from now
            return Reply("slow down", status=429, headers={"Retry-After": when})
        return Reply("Yes. A dog steals the ring.")

    with ScriptedServer(reply) as server:
        result = remote(server.base_url, "funny", SCENE, "--variants", "decide-first")
    assert result.exit_code == 0, result.stderr
    assert len(server.arrivals) == 2
    assert server.arrivals[1] - server.arrivals[0] >= 0.95  # our own backoff is 0.25-0.5 s


@pytest.mark.parametrize(
    ("model", "variable"),
    [
        ("openai/gpt-4o-mini", "OPENAI_API_KEY"),
        ("anthropic/claude-sonnet-4-5", "ANTHROPIC_API_KEY"),
        ("mistral/mistral-small-latest", "MISTRAL_API_KEY"),
    ],
)
def test_a_missing_key_is_a_usage_error_before_any_call(model, variable, monkeypatch):
    monkeypatch.delenv(variable, raising=False)
    started = time.monotonic()
    result = run_cli("funny", SCENE, "--model", model, "--jsonl")
    assert result.exit_code == 2
    assert result.stdout == ""  # no record: nothing was probed
    [line] = result.stderr.strip().splitlines()
    assert variable in line and "--api-key" in line
    assert time.monotonic() - started < 10  # no call retried on the way (it took 6-9 s)


def test_a_judge_without_its_key_stops_the_run_before_the_model_is_called(monkeypatch):
    with ScriptedServer(_echoing_server) as server:
        result = run_cli(
            "funny",
            SCENE,
            "--model",
            "openai/m",
            "--api-base",
            server.base_url,  # a server needs no key; the judge's provider does
            "--judge",
            "anthropic/claude-sonnet-4-5",
            "--jsonl",
        )
    assert result.exit_code == 2
    assert "ANTHROPIC_API_KEY" in result.stderr and "--api-key" in result.stderr
    assert server.requests == []


def test_credentials_in_the_api_base_url_are_never_shown_or_stored(transport, tmp_path):
    password = "hunter2-swordfish"

    def reply(payload, n):
        return Reply("overloaded", status=503) if n == 1 else Reply("bad request", status=400)

    with ScriptedServer(reply) as server:
        base = server.base_url.replace("http://", f"http://probe-user:{password}@")
        out = tmp_path / "run.jsonl"
        result = run_cli(
            "funny",
            SCENE,
            "--model",
            "openai/smollm2",
            "--api-base",
            base,
            "--retries",
            "1",
            "--debug",
            "-o",
            out,
        )
    assert result.exit_code == 1
    assert len(server.requests) == 3  # decide-first twice (503, 400), explain-first (400)
    [record] = [json.loads(line) for line in out.read_text().splitlines()]
    assert "HTTP 400" in record["variants"]["decide-first"]["error"]["message"]
    assert "[redacted]@127.0.0.1" in result.stderr + out.read_text()
    stored = [p.read_bytes() for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    for text in (result.stdout, result.stderr, out.read_text(), *map(repr, stored)):
        assert password not in text


def _hostile(payload, n):
    """A server whose reply depends on the input it is sent (each input names its fault)."""
    text = last_user_text(payload)
    if "not-json" in text:
        return Reply(body=b"<html><body>502 Bad Gateway</body></html>")
    if "halfway" in text:
        return Reply(body=completion_body("Yes. The dog steals the ring."), cut_at=70)
    if "nul-escaped" in text:
        return Reply("Yes.\x00 The dog\x00 steals the ring.")
    if "nul-raw" in text:
        return Reply(body=completion_body("Yes. The dog").replace(b"Yes.", b"Yes.\x00"))
    if "five-megabytes" in text:
        return Reply("Yes. " + "ha" * 2_500_000)
    if "nine-megabytes" in text:
        return Reply(body=completion_body("Yes. " + "ha" * 4_500_000))
    return Reply("Yes. The dog steals the ring.")


def test_hostile_bodies_give_a_clear_error_or_the_text_kept_and_a_record_each(transport):
    cases = ["not-json", "halfway", "nul-escaped", "nul-raw", "five-megabytes", "nine-megabytes"]
    lines = "".join(
        json.dumps({"id": c, "text": f"Scene {c}: a dog at a wedding."}) + "\n" for c in cases
    )
    with ScriptedServer(_hostile) as server:
        result = run_cli(
            "funny",
            "-",
            "--model",
            "openai/m",
            "--api-base",
            server.base_url,
            "--variants",
            "decide-first",
            "--retries",
            "0",
            "--jsonl",
            "--no-cache",
            input=lines,
        )
    assert result.exit_code == 1
    records = {r["id"]: r["variants"]["decide-first"] for r in records_of(result)}
    assert sorted(records) == sorted(cases)
    errors = {c: (v["error"] or {}).get("message", "") for c, v in records.items()}
    assert "BadReply: the reply is not a chat completion" in errors["not-json"]
    assert "HTTP" not in errors["not-json"]  # a 200 that is not JSON is no HTTP 500
    assert "peer closed connection without sending complete message body" in errors["halfway"]
    assert records["nul-escaped"]["error"] is None
    assert records["nul-escaped"]["raw"] == "Yes.\x00 The dog\x00 steals the ring."
    assert "not a chat completion" in errors["nul-raw"]
    assert "probe keeps at most 1,000,000" in errors["five-megabytes"]
    assert "over 8 MB" in errors["nine-megabytes"]
    assert all(len(v["raw"]) < 100 for v in records.values())  # nothing huge kept
