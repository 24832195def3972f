"""The same load as throughput.py without probe: N chat calls, C at a time, through LiteLLM's
`acompletion`, the OpenAI SDK, httpx (the HTTP library under the SDK), or bare HTTP/1.1 on
asyncio streams (the floor the server and the machine allow). Prints one JSON line: import
seconds, seconds from the first call to the last reply, and CPU per call in that phase; then
leaves with os._exit, as probe does, so no client pays the interpreter's teardown.

    uv run python benchmarks/client_loop.py URL {litellm,openai,httpx,http} [--calls 600]
        [--concurrency 32] [--bodies FILE.jsonl]

With --bodies, call i sends the i-th JSON request body of the file (throughput.py records the
bodies probe sends, so every client makes the same calls); without it, a fixed system and user
message with the call's number.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SCENE = (Path(__file__).resolve().parent.parent / "samples" / "dog-wedding.txt").read_text()
Work = Callable[
    [Iterator[int]], Awaitable[None]
]  # one worker: makes calls for the indices it takes


def synthetic(i: int) -> dict[str, Any]:
    return {
        "model": "bench",
        "messages": [
            {"role": "system", "content": "You are a careful assistant."},
            {"role": "user", "content": f'Here is the input:\n"""\n{SCENE} ({i})\n"""\n\nFunny?'},
        ],
        "max_tokens": 200,
        "temperature": 0.0,
    }


def litellm_work(url: str, bodies: list[dict[str, Any]]) -> Work:
    for k, v in {
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_MODE": "PRODUCTION",
        "LITELLM_LOG": "ERROR",
    }.items():
        os.environ.setdefault(k, v)
    import litellm

    litellm.suppress_debug_info = True

    async def work(indices: Iterator[int]) -> None:
        for i in indices:
            body = dict(bodies[i])
            await litellm.acompletion(
                **{**body, "model": "openai/" + body["model"]},
                api_base=url,
                api_key="x",
                timeout=60,
                num_retries=0,
                max_retries=0,
            )

    return work


def openai_work(url: str, bodies: list[dict[str, Any]]) -> Work:
    import openai

    sdk = openai.AsyncOpenAI(base_url=url, api_key="x", max_retries=0, timeout=60)

    async def work(indices: Iterator[int]) -> None:
        for i in indices:
            await sdk.chat.completions.create(**bodies[i])

    return work


def httpx_work(url: str, bodies: list[dict[str, Any]]) -> Work:
    import httpx

    client = httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=1000))

    async def work(indices: Iterator[int]) -> None:
        for i in indices:
            reply = await client.post("/chat/completions", json=bodies[i])
            reply.raise_for_status()
            reply.json()

    return work


def http_work(url: str, bodies: list[dict[str, Any]]) -> Work:
    """Each worker keeps its own connection open and posts the bodies as they are."""
    parts = urlsplit(url)

    async def work(indices: Iterator[int]) -> None:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        for i in indices:
            body = json.dumps(bodies[i]).encode()
            head = (
                f"POST {parts.path}/chat/completions HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            )
            writer.write(head.encode() + body)
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            json.loads(await reader.readexactly(length))
        writer.close()

    return work


CLIENTS = {"litellm": litellm_work, "openai": openai_work, "httpx": httpx_work, "http": http_work}


async def run(work: Work, calls: int, concurrency: int) -> float:
    """Seconds from the first call to the last reply."""
    indices = iter(range(calls))  # shared: each worker takes the next index when it is free
    start = time.perf_counter()
    await asyncio.gather(*(work(indices) for _ in range(concurrency)))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("client", choices=tuple(CLIENTS))
    parser.add_argument("--calls", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--bodies", type=Path, help="JSON lines: one request body per call")
    args = parser.parse_args()
    start = time.perf_counter()
    if args.bodies:
        lines = args.bodies.read_text(encoding="utf-8").splitlines()
        bodies = [json.loads(line) for line in lines if line.strip()][: args.calls]
    else:
        bodies = [synthetic(i) for i in range(args.calls)]
    work = CLIENTS[args.client](args.url, bodies)
    import_s = time.perf_counter() - start
    cpu = time.process_time()
    calls_s = asyncio.run(run(work, len(bodies), args.concurrency))
    cpu_s = time.process_time() - cpu
    result = {
        "client": args.client,
        "calls": len(bodies),
        "import_s": import_s,
        "calls_s": calls_s,
        "cpu_ms_per_call": 1000 * cpu_s / len(bodies),
    }
    print(json.dumps(result), flush=True)
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
