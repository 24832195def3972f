"""Batch throughput: 200 text inputs x 3 variants against a local server with 0.2 s per request.

    uv run python benchmarks/throughput.py [--runs 3] [--no-bytecode] [--profile OUT.prof] [--json]

probe runs as a subprocess:
    probe funny DIR --model openai/bench --api-base URL --api-key x --concurrency 32 --no-cache
                    -o OUT.jsonl [--force no | --align]
with PROBE_CACHE_DIR pointing at a temporary directory. The floor for a run is the calls' own
time at full concurrency plus LiteLLM's import (measured in a fresh subprocess, with the variables
probe sets):  ratio = wall / (200 * 3 * 0.2 / 32 + import);  the target is <= 1.15.
probe reaches openai/NAME at --api-base through the OpenAI SDK and never imports LiteLLM there;
the mode PROBE_TRANSPORT=litellm measures the LiteLLM road against the same floor.
Client CPU per call is the probe child's user+sys CPU (getrusage(RUSAGE_CHILDREN) deltas) divided by
the requests the server saw; for the LiteLLM mode "net" subtracts the CPU of a bare
`import litellm`. The server's
timestamps split each run into start-up, requests and shut-down, and the same 600 calls are also made
without probe (benchmarks/client_loop.py: bare HTTP, the OpenAI SDK, LiteLLM) to show the floors.
"""

from __future__ import annotations

import argparse
import json
import pstats
import subprocess
import tempfile
import time
from pathlib import Path

from _common import PYTHON, ROOT, child_cpu, child_env, emit, median
from bench_server import BenchServer

INPUTS, VARIANTS, DELAY_S, CONCURRENCY, TARGET = 200, 3, 0.2, 32, 1.15
LITELLM_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_MODE": "PRODUCTION",
    "LITELLM_LOG": "ERROR",
}
MODES = {  # name: the options that differ, and the environment
    "default (--force opposite)": ([], {}),
    "--force no": (["--force", "no"], {}),
    "--align": (["--align"], {}),  # sentence alignment is opt-in for records
    # The road every provider other than openai/NAME at --api-base takes.
    "PROBE_TRANSPORT=litellm": ([], {"PROBE_TRANSPORT": "litellm"}),
}
IMPORT_LITELLM = "import time;t=time.perf_counter();import litellm;print(time.perf_counter()-t)"


def write_inputs(directory: Path) -> None:
    scenes = sorted((ROOT / "samples").glob("*.txt"))
    for i in range(INPUTS):
        text = scenes[i % len(scenes)].read_text(encoding="utf-8")
        (directory / f"scene-{i:03d}.txt").write_text(f"{text}\n(Scene {i}.)\n", encoding="utf-8")


def litellm_import(env: dict[str, str], runs: int = 3) -> tuple[float, float]:
    """Median seconds and CPU seconds of `import litellm` in a fresh subprocess (after a warm-up)."""
    seconds, cpu = [], []
    for i in range(runs + 1):
        before = child_cpu()
        out = subprocess.run(
            [PYTHON, "-c", IMPORT_LITELLM], env=env, capture_output=True, text=True, check=True
        )
        if i:
            seconds.append(float(out.stdout))
            cpu.append(child_cpu() - before)
    return median(seconds), median(cpu)


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


def run_probe(
    tmp: Path, env: dict[str, str], options: list[str], profile: Path | None = None
) -> dict:
    out = tmp / "out.jsonl"
    out.unlink(missing_ok=True)
    prefix = ["-m", "cProfile", "-o", str(profile)] if profile else []
    with BenchServer(DELAY_S) as server:
        cmd = [PYTHON, *prefix, "-m", "probe", "funny", str(tmp / "inputs")]
        cmd += ["--model", "openai/bench", "--api-base", server.base_url, "--api-key", "x"]
        cmd += ["--concurrency", str(CONCURRENCY), "--no-cache", "-o", str(out), *options]
        cpu_before, start = child_cpu(), time.monotonic()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        end, cpu_s = time.monotonic(), child_cpu() - cpu_before
    if proc.returncode != 0:
        raise SystemExit(f"probe exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return {
        "wall_s": end - start,
        "cpu_s": cpu_s,
        # where the wall time went, as the server saw it
        "start_to_first_request_s": server.first_arrival - start,
        "first_request_to_last_reply_s": server.last_reply - server.first_arrival,
        "last_reply_to_exit_s": end - server.last_reply,
        "in_flight_per_half_second": [round(x, 1) for x in server.in_flight(0.5)],
        "requests": server.requests,
        "max_in_flight": server.max_active,
        "records_ok": check_records(out),
    }


def client_floor(env: dict[str, str], client: str) -> dict:
    """The same 600 calls at 32 through one client alone (benchmarks/client_loop.py)."""
    with BenchServer(DELAY_S) as server:
        cmd = [PYTHON, str(ROOT / "benchmarks" / "client_loop.py"), server.base_url, client]
        cmd += ["--calls", str(INPUTS * VARIANTS), "--concurrency", str(CONCURRENCY)]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


PHASES = ("start_to_first_request_s", "first_request_to_last_reply_s", "last_reply_to_exit_s")


def summarise(runs: list[dict], floor_s: float, import_cpu_s: float | None) -> dict:
    """Medians over one mode's runs, the ratio to the floor, and CPU per request."""
    wall_s = median([r["wall_s"] for r in runs])
    cpu_s = median([r["cpu_s"] for r in runs])
    requests = runs[0]["requests"]
    return {
        "wall_s": wall_s,
        **{k: median([r[k] for r in runs]) for k in PHASES},
        "ratio": wall_s / floor_s,
        "meets_target": wall_s / floor_s <= TARGET,
        "cpu_ms_per_call": 1000 * cpu_s / requests,
        "net_cpu_ms_per_call": (
            None if import_cpu_s is None else 1000 * (cpu_s - import_cpu_s) / requests
        ),
        "requests": requests,
        "max_in_flight": max(r["max_in_flight"] for r in runs),
        "records_ok": runs[0]["records_ok"],
        "runs": runs,
    }


def mode_rows(mode: str, m: dict) -> list[tuple[str, str]]:
    in_flight = m["runs"][0]["in_flight_per_half_second"]
    return [
        (f"{mode}: wall (median)", f"{m['wall_s']:.2f} s"),
        (
            f"{mode}: ratio",
            f"{m['ratio']:.2f}  ({'meets' if m['meets_target'] else 'MISSES'} <= {TARGET})",
        ),
        (
            f"{mode}: phases",
            f"start→first request {m['start_to_first_request_s']:.2f} s, "
            f"requests {m['first_request_to_last_reply_s']:.2f} s, "
            f"last reply→exit {m['last_reply_to_exit_s']:.2f} s",
        ),
        (f"{mode}: in flight per 0.5 s", " ".join(f"{x:.0f}" for x in in_flight)),
        (
            f"{mode}: CPU per request",
            f"{m['cpu_ms_per_call']:.1f} ms"
            + (
                f"  (net of litellm import: {m['net_cpu_ms_per_call']:.1f} ms)"
                if m["net_cpu_ms_per_call"] is not None
                else ""
            ),
        ),
        (
            f"{mode}: server saw",
            f"{m['requests']} requests, at most {m['max_in_flight']} at once; "
            f"{m['records_ok']} records, none failed",
        ),
    ]


def print_profile(path: Path, limit: int = 25) -> None:
    for key in ("tottime", "cumulative"):
        print(f"\n--- cProfile of the probe child, top {limit} by {key} ---")
        pstats.Stats(str(path)).sort_stats(key).print_stats(limit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per mode")
    parser.add_argument("--no-bytecode", action="store_true")
    parser.add_argument("--profile", type=Path, help="also profile one default run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        (tmp / "inputs").mkdir()
        write_inputs(tmp / "inputs")
        env = child_env(not args.no_bytecode, PROBE_CACHE_DIR=str(tmp / "cache"), **LITELLM_ENV)
        import_s, import_cpu_s = litellm_import(env)
        floor_s = INPUTS * VARIANTS * DELAY_S / CONCURRENCY + import_s
        run_probe(tmp, env, ["--force", "no"])  # warm-up: bytecode and disk caches
        modes = {
            mode: summarise(
                [run_probe(tmp, {**env, **extra}, options) for _ in range(args.runs)],
                floor_s,
                import_cpu_s if "PROBE_TRANSPORT" in extra else None,
            )
            for mode, (options, extra) in MODES.items()
        }
        floors = {}
        for client in ("http", "openai", "litellm"):
            results = [client_floor(env, client) for _ in range(args.runs)]
            floors[client] = {
                k: median([r[k] for r in results])
                for k in ("import_s", "calls_s", "cpu_ms_per_call")
            }
        if args.profile:
            run_probe(tmp, env, [], profile=args.profile)

    rows = [
        ("litellm import (fresh process)", f"{import_s:.2f} s  ({import_cpu_s:.2f} s CPU)"),
        ("floor = 200*3*0.2/32 + import", f"{floor_s:.2f} s"),
    ]
    for mode, m in modes.items():
        rows += mode_rows(mode, m)
    ideal_calls_s = INPUTS * VARIANTS * DELAY_S / CONCURRENCY
    for client, f in floors.items():
        rows.append(
            (
                f"same 600 calls, {client} alone",
                f"requests {f['calls_s']:.2f} s (ideal {ideal_calls_s:.2f}), "
                f"{f['cpu_ms_per_call']:.1f} ms CPU per call, import {f['import_s']:.2f} s",
            )
        )
    data = {
        "bytecode_cache": not args.no_bytecode,
        "inputs": INPUTS,
        "delay_s": DELAY_S,
        "concurrency": CONCURRENCY,
        "litellm_import_s": import_s,
        "litellm_import_cpu_s": import_cpu_s,
        "floor_s": floor_s,
        "target_ratio": TARGET,
        "modes": modes,
        "client_floors": floors,
    }
    bytecode = "no bytecode" if args.no_bytecode else "bytecode cached"
    emit(f"throughput ({args.runs} runs per mode, {bytecode})", rows, data, args.json)
    if args.profile and not args.json:
        print_profile(args.profile)


if __name__ == "__main__":
    main()
