"""Head-to-head with inspect_ai: the same 3-variant probe of the same 200 text inputs against the
same local server (bench_server.py, 0.2 s per request), written idiomatically in each.

    uv run python benchmarks/vs_inspect.py [--rounds 3] [--json]

probe:    probe ask "Is this scene funny?" DIR --model openai/bench --api-base URL --api-key x
                    --concurrency 32 --no-cache -o OUT.jsonl
inspect:  inspect eval benchmarks/inspect_task.py -T inputs=DIR --model openai-api/bench/bench
                    --max-connections 32 --log-dir TMP --display none
          (BENCH_BASE_URL=URL, BENCH_API_KEY=x; benchmarks/inspect_task.py: a Task whose 200
          Samples go through three solvers: decide-first, forced by a prefilled assistant turn
          with the opposite of decide-first's answer, explain-first; and a scorer)

The same concurrency knob on both sides: probe's --concurrency 32, inspect's --max-connections
32 (which, given explicitly, also turns off inspect's adaptive connections and sets max_samples
to 32). inspect runs in its own locked environment, benchmarks/inspect_env (inspect-ai 0.3.285
needs openai >= 3.4 at run time, probe's litellm needs openai < 3: they cannot share one), which
this script syncs first; probe runs in the project's. Both get XDG_DATA_HOME, XDG_CACHE_HOME,
XDG_CONFIG_HOME and inspect's log directory inside a temporary directory, and no INSPECT_*
variable but INSPECT_LOG_DIR (so no INSPECT_TELEMETRY or INSPECT_REQUIRED_HOOKS).

First a warm-up run of each (bytecode and disk caches) under benchmarks/offline_guard.py, which
refuses and logs any connection or name lookup that is not loopback: the count is reported. Then
`--rounds` rounds run `python -m probe` and `python -m inspect_ai` back to back (no guard: its
audit hook costs each import), alternating which goes first. Per run: wall time (start to exit);
client CPU per call = the child's user+sys CPU (getrusage(RUSAGE_CHILDREN) before and after; the
child is reaped with os.wait4) divided by the requests the server saw; peak memory = ru_maxrss
from os.wait4 of that child; the server's timestamps (start-up, requests, exit); and the request
bodies, hashed, to check that both sides sent the same 600 requests.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import bench_server
from _common import PYTHON, ROOT, child_cpu, child_env, emit, median
from bench_server import BenchServer
from throughput import write_inputs

INPUTS, VARIANTS, DELAY_S, CONCURRENCY = 200, 3, 0.2, 32
QUESTION = "Is this scene funny?"  # benchmarks/inspect_task.py asks the same
BENCH = ROOT / "benchmarks"
INSPECT_ENV = BENCH / "inspect_env"
INSPECT_PYTHON = INSPECT_ENV / ".venv" / "bin" / "python"
GUARD = BENCH / "offline_guard.py"

# Every request body either side sends, hashed, for the current run.
_seen: list[str] = []
_reply_text = bench_server.reply_text


def _recording_reply_text(payload: dict[str, Any]) -> str:
    _seen.append(hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest())
    return _reply_text(payload)


bench_server.reply_text = _recording_reply_text


def sync_inspect_env() -> str:
    cmd = ["uv", "sync", "--locked", "--quiet", "--project", str(INSPECT_ENV)]
    subprocess.run([*cmd, "--python", PYTHON], check=True)
    out = subprocess.run(
        [
            str(INSPECT_PYTHON),
            "-c",
            "import inspect_ai, openai; print(inspect_ai.__version__, openai.__version__)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def environment(tmp: Path, url: str) -> dict[str, str]:
    env = child_env(
        True,
        PROBE_CACHE_DIR=str(tmp / "probe-cache"),
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        LITELLM_MODE="PRODUCTION",
        LITELLM_LOG="ERROR",
        BENCH_BASE_URL=url,
        BENCH_API_KEY="x",
        INSPECT_LOG_DIR=str(tmp / "inspect-logs"),
        XDG_DATA_HOME=str(tmp / "xdg-data"),
        XDG_CACHE_HOME=str(tmp / "xdg-cache"),
        XDG_CONFIG_HOME=str(tmp / "xdg-config"),
        OFFLINE_GUARD_LOG=str(tmp / "guard.log"),
    )
    for name in list(env):
        if name.startswith("INSPECT_") and name != "INSPECT_LOG_DIR":
            env.pop(name)  # INSPECT_TELEMETRY, INSPECT_REQUIRED_HOOKS, INSPECT_EVAL_MODEL, ...
    return env


def command(tool: str, tmp: Path, url: str, guarded: bool) -> list[str]:
    """`python -m MODULE ...`, or under offline_guard.py (the warm-ups)."""
    python = PYTHON if tool == "probe" else str(INSPECT_PYTHON)
    module = "probe" if tool == "probe" else "inspect_ai"
    cmd = [python, str(GUARD), module] if guarded else [python, "-m", module]
    inputs = str(tmp / "inputs")
    if tool == "probe":
        cmd += ["ask", QUESTION, inputs, "--model", "openai/bench", "--api-base", url]
        cmd += ["--api-key", "x", "--concurrency", str(CONCURRENCY), "--no-cache"]
        return cmd + ["-o", str(tmp / "out.jsonl")]
    cmd += ["eval", "benchmarks/inspect_task.py"]  # inspect wants it relative to the cwd
    cmd += ["-T", f"inputs={inputs}", "--model", "openai-api/bench/bench"]
    cmd += ["--max-connections", str(CONCURRENCY), "--log-dir", str(tmp / "inspect-logs")]
    return cmd + ["--display", "none"]


def reset_outputs(tmp: Path) -> None:
    (tmp / "out.jsonl").unlink(missing_ok=True)
    shutil.rmtree(tmp / "inspect-logs", ignore_errors=True)


def output_bytes(tool: str, tmp: Path) -> int:
    if tool == "probe":
        return (tmp / "out.jsonl").stat().st_size
    return sum(f.stat().st_size for f in (tmp / "inspect-logs").rglob("*") if f.is_file())


def check_probe(tmp: Path) -> str:
    records = [json.loads(x) for x in (tmp / "out.jsonl").read_text().splitlines() if x.strip()]
    failed = [r["id"] for r in records if r.get("error")]
    verdicts = collections.Counter(r["verdict"] for r in records)
    if failed or len(records) != INPUTS:
        raise SystemExit(f"probe: {len(records)} records, {len(failed)} failed: {failed[:3]}")
    return f"{len(records)} records, verdicts {dict(verdicts)}"


CHECK_INSPECT = """
import sys
from inspect_ai.log import list_eval_logs, read_eval_log
[info] = list_eval_logs(sys.argv[1])
log = read_eval_log(info, header_only=True)
r = log.results
print(log.status, r.total_samples, r.completed_samples, r.scores[0].metrics["accuracy"].value)
"""


def check_inspect(tmp: Path) -> str:
    out = subprocess.run(
        [str(INSPECT_PYTHON), "-c", CHECK_INSPECT, str(tmp / "inspect-logs")],
        capture_output=True,
        text=True,
        check=True,
    )
    status, total, completed, agreement = out.stdout.split()
    if status != "success" or int(completed) != INPUTS:
        raise SystemExit(f"inspect: {out.stdout}")
    return f"status {status}, {completed}/{total} samples, order agreement {float(agreement):.2f}"


def run(tool: str, tmp: Path, guarded: bool = False) -> dict[str, Any]:
    reset_outputs(tmp)
    _seen.clear()
    with BenchServer(DELAY_S) as server:
        env = environment(tmp, server.base_url)
        with open(tmp / f"{tool}.stdout", "wb") as out, open(tmp / f"{tool}.stderr", "wb") as err:
            cpu_before, start = child_cpu(), time.monotonic()
            proc = subprocess.Popen(
                command(tool, tmp, server.base_url, guarded),
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=err,
            )
            _, status, usage = os.wait4(proc.pid, 0)
            end, cpu_s = time.monotonic(), child_cpu() - cpu_before
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = (tmp / f"{tool}.stderr").read_text(errors="replace")[-2000:]
        raise SystemExit(f"{tool} exited {proc.returncode}:\n{tail}")
    assert server.first_arrival is not None and server.last_reply is not None
    return {
        "wall_s": end - start,
        "cpu_s": cpu_s,
        "cpu_ms_per_call": 1000 * cpu_s / server.requests,
        "peak_rss_mib": usage.ru_maxrss / 1024,
        "requests": server.requests,
        "max_in_flight": server.max_active,
        "start_to_first_request_s": server.first_arrival - start,
        "first_request_to_last_reply_s": server.last_reply - server.first_arrival,
        "last_reply_to_exit_s": end - server.last_reply,
        "in_flight_per_half_second": [round(x, 1) for x in server.in_flight(0.5)],
        "output_bytes": output_bytes(tool, tmp),
        "check": check_probe(tmp) if tool == "probe" else check_inspect(tmp),
        "request_digests": collections.Counter(_seen),
    }


KEYS = (
    "wall_s",
    "cpu_ms_per_call",
    "peak_rss_mib",
    "start_to_first_request_s",
    "first_request_to_last_reply_s",
    "last_reply_to_exit_s",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of each, interleaved")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    versions = sync_inspect_env()
    runs: dict[str, list[dict[str, Any]]] = {"probe": [], "inspect": []}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        (tmp / "inputs").mkdir()
        write_inputs(tmp / "inputs")
        for tool in ("probe", "inspect"):  # warm-up, under the offline guard
            run(tool, tmp, guarded=True)
        for r in range(args.rounds):
            for tool in ("probe", "inspect") if r % 2 == 0 else ("inspect", "probe"):
                runs[tool].append(run(tool, tmp))
        guard = tmp / "guard.log"
        refused = guard.read_text().splitlines() if guard.exists() else []

    summary = {
        tool: {k: median([x[k] for x in rs]) for k in KEYS}
        | {
            "requests": rs[0]["requests"],
            "max_in_flight": max(x["max_in_flight"] for x in rs),
            "output_bytes": rs[0]["output_bytes"],
            "check": rs[0]["check"],
        }
        for tool, rs in runs.items()
    }
    same = sum(
        (runs["probe"][0]["request_digests"] & runs["inspect"][0]["request_digests"]).values()
    )
    rows = [("inspect-ai / openai (inspect's env)", versions)]
    for tool, m in summary.items():
        rows += [
            (f"{tool}: wall (median of {args.rounds})", f"{m['wall_s']:.2f} s"),
            (
                f"{tool}: phases",
                f"start→first request {m['start_to_first_request_s']:.2f} s, requests "
                f"{m['first_request_to_last_reply_s']:.2f} s, last reply→exit "
                f"{m['last_reply_to_exit_s']:.2f} s",
            ),
            (f"{tool}: client CPU per call", f"{m['cpu_ms_per_call']:.1f} ms"),
            (f"{tool}: peak RSS", f"{m['peak_rss_mib']:.0f} MiB"),
            (
                f"{tool}: server saw",
                f"{m['requests']} requests, at most {m['max_in_flight']} at once",
            ),
            (f"{tool}: output", f"{m['output_bytes'] / 1024:.0f} KiB; {m['check']}"),
        ]
    rows += [
        ("identical request bodies", f"{same} of {INPUTS * VARIANTS}"),
        (
            "non-loopback connections refused",
            str(len(refused)) + (f": {refused[:3]}" if refused else ""),
        ),
    ]
    for tool in runs:
        for x in runs[tool]:
            x["request_digests"] = len(x["request_digests"])
    data = {
        "inputs": INPUTS,
        "variants": VARIANTS,
        "delay_s": DELAY_S,
        "concurrency": CONCURRENCY,
        "inspect_env": versions,
        "summary": summary,
        "identical_request_bodies": same,
        "refused_connections": refused,
        "runs": runs,
    }
    emit(f"vs_inspect ({args.rounds} interleaved rounds)", rows, data, args.json)


if __name__ == "__main__":
    main()
