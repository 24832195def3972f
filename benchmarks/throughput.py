"""Batch throughput: 200 text inputs x 3 variants against a local server with 0.2 s per request,
probe beside the floors (the same 600 calls made by bare HTTP, httpx, the OpenAI SDK, LiteLLM).

    uv run python benchmarks/throughput.py [--rounds 3] [--no-bytecode] [--profile OUT.prof] [--json]

probe runs as a subprocess:
    probe funny DIR --model openai/bench --api-base URL --api-key x --concurrency 32 --no-cache
                    -o OUT.jsonl [--force no | --align]
with PROBE_CACHE_DIR pointing at a temporary directory; "probe, LiteLLM road" sets
PROBE_TRANSPORT=litellm (the road of every provider other than openai/NAME at --api-base).

The ideal is N·V·L/C = 200 · 3 · 0.2 s / 32 = 3.75 s and nothing else: the server's own time at
full concurrency, no process start, no import. The floors are whole processes too
(benchmarks/client_loop.py, fresh interpreter, its import, the calls, os._exit), each sending the
600 request bodies probe sent in its warm-up run (recorded at the server), 32 at a time: raw
HTTP/1.1 on asyncio streams, httpx, the OpenAI SDK, LiteLLM's acompletion. Every setup runs once
per round, the order rotating round by round (A B C …, B C … A, …), after one warm-up run each;
each run gets a fresh server. Per setup: min / median / max of the wall time, the client's CPU per
call (getrusage(RUSAGE_CHILDREN) deltas ÷ requests the server saw), and the phases the server's
timestamps give (start → first request, first request → last reply, last reply → exit); the
ratios probe ÷ ideal and probe ÷ OpenAI SDK are taken round by round (paired). The goal: probe's
whole batch within 1.1x the OpenAI SDK making the same calls.
"""

from __future__ import annotations

import argparse
import json
import pstats
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    PYTHON,
    ROOT,
    child_cpu,
    child_env,
    emit,
    interleave,
    load,
    paired,
    summary,
)
from bench_server import BenchServer

INPUTS, VARIANTS, DELAY_S, CONCURRENCY = 200, 3, 0.2, 32
IDEAL_S = INPUTS * VARIANTS * DELAY_S / CONCURRENCY  # N·V·L/C
GOAL_VS_SDK = 1.1
LITELLM_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_MODE": "PRODUCTION",
    "LITELLM_LOG": "ERROR",
}
PROBE = {  # setup: (probe's extra options, extra environment)
    "probe": ([], {}),
    "probe --force no": (["--force", "no"], {}),
    "probe --align": (["--align"], {}),
    "probe, LiteLLM road": ([], {"PROBE_TRANSPORT": "litellm"}),
}
FLOORS = {  # setup: client_loop.py's client
    "raw HTTP (asyncio streams)": "http",
    "httpx": "httpx",
    "OpenAI SDK": "openai",
    "LiteLLM": "litellm",
}
SDK = "OpenAI SDK"
FIGURES = (
    "wall_s",
    "cpu_ms_per_call",
    "start_to_first_request_s",
    "first_request_to_last_reply_s",
    "last_reply_to_exit_s",
    "max_in_flight",
)


def write_inputs(directory: Path) -> None:
    scenes = sorted((ROOT / "samples").glob("*.txt"))
    for i in range(INPUTS):
        text = scenes[i % len(scenes)].read_text(encoding="utf-8")
        (directory / f"scene-{i:03d}.txt").write_text(f"{text}\n(Scene {i}.)\n", encoding="utf-8")


def check_records(path: Path) -> int:
    """How many records succeeded; raises if any did not."""
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    failed = [
        r["id"]
        for r in records
        if r.get("error") or any(v.get("error") for v in r["variants"].values())
    ]
    if failed or len(records) != INPUTS:
        raise SystemExit(f"{len(records)} records, {len(failed)} with errors: {failed[:3]}")
    return len(records)


def timed(cmd: list[str], env: dict[str, str], server: BenchServer) -> dict[str, Any]:
    """Run one whole process against `server`; its wall, CPU and the server's phases."""
    cpu_before, start = child_cpu(), time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    end, cpu_s = time.monotonic(), child_cpu() - cpu_before
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:4]} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return {
        "wall_s": end - start,
        "cpu_s": cpu_s,
        "cpu_ms_per_call": 1000 * cpu_s / server.requests,
        "start_to_first_request_s": server.first_arrival - start,
        "first_request_to_last_reply_s": server.last_reply - server.first_arrival,
        "last_reply_to_exit_s": end - server.last_reply,
        "in_flight_per_half_second": [round(x, 1) for x in server.in_flight(0.5)],
        "requests": server.requests,
        "max_in_flight": server.max_active,
        "stdout": proc.stdout,
    }


def run_probe(
    tmp: Path,
    env: dict[str, str],
    options: list[str],
    profile: Path | None = None,
    keep_bodies: bool = False,
) -> dict[str, Any]:
    out = tmp / "out.jsonl"
    out.unlink(missing_ok=True)
    # probe leaves with os._exit, so `python -m cProfile` would write nothing: profile_run.py
    head = (
        [str(ROOT / "benchmarks" / "profile_run.py"), str(profile)] if profile else ["-m", "probe"]
    )
    with BenchServer(DELAY_S, keep_bodies=keep_bodies) as server:
        cmd = [PYTHON, *head, "funny", str(tmp / "inputs")]
        cmd += ["--model", "openai/bench", "--api-base", server.base_url, "--api-key", "x"]
        cmd += ["--concurrency", str(CONCURRENCY), "--no-cache", "-o", str(out), *options]
        result = timed(cmd, env, server)
    del result["stdout"]
    result["records_ok"] = check_records(out)
    if keep_bodies:
        result["bodies"] = server.bodies
    return result


def run_floor(env: dict[str, str], client: str, bodies: Path) -> dict[str, Any]:
    """The same 600 calls at 32 through one client alone (benchmarks/client_loop.py)."""
    with BenchServer(DELAY_S) as server:
        cmd = [PYTHON, str(ROOT / "benchmarks" / "client_loop.py"), server.base_url, client]
        cmd += ["--bodies", str(bodies), "--concurrency", str(CONCURRENCY)]
        result = timed(cmd, env, server)
    inner = json.loads(result.pop("stdout"))
    result["import_s"] = inner["import_s"]
    return result


def print_profile(path: Path, limit: int = 25) -> None:
    for key in ("tottime", "cumulative"):
        print(f"\n--- cProfile of the probe child, top {limit} by {key} ---")
        pstats.Stats(str(path)).sort_stats(key).print_stats(limit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (>= 3)")
    parser.add_argument("--no-bytecode", action="store_true")
    parser.add_argument("--profile", type=Path, help="also profile one default run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        (tmp / "inputs").mkdir()
        write_inputs(tmp / "inputs")
        env = child_env(not args.no_bytecode, PROBE_CACHE_DIR=str(tmp / "cache"), **LITELLM_ENV)
        bodies = tmp / "bodies.jsonl"
        setups = {
            setup: (lambda options=options, extra=extra: run_probe(tmp, {**env, **extra}, options))
            for setup, (options, extra) in PROBE.items()
        }
        setups |= {
            setup: (lambda client=client: run_floor(env, client, bodies))
            for setup, client in FLOORS.items()
        }
        # warm-ups (bytecode and disk caches), not counted; the first records probe's bodies
        warm = run_probe(tmp, env, [], keep_bodies=True)
        bodies.write_bytes(b"\n".join(warm["bodies"]) + b"\n")
        for setup, run in setups.items():
            if setup != "probe":
                run()
        load_after_warmup = load()
        runs, rounds = interleave(setups, args.rounds)
        if args.profile:
            run_probe(tmp, env, [], profile=args.profile)

    figures = {setup: summary(rs, FIGURES) for setup, rs in runs.items()}
    for setup, rs in runs.items():
        figures[setup]["vs_ideal"] = summary([{"r": r["wall_s"] / IDEAL_S} for r in rs], ("r",))[
            "r"
        ]
        figures[setup]["vs_openai_sdk"] = paired(rs, runs[SDK], "wall_s")
        figures[setup]["requests"] = rs[0]["requests"]
        if "records_ok" in rs[0]:
            figures[setup]["records_ok"] = min(r["records_ok"] for r in rs)
        if "import_s" in rs[0]:
            figures[setup]["import_s"] = summary(rs, ("import_s",))["import_s"]
    headline = figures["probe"]
    goal_met = headline["vs_openai_sdk"]["median"] <= GOAL_VS_SDK

    rows = [
        ("ideal = N·V·L/C", f"{INPUTS}·{VARIANTS}·{DELAY_S}/{CONCURRENCY} = {IDEAL_S:.2f} s"),
        ("rounds", f"{args.rounds}, load {' '.join(str(r['load_before']) for r in rounds)}"),
    ]
    for setup, f in figures.items():
        w = f["wall_s"]
        rows.append(
            (
                setup,
                f"wall {w['min']:.2f} / {w['median']:.2f} / {w['max']:.2f} s (min/med/max), "
                f"÷ ideal {f['vs_ideal']['median']:.2f}, ÷ SDK {f['vs_openai_sdk']['median']:.2f} "
                f"({f['vs_openai_sdk']['min']:.2f}–{f['vs_openai_sdk']['max']:.2f}); "
                f"phases {f['start_to_first_request_s']['median']:.2f} + "
                f"{f['first_request_to_last_reply_s']['median']:.2f} + "
                f"{f['last_reply_to_exit_s']['median']:.2f} s; "
                f"CPU {f['cpu_ms_per_call']['median']:.1f} ms/call",
            )
        )
    rows.append(
        (
            "goal: probe ÷ OpenAI SDK <= 1.1",
            f"{headline['vs_openai_sdk']['median']:.2f}: {'met' if goal_met else 'NOT met'}",
        )
    )
    data = {
        "bytecode_cache": not args.no_bytecode,
        "inputs": INPUTS,
        "variants": VARIANTS,
        "delay_s": DELAY_S,
        "concurrency": CONCURRENCY,
        "ideal_s": IDEAL_S,
        "goal_vs_openai_sdk": GOAL_VS_SDK,
        "goal_met": goal_met,
        "rounds": args.rounds,
        "round_loads": rounds,
        "load_after_warmup": load_after_warmup,
        "setups": figures,
        "runs": runs,
    }
    bytecode = "no bytecode" if args.no_bytecode else "bytecode cached"
    emit(f"throughput ({args.rounds} interleaved rounds, {bytecode})", rows, data, args.json)
    if args.profile and not args.json:
        print_profile(args.profile)


if __name__ == "__main__":
    main()
