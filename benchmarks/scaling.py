"""Scaling out: the same 120 text inputs x 3 variants through LiteLLM's Router to 1, 2 and 4
local servers: one transport throughout, only the number of servers changes.

    uv run python benchmarks/scaling.py [--rounds 3] [--delay 0.5] [--slots 4] [--inputs 120]
        [--routing even] [--other simple-shuffle] [--no-bytecode] [--json]

Each server (bench_server.py) takes 0.5 s per request and works on at most 4 requests at a time
(the rest queue, as on a GPU server with 4 sequence slots): one server does 8 requests a second,
so the 360 calls take 45 s on one server, 22.5 s on two and 11.25 s on four at best.
probe runs as a subprocess with PROBE_CACHE_DIR in a temporary directory:
    probe funny DIR --model openai/bench --router ROUTER.yaml --routing STRATEGY --api-key x
                    --concurrency 32 --no-cache -o OUT.jsonl
ROUTER.yaml lists 1, 2 or 4 deployments (one per server). The 1, 2 and 4 server setups use
--routing (default even, probe's own default); "4 servers, OTHER" runs --other
(default simple-shuffle, LiteLLM's random pick) for comparison. The strategy is named on the command line every time, so
the results say which was measured. The setups run once per round, the order rotating round by round, after
one warm-up run; each run gets fresh servers.

Efficiency at n servers, round by round (paired with the 1-server run of the same round):
requests phase (server timestamps, first request to last reply) = req(1) / (n · req(n)), and
whole wall = wall(1) / (n · wall(n)); 1.00 is perfect scaling. Also: the requests each server saw
(the split) and the largest share's excess over an even split, the client's CPU per request, and
the requests phase against the servers' own limit (calls · delay / (slots · n)).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import PYTHON, ROOT, child_cpu, child_env, emit, interleave, spread, summary
from bench_server import BenchServer

VARIANTS, CONCURRENCY = 3, 32
TARGET_EFFICIENCY_4 = 0.9
LITELLM_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_MODE": "PRODUCTION",
    "LITELLM_LOG": "ERROR",
}
SERVERS = {"1 server": 1, "2 servers": 2, "4 servers": 4}
FIGURES = ("wall_s", "start_to_first_request_s", "requests_s", "cpu_ms_per_request", "imbalance")


def write_inputs(directory: Path, inputs: int) -> None:
    scenes = sorted((ROOT / "samples").glob("*.txt"))
    for i in range(inputs):
        text = scenes[i % len(scenes)].read_text(encoding="utf-8")
        (directory / f"scene-{i:03d}.txt").write_text(f"{text}\n(Scene {i}.)\n", encoding="utf-8")


def check_records(path: Path, inputs: int) -> int:
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    failed = [
        r["id"]
        for r in records
        if r.get("error") or any(v.get("error") for v in r["variants"].values())
    ]
    if failed or len(records) != inputs:
        raise SystemExit(f"{len(records)} records, {len(failed)} with errors: {failed[:3]}")
    return len(records)


def run_probe(
    tmp: Path, env: dict[str, str], servers: int, routing: str, args: argparse.Namespace
) -> dict[str, Any]:
    out = tmp / "out.jsonl"
    out.unlink(missing_ok=True)
    with contextlib.ExitStack() as stack:
        running = [stack.enter_context(BenchServer(args.delay, args.slots)) for _ in range(servers)]
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
        cmd = [PYTHON, "-m", "probe", "funny", str(tmp / "inputs"), "--model", "openai/bench"]
        cmd += ["--router", str(config), "--routing", routing]
        cmd += ["--api-key", "x", "--concurrency", str(CONCURRENCY), "--no-cache", "-o", str(out)]
        cpu_before, start = child_cpu(), time.monotonic()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        end, cpu_s = time.monotonic(), child_cpu() - cpu_before
    if proc.returncode != 0:
        raise SystemExit(f"probe exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    first = min(s.first_arrival for s in running if s.first_arrival)
    last = max(s.last_reply for s in running if s.last_reply)
    split = [s.requests for s in running]
    return {
        "wall_s": end - start,
        "cpu_ms_per_request": 1000 * cpu_s / sum(split),
        "start_to_first_request_s": first - start,
        "requests_s": last - first,
        "split": split,
        # the busiest server's share over an even one: 0 is perfectly even
        "imbalance": max(split) * len(split) / sum(split) - 1,
        "max_in_flight": [s.max_active for s in running],
        "records_ok": check_records(out, args.inputs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (>= 3)")
    parser.add_argument("--delay", type=float, default=0.5, help="seconds per request")
    parser.add_argument("--slots", type=int, default=4, help="requests a server works on at once")
    parser.add_argument("--inputs", type=int, default=120)
    parser.add_argument("--routing", default="even", help="for 1, 2 and 4 servers")
    parser.add_argument("--other", default="simple-shuffle", help="also at 4 servers, to compare")
    parser.add_argument("--no-bytecode", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    calls = args.inputs * VARIANTS

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        (tmp / "inputs").mkdir()
        write_inputs(tmp / "inputs", args.inputs)
        env = child_env(not args.no_bytecode, PROBE_CACHE_DIR=str(tmp / "cache"), **LITELLM_ENV)
        run_probe(tmp, env, 4, args.routing, args)  # warm-up: bytecode, disk caches, LiteLLM's
        plan = {setup: (n, args.routing) for setup, n in SERVERS.items()}
        plan[f"4 servers, {args.other}"] = (4, args.other)
        setups = {
            setup: (lambda n=n, routing=routing: run_probe(tmp, env, n, routing, args))
            for setup, (n, routing) in plan.items()
        }
        runs, rounds = interleave(setups, args.rounds)

    ones = runs["1 server"]
    figures: dict[str, Any] = {}
    for setup, rs in runs.items():
        n, routing = plan[setup]
        f: dict[str, Any] = {"servers": n, "routing": routing}
        f |= summary(rs, FIGURES)
        f["requests_efficiency"] = spread(
            [one["requests_s"] / (n * r["requests_s"]) for one, r in zip(ones, rs, strict=True)]
        )
        f["wall_efficiency"] = spread(
            [one["wall_s"] / (n * r["wall_s"]) for one, r in zip(ones, rs, strict=True)]
        )
        server_limit_s = calls * args.delay / (args.slots * n)
        f["server_limit_s"] = server_limit_s
        f["requests_vs_server_limit"] = spread([r["requests_s"] / server_limit_s for r in rs])
        f["splits"] = [r["split"] for r in rs]
        f["records_ok"] = min(r["records_ok"] for r in rs)
        figures[setup] = f
    eff4 = figures["4 servers"]["requests_efficiency"]["median"]

    rows = [
        ("calls", f"{args.inputs} inputs x {VARIANTS} variants, --concurrency {CONCURRENCY}"),
        (
            "per server",
            f"{args.delay} s per request, {args.slots} at a time ({args.slots / args.delay:g}/s)",
        ),
        ("rounds", f"{args.rounds}, load {' '.join(str(r['load_before']) for r in rounds)}"),
    ]
    for setup, f in figures.items():
        w, q = f["wall_s"], f["requests_s"]
        rows.append(
            (
                setup,
                f"wall {w['min']:.2f}/{w['median']:.2f}/{w['max']:.2f} s, requests phase "
                f"{q['min']:.2f}/{q['median']:.2f}/{q['max']:.2f} s (min/med/max; servers' limit "
                f"{f['server_limit_s']:.2f} s); efficiency: requests "
                f"{f['requests_efficiency']['median']:.2f}, wall {f['wall_efficiency']['median']:.2f}; "
                f"splits {' | '.join('/'.join(map(str, s)) for s in f['splits'])}; "
                f"client CPU {f['cpu_ms_per_request']['median']:.1f} ms per request",
            )
        )
    rows.append(
        (
            f"requests efficiency at 4 >= {TARGET_EFFICIENCY_4}",
            f"{eff4:.2f}: {'met' if eff4 >= TARGET_EFFICIENCY_4 else 'NOT met'}",
        )
    )
    data = {
        "bytecode_cache": not args.no_bytecode,
        "inputs": args.inputs,
        "variants": VARIANTS,
        "delay_s": args.delay,
        "slots_per_server": args.slots,
        "concurrency": CONCURRENCY,
        "transport": "LiteLLM Router (--router file), at every server count",
        "routing": args.routing,
        "other_routing": args.other,
        "target_requests_efficiency_4": TARGET_EFFICIENCY_4,
        "target_met": eff4 >= TARGET_EFFICIENCY_4,
        "rounds": args.rounds,
        "round_loads": rounds,
        "setups": figures,
        "runs": runs,
    }
    emit(f"scaling ({args.rounds} interleaved rounds)", rows, data, args.json)


if __name__ == "__main__":
    main()
