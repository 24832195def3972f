"""What a run spends: replies from the cache cost nothing, and the summary says what they saved.

The scripted server (tests/scripted_server.py) answers as `openai/gpt-4`, called through LiteLLM
(PROBE_TRANSPORT=litellm), whose bundled price map knows that model: every reply has a price
without any key or network.
"""

import asyncio
import json
import re

import pytest

from probe.providers.base import Completion, Request
from probe.providers.cache import CachedProvider, ResponseCache
from probe.providers.capabilities import Capabilities
from tests.conftest import SAMPLES
from tests.helpers import file_records, run_cli
from tests.scripted_server import ScriptedServer, steady_model

SCENES = [SAMPLES / "dog-wedding.txt", SAMPLES / "cat-in-cake-box.txt"]


def _priced_run(base, out, *inputs):
    args = ["--model", "openai/gpt-4", "--api-base", base, "--api-key", "sk-test-cost"]
    return run_cli("funny", *inputs, "-o", out, *args, "--retries", "0", "--timeout", "5")


def _cost_line(stderr):
    line = next(line for line in stderr.splitlines() if re.match(r"\s*cost\s", line))
    return " ".join(line.split())


@pytest.fixture
def priced(monkeypatch):
    monkeypatch.setenv("PROBE_TRANSPORT", "litellm")


def test_a_fully_cached_rerun_spends_nothing_and_says_what_the_cache_saved(tmp_path, priced):
    with ScriptedServer(steady_model) as server:
        first = _priced_run(server.base_url, tmp_path / "first.jsonl", SCENES[0])
        calls = len(server.requests)
        again = _priced_run(server.base_url, tmp_path / "again.jsonl", SCENES[0])
        assert len(server.requests) == calls == 3  # the re-run made no call
    assert first.exit_code == again.exit_code == 0, first.stderr + again.stderr
    [paid], [free] = file_records(tmp_path / "first.jsonl"), file_records(tmp_path / "again.jsonl")
    costs = {name: v["cost_usd"] for name, v in paid["variants"].items()}
    assert all(c > 0 for c in costs.values())
    assert all(v["cost_saved_usd"] is None for v in paid["variants"].values())
    for name, v in free["variants"].items():
        assert v["cached"] is True
        assert v["cost_usd"] == 0.0
        assert v["cost_saved_usd"] == costs[name]
    total = sum(costs.values())
    assert f"{total:.4f}" != "0.0000"  # the price is big enough to show
    assert _cost_line(first.stderr) == f"cost ${total:.4f} spent"
    assert _cost_line(again.stderr) == f"cost $0.0000 spent (cache saved ${total:.4f})"
    assert "0 made, 3 from cache" in again.stderr


def test_a_partly_cached_run_counts_only_the_new_calls_as_spent(tmp_path, priced):
    with ScriptedServer(steady_model) as server:
        _priced_run(server.base_url, tmp_path / "one.jsonl", SCENES[0])
        both = _priced_run(server.base_url, tmp_path / "both.jsonl", *SCENES)
        assert len(server.requests) == 6
    assert both.exit_code == 0, both.stderr
    by_id = {r["id"]: r for r in file_records(tmp_path / "both.jsonl")}
    new = sum(v["cost_usd"] for v in by_id[str(SCENES[1])]["variants"].values())
    saved = sum(v["cost_saved_usd"] for v in by_id[str(SCENES[0])]["variants"].values())
    assert new > 0 and saved > 0
    assert _cost_line(both.stderr) == f"cost ${new:.4f} spent (cache saved ${saved:.4f})"


class _Once:
    """A provider that answers once, with a price and a reason to stop."""

    model = "scripted/once"
    capabilities = Capabilities(prefill=None, prefill_known=True, logprobs=False, vision=False)

    def __init__(self):
        self.calls = 0

    async def complete(self, request):
        self.calls += 1
        return Completion(text="Yes.", raw="Yes.", cost_usd=0.25, finish_reason="length")


def _ask(provider):
    messages = [{"role": "user", "content": "Funny?"}]
    return asyncio.run(provider.complete(Request(messages, max_tokens=5, temperature=0.0)))


def test_a_cached_reply_keeps_its_finish_reason_and_costs_nothing(tmp_path):
    inner = _Once()
    cached = CachedProvider(inner, ResponseCache(tmp_path))
    made, reused = _ask(cached), _ask(cached)
    assert inner.calls == 1
    assert (made.cost_usd, made.cost_saved_usd, made.cached) == (0.25, None, False)
    assert (reused.cost_usd, reused.cost_saved_usd, reused.cached) == (0.0, 0.25, True)
    assert reused.finish_reason == "length"


def test_cache_entries_from_before_finish_reason_still_load(tmp_path):
    cache = ResponseCache(tmp_path)
    inner = _Once()
    _ask(CachedProvider(inner, cache))
    [(key, value)] = cache._db.execute("SELECT key, value FROM responses").fetchall()
    old = {k: v for k, v in json.loads(value).items() if k != "finish_reason"}
    cache.put(key, old)  # as an older probe stored it
    reused = _ask(CachedProvider(inner, cache))
    assert inner.calls == 1
    assert reused.cached and reused.finish_reason is None and reused.cost_saved_usd == 0.25
