"""Scaling out: the same 120 text inputs x 3 variants against 1, 2 and 4 local servers.

    uv run python benchmarks/scaling.py [--runs 1] [--delay 0.5] [--slots 4] [--no-bytecode] [--json]

Each server (bench_server.py) takes 0.5 s per request and works on at most 4 requests at a time
(the rest queue, as on a GPU server with 4 sequence slots): one server does 8 requests a second,
so the 360 calls alone take 45 s on one server and ideally half that on two, a quarter on four.
probe runs as a subprocess with PROBE_CACHE_DIR in a temporary directory:
    probe funny DIR --model openai/bench --api-base URL1 [--api-base URL2 ...] --api-key x
                    --concurrency 32 --no-cache -o OUT.jsonl
One --api-base is the single-endpoint road (the OpenAI SDK, no LiteLLM); two or more go through
LiteLLM's Router (simple-shuffle). "1 server, --router" runs the single server through the
Router too (a one-deployment --router file), to show what the Router road itself costs.
ratio = wall(n) / (wall(1) / n): 1.00 is perfect scaling. The split is the requests each server
saw; client CPU is the probe child's user+sys CPU per request; the load average at the end says
how busy the shared machine was.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import tempfile
import time
from pathlib import Path

from _common import PYTHON, ROOT, child_cpu, child_env, emit, median
from bench_server import BenchServer

INPUTS, VARIANTS, CONCURRENCY = 120, 3, 32
LITELLM_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_MODE": "PRODUCTION",
    "LITELLM_LOG": "ERROR",
}
SETUPS = {  # name: (servers, through a --router file)
    "1 server": (1, False),
    "1 server, --router": (1, True),
    "2 servers": (2, False),
    "4 servers": (4, False),
}


def write_inputs(directory: Path) -> None:
    scenes = sorted((ROOT / "samples").glob("*.txt"))
    for i in range(INPUTS):
        text = scenes[i % len(scenes)].read_text(encoding="utf-8")
        (directory / f"scene-{i:03d}.txt").write_text(f"{text}\n(Scene {i}.)\n", encoding="utf-8")


def check_records(path: Path) -> int:
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    failed = [
        r["id"]
        for r in records
        if r.get("error") or any(v.get("error") for v in r["variants"].values())
    ]
    if failed or len(records) != INPUTS:
        raise SystemExit(f"{len(records)} records, {len(failed)} with errors: {failed[:3]}")
    return len(records)


def run_probe(
    tmp: Path, env: dict[str, str], servers: int, router: bool, delay_s: float, slots: int
) -> dict:
    out = tmp / "out.jsonl"
    out.unlink(missing_ok=True)
    with contextlib.ExitStack() as stack:
        running = [stack.enter_context(BenchServer(delay_s, slots)) for _ in range(servers)]
        cmd = [PYTHON, "-m", "probe", "funny", str(tmp / "inputs"), "--model", "openai/bench"]
        if router:
            config = tmp / "router.yaml"
            config.write_text(
                "model_list:\n"
                + "".join(
                    "  - model_name: openai/bench\n"
                    f"    litellm_params: {{model: openai/bench, api_base: '{s.base_url}'}}\n"
                    for s in running
                ),
                encoding="utf-8",
            )
            cmd += ["--router", str(config)]
        else:
            cmd += [arg for s in running for arg in ("--api-base", s.base_url)]
        cmd += ["--api-key", "x", "--concurrency", str(CONCURRENCY), "--no-cache", "-o", str(out)]
        cpu_before, start = child_cpu(), time.monotonic()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        end, cpu_s = time.monotonic(), child_cpu() - cpu_before
    if proc.returncode != 0:
        raise SystemExit(f"probe exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    first = min(s.first_arrival for s in running if s.first_arrival)
    last = max(s.last_reply for s in running if s.last_reply)
    return {
        "wall_s": end - start,
        "cpu_ms_per_request": 1000 * cpu_s / sum(s.requests for s in running),
        "start_to_first_request_s": first - start,
        "requests_s": last - first,
        "split": [s.requests for s in running],
        "max_in_flight": [s.max_active for s in running],
        "records_ok": check_records(out),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="timed runs per setup")
    parser.add_argument("--delay", type=float, default=0.5, help="seconds per request")
    parser.add_argument("--slots", type=int, default=4, help="requests a server works on at once")
    parser.add_argument("--no-bytecode", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        (tmp / "inputs").mkdir()
        write_inputs(tmp / "inputs")
        env = child_env(not args.no_bytecode, PROBE_CACHE_DIR=str(tmp / "cache"), **LITELLM_ENV)
        # warm-up: bytecode and disk caches, LiteLLM's included
        run_probe(tmp, env, 4, False, args.delay, args.slots)
        setups = {}
        for setup, (servers, router) in SETUPS.items():
            runs = [
                run_probe(tmp, env, servers, router, args.delay, args.slots)
                for _ in range(args.runs)
            ]
            setups[setup] = {
                "servers": servers,
                "router": router or servers > 1,
                "wall_s": median([r["wall_s"] for r in runs]),
                "start_to_first_request_s": median([r["start_to_first_request_s"] for r in runs]),
                "requests_s": median([r["requests_s"] for r in runs]),
                "cpu_ms_per_request": median([r["cpu_ms_per_request"] for r in runs]),
                "runs": runs,
            }
    one = setups["1 server"]["wall_s"]
    requests_one = setups["1 server"]["requests_s"]
    rows = [
        ("calls", f"{INPUTS} inputs x {VARIANTS} variants, --concurrency {CONCURRENCY}"),
        (
            "per server",
            f"{args.delay} s per request, {args.slots} at a time ({args.slots / args.delay:g}/s)",
        ),
    ]
    for setup, s in setups.items():
        n = s["servers"]
        s["ideal_s"] = one / n
        s["ratio"] = s["wall_s"] / s["ideal_s"]
        s["requests_ratio"] = s["requests_s"] / (requests_one / n)
        split = " / ".join(str(x) for x in s["runs"][0]["split"])
        rows.append(
            (
                setup,
                f"wall {s['wall_s']:.2f} s, ideal {s['ideal_s']:.2f} s, ratio {s['ratio']:.2f}; "
                f"start→first request {s['start_to_first_request_s']:.2f} s, requests "
                f"{s['requests_s']:.2f} s (ratio {s['requests_ratio']:.2f}); split {split}; "
                f"client CPU {s['cpu_ms_per_request']:.1f} ms per request",
            )
        )
    data = {
        "bytecode_cache": not args.no_bytecode,
        "inputs": INPUTS,
        "variants": VARIANTS,
        "delay_s": args.delay,
        "slots_per_server": args.slots,
        "concurrency": CONCURRENCY,
        "setups": setups,
    }
    emit(f"scaling ({args.runs} runs per setup)", rows, data, args.json)


if __name__ == "__main__":
    main()
