"""Peak memory of a batch run as the number of inputs grows: are records streamed, not held?

    uv run python benchmarks/memory.py [--sizes 100,1000,10000] [--variants decide-first] [--json]

For each size N: N text inputs in a directory (the samples' scenes, numbered), then
    probe funny DIR --model openai/bench --api-base URL --api-key x --concurrency 32 --no-cache
                    -o OUT.jsonl [--variants V]
against bench_server.py with no added latency. Peak RSS is ru_maxrss from os.wait4 of the probe
child; a sampler also reads the child's VmRSS from /proc every 20 ms, so the peak can be placed:
before the first request, while requests run, or after the last reply (the run file's final
rewrite, exit). Flat means the peak does not grow with N beyond the list of inputs (a path each).
The default runs one variant per input (decide-first): memory is about records, not calls, and
three variants would make the 10,000-input run 30,000 calls (several minutes of CPU here);
`--variants decide-first,forced,explain-first` runs all three.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _common import PYTHON, ROOT, child_cpu, child_env, emit
from bench_server import BenchServer

CONCURRENCY = 32


def write_inputs(directory: Path, n: int) -> None:
    scenes = sorted((ROOT / "samples").glob("*.txt"))
    texts = [s.read_text(encoding="utf-8") for s in scenes]
    for i in range(n):
        text = texts[i % len(texts)]
        (directory / f"scene-{i:05d}.txt").write_text(f"{text}\n(Scene {i}.)\n", encoding="utf-8")


def vm_rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


class Sampler(threading.Thread):
    """VmRSS of one process every `step_s`, with the time of each reading."""

    def __init__(self, pid: int, step_s: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.pid, self.step_s = pid, step_s
        self.readings: list[tuple[float, int]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            kib = vm_rss_kib(self.pid)
            if kib:
                self.readings.append((time.monotonic(), kib))
            self.stop.wait(self.step_s)

    def peak_between(self, start: float, end: float) -> float | None:
        inside = [kib for t, kib in self.readings if start <= t <= end]
        return max(inside) / 1024 if inside else None


def run(n: int, tmp: Path, variants: str | None) -> dict[str, Any]:
    inputs, out = tmp / f"inputs-{n}", tmp / f"out-{n}.jsonl"
    inputs.mkdir()
    write_inputs(inputs, n)
    env = child_env(True, PROBE_CACHE_DIR=str(tmp / "cache"))
    with BenchServer(0.0) as server:
        cmd = [PYTHON, "-m", "probe", "funny", str(inputs), "--model", "openai/bench"]
        cmd += ["--api-base", server.base_url, "--api-key", "x", "--no-cache"]
        cmd += ["--concurrency", str(CONCURRENCY), "-o", str(out)]
        cmd += ["--variants", variants] if variants else []
        with open(tmp / "stderr", "wb") as err:
            cpu_before, start = child_cpu(), time.monotonic()
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
            sampler = Sampler(proc.pid)
            sampler.start()
            _, status, usage = os.wait4(proc.pid, 0)
            end, cpu_s = time.monotonic(), child_cpu() - cpu_before
            sampler.stop.set()
            sampler.join()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"probe exited {status}:\n{(tmp / 'stderr').read_text()[-2000:]}")
    lines = out.read_bytes().splitlines()
    failed = sum(1 for line in lines if not _succeeded(json.loads(line)))
    if len(lines) != n or failed:
        raise SystemExit(f"{n} inputs: {len(lines)} records, {failed} failed")
    first, last = server.first_arrival or start, server.last_reply or end
    return {
        "inputs": n,
        "records": len(lines),
        "record_bytes_mean": round(out.stat().st_size / n),
        "requests": server.requests,
        "wall_s": round(end - start, 2),
        "cpu_s": round(cpu_s, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "sampled_peak_before_first_request_mib": sampler.peak_between(start, first),
        "sampled_peak_during_requests_mib": sampler.peak_between(first, last),
        "sampled_peak_after_last_reply_mib": sampler.peak_between(last, end),
        "after_last_reply_s": round(end - last, 2),
    }


def _succeeded(record: dict[str, Any]) -> bool:
    return not record.get("error") and not any(
        v.get("error") for v in record.get("variants", {}).values()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--variants", default="decide-first", help="'' for the task's own three")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        run(20, tmp, args.variants or None)  # warm-up: bytecode cache
        results = [run(n, tmp, args.variants or None) for n in sizes]

    def mib(x: float | None) -> str:
        return "—" if x is None else f"{x:.0f}"

    rows = [
        (
            f"{r['inputs']:>6} inputs",
            f"peak RSS {r['peak_rss_mib']:.0f} MiB (sampled: before first request "
            f"{mib(r['sampled_peak_before_first_request_mib'])}, during requests "
            f"{mib(r['sampled_peak_during_requests_mib'])}, after last reply "
            f"{mib(r['sampled_peak_after_last_reply_mib'])} MiB); {r['requests']} requests, "
            f"wall {r['wall_s']:.1f} s, CPU {r['cpu_s']:.1f} s, last reply→exit "
            f"{r['after_last_reply_s']:.2f} s; {r['record_bytes_mean']} bytes per record",
        )
        for r in results
    ]
    variants = args.variants or "decide-first,forced,explain-first"
    data = {"variants": variants, "concurrency": CONCURRENCY, "delay_s": 0.0, "runs": results}
    emit(f"memory (probe funny -o, variants {variants})", rows, data, args.json)


if __name__ == "__main__":
    main()
