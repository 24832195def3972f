"""--rpm is a bound on every request a run sends, counted where it lands: at a scripted server on
127.0.0.1. Retries, the judge's calls and remote embedding requests wait their turn like the
model's first attempts; a busy event loop does not let waiters through together."""

import asyncio
import hashlib
import itertools
import json
import time

import pytest

from probe.providers.limits import RateLimiter
from tests.conftest import SAMPLES
from tests.helpers import records_of, run_cli
from tests.scripted_server import Reply, ScriptedServer, steady_model

KEY = "sk-test-limits-0123456789"
RPM = 240  # one request every 0.25 s
SLACK = 0.03  # arrival jitter at the server: the client spaces sends, the server sees arrivals


def _embedding(payload):
    """An OpenAI embeddings reply: a small vector drawn from each text's hash."""
    data = []
    for i, text in enumerate(payload["input"]):
        digest = hashlib.sha256(text.encode()).digest()
        data.append({"object": "embedding", "index": i, "embedding": [b / 255 for b in digest[:8]]})
    body = {
        "object": "list",
        "data": data,
        "model": "emb",
        "usage": {"prompt_tokens": 1, "total_tokens": 1},
    }
    return Reply(body=json.dumps(body).encode())


def _model_judge_and_embeddings(payload, n):
    if "input" in payload:
        return _embedding(payload)
    if n == 1:  # a server fault asking for an immediate retry: the retry still waits its turn
        return Reply("overloaded", status=500, headers={"Retry-After": "0"})
    if payload["model"] == "judge":
        return Reply("Yes.")
    return steady_model(payload, n)


@pytest.mark.usefixtures("transport")
def test_rpm_bounds_retries_judge_calls_and_embeddings_alike(monkeypatch):
    with ScriptedServer(_model_judge_and_embeddings) as server:
        # the embedding model has no --api-base of its own: LiteLLM finds the server here
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        result = run_cli(
            "funny",
            SAMPLES / "dog-wedding.txt",
            "--model",
            "openai/scripted",
            "--api-base",
            server.base_url,
            "--api-key",
            KEY,
            "--judge",
            "openai/judge",
            "--judge-api-base",
            server.base_url,
            "--align",
            "--embed-model",
            "openai/emb",
            "--force",
            "no",
            "--force-via",
            "note",
            "--rpm",
            str(RPM),
            "--no-cache",
            "--jsonl",
        )
    assert result.exit_code == 0, result.stderr
    [record] = records_of(result)
    kinds = [
        "embedding" if "input" in p else "judge" if p["model"] == "judge" else "model"
        for p in server.requests
    ]
    assert kinds.count("model") == 4  # a 500 and its retry, then the two other variants
    assert kinds.count("judge") >= 2 and kinds.count("embedding") >= 1
    assert record["variants"]["forced"]["alignment"]["pairs"] is not None
    # counted per window at the server: never two requests within 60/RPM s of each other
    gaps = [b - a for a, b in itertools.pairwise(server.arrivals)]
    assert min(gaps) >= 60 / RPM - SLACK, list(zip(kinds[1:], gaps, strict=True))


def test_waiters_woken_late_by_a_busy_loop_still_go_one_interval_apart():
    """An event loop blocked for a while (a first call importing its client: ~1 s here) wakes
    every sleeping waiter at once; each must still take its own turn."""

    async def run() -> list[float]:
        limiter = RateLimiter(600)  # one every 0.1 s
        starts: list[float] = []

        async def request() -> None:
            await limiter.wait()
            starts.append(time.monotonic())

        tasks = [asyncio.create_task(request()) for _ in range(4)]
        await asyncio.sleep(0)  # the first goes at once, the others sleep
        time.sleep(0.5)  # the loop is busy past all their wake-up times
        await asyncio.gather(*tasks)
        return starts

    starts = asyncio.run(run())
    assert len(starts) == 4
    assert min(b - a for a, b in itertools.pairwise(starts)) >= 0.1 - 0.005
