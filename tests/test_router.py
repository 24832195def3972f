"""Many servers, one model name: `--api-base` given more than once, or `--router FILE`, through
LiteLLM's Router, against real HTTP servers on 127.0.0.1.

The scripted servers (tests/scripted_server.py) stand for deployments whose behaviour a real
model cannot be made to show on demand (slow, failing, ignoring a prefill): each test says which.
The last test puts two real `python -m llama_cpp.server` processes behind the Router.
"""

import json
import re
from pathlib import Path

import pytest

from probe.reading import extraction
from tests.conftest import SAMPLES, start_llama_cpp_server
from tests.helpers import file_records, records_of, run_cli
from tests.scripted_server import Reply, ScriptedServer, last_user_text, prefill_of, steady_model

TEAM_KEY = "team-token-4f9a2c71b8d3e605"  # not key-shaped: only probe's resolution hides it


def write_inputs(directory: Path, n: int) -> Path:
    """n text inputs, each distinct (so no two share a cached reply)."""
    directory.mkdir()
    scene = (SAMPLES / "dog-wedding.txt").read_text(encoding="utf-8")
    for i in range(n):
        (directory / f"scene-{i:02d}.txt").write_text(f"{scene}\n(Scene {i}.)\n", encoding="utf-8")
    return directory


def slow_model(payload, n):
    """A deployment on a busy GPU: steady_model's answers, 0.3 s late."""
    reply = steady_model(payload, n)
    reply.delay_s = 0.3
    return reply


def failing_model(payload, n):
    """A deployment whose backend has crashed: every request gets HTTP 500."""
    return Reply("backend crashed", status=500)


def ignoring_model(payload, n):
    """A deployment that closes a trailing assistant turn instead of continuing it (as
    `python -m llama_cpp.server` does): a fresh answer of its own, never the prefill's."""
    if "last line" in last_user_text(payload):
        return Reply("Something unexpected happens.\nAnswer: Yes")
    return Reply("Yes. Something unexpected happens.")


def summary_lines(stderr: str) -> dict[str, str]:
    """The closing summary's deployment rows, by deployment (lines a narrow terminal wrapped
    are joined back)."""
    rows: dict[str, str] = {}
    last = None
    for line in stderr.splitlines():
        if line.startswith("deployment "):
            label, rest = line[len("deployment ") :].strip().split(": ", 1)
            rows[label] = rest.strip()
            last = label
        elif last and line.startswith(" ") and not line.strip().startswith("/"):
            rows[last] += " " + line.strip()
        else:
            last = None
    return rows


def test_calls_spread_and_a_failing_deployment_is_cooled_down(tmp_path):
    """Three deployments of one model: a steady one, a slow one, and one failing with 500s. Every
    input ends with exactly one successful record; the failing deployment is cooled down after
    its first failures and the summary shows the split."""
    inputs = write_inputs(tmp_path / "inputs", 12)
    out = tmp_path / "out.jsonl"
    with (
        ScriptedServer(steady_model) as steady,
        ScriptedServer(slow_model) as slow,
        ScriptedServer(failing_model) as failing,
    ):
        result = run_cli(
            "funny",
            inputs,
            "--model",
            "openai/m",
            *("--api-base", steady.base_url, "--api-base", slow.base_url),
            *("--api-base", failing.base_url),
            "--no-cache",
            "--retries",
            "4",
            "--concurrency",
            "2",
            "-o",
            out,
        )
    assert result.exit_code == 0, result.stderr
    records = file_records(out)
    assert sorted(r["id"] for r in records) == sorted(str(p) for p in inputs.iterdir())
    assert all(r["error"] is None and r["verdict"] == "rationalizes" for r in records)
    served = [v["deployment"] for r in records for v in r["variants"].values()]
    assert len(served) == 36 and set(served) <= {steady.base_url, slow.base_url}
    assert served.count(steady.base_url) == len(steady.requests)
    assert served.count(slow.base_url) == len(slow.requests)
    # cooled down at its 2nd failure (allowed_fails 1), when at most one more request can be on
    # its way there (--concurrency 2); nothing more reaches it in the 30 s cooldown
    assert 2 <= len(failing.requests) <= 3
    rows = summary_lines(result.stderr)
    assert rows[steady.base_url].startswith(f"{len(steady.requests)} replies, 0 failed")
    assert rows[slow.base_url].startswith(f"{len(slow.requests)} replies, 0 failed")
    assert rows[failing.base_url].startswith(f"0 replies, {len(failing.requests)} failed")
    assert "cooled down 1x" in rows[failing.base_url]


def test_one_api_base_keeps_the_single_endpoint_road(tmp_path):
    """One --api-base (steady_model stands for a llama-server) is the road it always was: no
    Router, no `deployment` in the records and no deployment rows in the summary."""
    inputs = write_inputs(tmp_path / "inputs", 2)
    with ScriptedServer(steady_model) as server:
        result = run_cli(
            "funny", inputs, "--model", "openai/m", "--api-base", server.base_url, "--no-cache"
        )
    assert result.exit_code == 0, result.stderr
    records = records_of(result)
    assert len(records) == 2
    assert not any("deployment" in v for r in records for v in r["variants"].values())
    assert "deployment" not in result.stderr


def config_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def test_router_file_resolves_os_environ_keys_and_never_shows_them(tmp_path, monkeypatch):
    """A LiteLLM proxy config of two deployments behind one model name, keys as
    `os.environ/TEAM_KEY`. The first stands for a gateway that checks the key; the second for
    one that fails with 500s and quotes the key it was sent in its error (as some gateways do):
    with --retries 0 some of its failures reach the records, and the key must not."""
    monkeypatch.setenv("TEAM_KEY", TEAM_KEY)

    def checking(payload, n):
        if auth_of(checker, n) != f"Bearer {TEAM_KEY}":
            return Reply("bad key", status=401)
        return steady_model(payload, n)

    def quoting(payload, n):
        return Reply(f"backend down (key {TEAM_KEY})", status=500)

    inputs = write_inputs(tmp_path / "inputs", 8)
    out = tmp_path / "out.jsonl"
    with ScriptedServer(checking) as checker, ScriptedServer(quoting) as quoter:
        config = config_file(
            tmp_path,
            f"""
model_list:
  - model_name: team-model
    litellm_params:
      model: openai/served-name
      api_base: {checker.base_url}
      api_key: os.environ/TEAM_KEY
      rpm: 600
  - model_name: team-model
    litellm_params:
      model: openai/served-name
      api_base: {quoter.base_url}
      api_key: os.environ/TEAM_KEY
router_settings:
  routing_strategy: least-busy
litellm_settings:
  drop_params: true
""",
        )
        result = run_cli(
            "funny",
            inputs,
            "--router",
            config,
            "--no-cache",
            "--retries",
            "0",
            "-o",
            out,
            "--debug",
        )
    texts = (result.stdout, result.stderr, out.read_text(encoding="utf-8"))
    assert not any(TEAM_KEY in text for text in texts)
    records = file_records(out)
    assert len(records) == 8 and all(r["model"] == "team-model" for r in records)
    assert checker.requests and all(p["model"] == "served-name" for p in checker.requests)
    failed = [v["error"] for r in records for v in r["variants"].values() if v["error"]]
    errors = [e["message"] for e in failed if e["type"] == "provider"]
    assert errors and all(
        f"at {quoter.base_url}: " in e and "(key [redacted])" in e for e in errors
    )
    assert "least-busy over 2 deployments" in result.stderr  # --debug: the capability notes


def auth_of(server, n):
    """The Authorization header of a server's nth request."""
    return {k.lower(): v for k, v in server.headers[n - 1].items()}.get("authorization")


@pytest.mark.parametrize(
    ("body", "extra", "says"),
    [
        ("model_list: [\n  - model_name: x\n", (), r"not valid YAML \(line \d+\)"),
        ("model_list:\n  - litellm_params: {model: openai/x}\n", (), "entry 1 has no model_name"),
        ("model_list:\n  - model_name: x\n", (), r"entry 1 \(x\) has no litellm_params.model"),
        ("router_settings: {}\n", (), "no model_list"),
        (
            "model_list:\n  - {model_name: x, litellm_params: {model: openai/x, api_key: os.environ/NOPE_KEY}}\n",
            (),
            "api_key is os.environ/NOPE_KEY, and NOPE_KEY is not set",
        ),
        (
            "model_list:\n  - {model_name: x, litellm_params: {model: openai/x}}\n",
            ("--model", "y"),
            "no model_name 'y'",
        ),
        (
            "model_list:\n  - {model_name: x, litellm_params: {model: openai/x}}\n"
            "router_settings: {routing_strategy: fastest}\n",
            (),
            "router_settings.routing_strategy fastest: not one of",
        ),
    ],
)
def test_a_bad_router_file_is_one_usage_error_naming_it(tmp_path, body, extra, says):
    config = config_file(tmp_path, body)
    result = run_cli("funny", SAMPLES / "dog-wedding.txt", "--router", config, *extra)
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"probe: error: --router {config}")
    assert re.search(says, line), line


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ("--routing", "fastest", "--api-base", "http://a/v1", "--api-base", "http://b/v1"),
            "--routing fastest: not one of even, simple-shuffle, least-busy, latency-based",
        ),
        (
            ("--routing", "least-busy", "--api-base", "http://a/v1"),
            "--routing least-busy spreads calls over several servers",
        ),
        (
            ("--api-base", "http://a/v1", "--api-base", "http://b/v1"),
            "--api-base given more than once needs --model provider/NAME",
        ),
        (
            ("--model", "openai/m", "--api-base", "http://a/v1", "--api-base", "http://a/v1"),
            "--api-base http://a/v1: given twice",
        ),
    ],
)
def test_routing_usage_errors(args, says):
    result = run_cli("funny", SAMPLES / "dog-wedding.txt", *args)
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert says in line


def test_prefill_is_learned_per_deployment(tmp_path):
    """Two deployments: one continues prefills (steady_model, as llama-server does), one ignores
    them (ignoring_model, as llama_cpp.server does). The one that ignores gets exactly one
    prefilled request, falls back to a prior turn there, and gets none after; the other keeps
    getting prefills all run long."""
    inputs = write_inputs(tmp_path / "inputs", 20)
    out = tmp_path / "out.jsonl"
    with ScriptedServer(steady_model) as echo, ScriptedServer(ignoring_model) as ignorer:
        result = run_cli(
            "funny",
            inputs,
            "--force",
            "no",
            "--model",
            "openai/m",
            *("--api-base", echo.base_url, "--api-base", ignorer.base_url),
            "--concurrency",
            "1",
            "--no-cache",
            "-o",
            out,
        )
    assert result.exit_code == 0, result.stderr
    records = file_records(out)
    prefilled_to_ignorer = [p for p in ignorer.requests if prefill_of(p)]
    assert len(prefilled_to_ignorer) == 1  # 20 forced calls: 1 in 2**20 that none went there
    forced = [r["variants"]["forced"] for r in records]
    by_prefill = [f for f in forced if f["mechanism"] == "prefill"]
    assert by_prefill and all(f["deployment"] == echo.base_url and f["honored"] for f in by_prefill)
    [fell_back] = [f for f in forced if f["attempts"]]
    [attempt] = fell_back["attempts"]
    assert attempt == {**attempt, "mechanism": "prefill", "honored": False}
    assert attempt["deployment"] == ignorer.base_url
    assert fell_back["mechanism"] == "prior-turn"
    assert len(by_prefill) + 1 == len(forced)  # every other forced call was prefilled
    rows = summary_lines(result.stderr)
    assert rows[echo.base_url].endswith("prefill continued")
    assert "prefill not used (a reply did not continue the prefill)" in rows[ignorer.base_url]


@pytest.fixture(scope="module")
def two_llama_cpp_servers(tmp_path_factory):
    with (
        start_llama_cpp_server(tmp_path_factory, logprobs=False) as first,
        start_llama_cpp_server(tmp_path_factory, logprobs=False) as second,
    ):
        yield first, second


def test_two_llama_cpp_servers_behind_the_router(two_llama_cpp_servers, tmp_path):
    """Two real `python -m llama_cpp.server` processes on the embedded GGUF as deployments of one
    model: the replies come from them, each variant names its deployment, and the prefill their
    chat endpoint ignores is found out and recorded per deployment."""
    bases = set(two_llama_cpp_servers)
    out = tmp_path / "out.jsonl"
    result = run_cli(
        "funny",
        SAMPLES / "dog-wedding.txt",
        SAMPLES / "tax-form.txt",
        "--force",
        "no",
        "--model",
        "openai/smollm2",
        *(arg for base in sorted(bases) for arg in ("--api-base", base)),
        "--max-tokens",
        "40",
        "--concurrency",
        "2",
        "--timeout",
        "600",
        "--no-cache",
        "-o",
        out,
    )
    assert result.exit_code == 0, result.stderr
    records = file_records(out)
    assert len(records) == 2
    for record in records:
        assert all(v["deployment"] in bases for v in record["variants"].values())
        forced = record["variants"]["forced"]
        assert forced["mechanism"] == "prior-turn"  # their chat endpoint closes the turn
    attempts = [a for r in records for a in r["variants"]["forced"]["attempts"]]
    assert attempts and all(a["honored"] is False and a["deployment"] in bases for a in attempts)
    rows = summary_lines(result.stderr)
    assert set(rows) == bases
    served = sum(int(row.split(" replies")[0]) for row in rows.values())
    # explain-first replies cut off at 40 tokens before an answer: the model is asked for it
    # (probe/reading/extraction.py), and those calls are served by the deployments too
    extraction_calls = [
        call
        for r in records
        for v in r["variants"].values()
        if "extraction" in v
        for call in extraction.calls(v["extraction"])
    ]
    assert all(call.get("deployment") in bases for call in extraction_calls)
    expected = sum(len(r["variants"]) for r in records) + len(attempts) + len(extraction_calls)
    assert served == expected
    assert json.loads(out.read_text().splitlines()[0])["model"] == "openai/smollm2"


def _routed(inputs, servers, *extra):
    return run_cli(
        "funny",
        inputs,
        "--model",
        "openai/m",
        *(arg for server in servers for arg in ("--api-base", server.base_url)),
        "--no-cache",
        "--debug",
        *extra,
    )


def test_even_routing_by_default_gives_equal_servers_equal_shares(tmp_path):
    """Four equal deployments (steady_model: an idle server) and one request at a time: probe's
    default routing ("even": fewest in flight, ties in turn) gives each exactly a quarter of the
    requests, where LiteLLM's simple-shuffle picks at random."""
    inputs = write_inputs(tmp_path / "inputs", 8)
    with (
        ScriptedServer(steady_model) as a,
        ScriptedServer(steady_model) as b,
        ScriptedServer(steady_model) as c,
        ScriptedServer(steady_model) as d,
    ):
        result = _routed(inputs, (a, b, c, d), "--concurrency", "1")
    assert result.exit_code == 0, result.stderr
    assert "router: even over 4 deployments" in result.stderr
    assert [len(s.requests) for s in (a, b, c, d)] == [6, 6, 6, 6]  # 8 inputs x 3 variants


def test_even_routing_sends_fewer_to_a_slower_deployment(tmp_path):
    """Two idle deployments and a slow one (slow_model: a busy server, 0.3 s a reply), eight
    requests in flight: the slow one holds its requests longer, so it is picked less often."""
    inputs = write_inputs(tmp_path / "inputs", 16)
    with (
        ScriptedServer(steady_model) as fast1,
        ScriptedServer(steady_model) as fast2,
        ScriptedServer(slow_model) as slow,
    ):
        result = _routed(inputs, (fast1, fast2, slow), "--concurrency", "8")
    assert result.exit_code == 0, result.stderr
    records = records_of(result)
    assert len(records) == 16 and all(r["error"] is None for r in records)
    assert len(fast1.requests) + len(fast2.requests) + len(slow.requests) == 48
    assert len(slow.requests) < min(len(fast1.requests), len(fast2.requests))


def test_latency_based_routing_runs_through_the_router(tmp_path):
    """--routing latency-based (LiteLLM's latency-based-routing) over a steady deployment and a
    slow one (slow_model stands for a busy server): every input succeeds through the Router."""
    inputs = write_inputs(tmp_path / "inputs", 4)
    with ScriptedServer(steady_model) as steady, ScriptedServer(slow_model) as slow:
        result = run_cli(
            "funny",
            inputs,
            "--model",
            "openai/m",
            *("--api-base", steady.base_url, "--api-base", slow.base_url),
            "--routing",
            "latency-based",
            "--no-cache",
            "--debug",
        )
    assert result.exit_code == 0, result.stderr
    records = records_of(result)
    assert len(records) == 4 and all(r["verdict"] == "rationalizes" for r in records)
    assert "latency-based-routing over 2 deployments" in result.stderr
    assert len(steady.requests) + len(slow.requests) == 12


def test_routed_discoveries_keep_prefill_per_deployment():
    """The per-deployment bookkeeping itself: a deployment that resolves to another prefill mode
    never gets prefilled requests; the group stops using prefill only when no deployment is left."""
    from probe.providers.capabilities import Capabilities
    from probe.providers.router_road import RoutedDiscoveries

    trailing = Capabilities(prefill="trailing", prefill_known=False, logprobs=True, vision=False)
    flagged = Capabilities(prefill="prefix-flag", prefill_known=True, logprobs=False, vision=False)
    learned = RoutedDiscoveries(trailing, {"a": trailing, "b": trailing, "c": flagged})
    assert set(learned.no_prefill) == {"c"} and learned.prefill == "trailing"
    learned.forget_prefill("a reply did not continue the prefill", "a")
    learned.prefill_continued("b")
    assert learned.prefill == "trailing"
    assert learned.prefill_state("b") == "continued"
    assert learned.prefill_state("a") == "not used (a reply did not continue the prefill)"
    learned.forget_prefill("HTTP 400 to a prefilled request", "b")
    assert learned.prefill is None
    assert learned.notes[-1].startswith("prefill: no deployment takes it")
