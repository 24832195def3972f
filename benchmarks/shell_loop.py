"""Per-invocation overhead of one embedded-model probe from a shell loop, beyond model time.

    uv run python benchmarks/shell_loop.py [--runs 7] [--no-bytecode] [--json]

Runs `python -m probe funny samples/dog-wedding.txt --force no --jsonl --no-cache` --runs times as
fresh processes (after one warm-up); overhead = wall − Σ variants' latency_s in the record.
Its parts, timed in separate fresh processes (medians):
  interpreter start     `python -c pass`
  imports               `python -X importtime` of the same command, by top-level package,
                        leaving out what `python -c pass` imports itself
  model load            the `llama_cpp.Llama(...)` constructor probe uses, after `import llama_cpp`
  rest                  what is left (reading the input, work outside latency_s, writing the
                        record, interpreter shut-down)
Target: overhead ≤ 0.5 s. Also timed, interleaved with those runs: the same command with --align
(sentence alignment by the local embedding model, opt-in for records), and that model's parts.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from collections import Counter

from _common import PYTHON, ROOT, child_env, emit, median, wall

SAMPLE = ROOT / "samples" / "dog-wedding.txt"
COMMAND = ["-m", "probe", "funny", str(SAMPLE), "--force", "no", "--jsonl", "--no-cache"]
TARGET_S = 0.5
LOAD_MODEL = """
import time, llama_cpp
from probe.providers.local import THREADS, model_path
path = str(model_path("local/smollm2"))
start = time.perf_counter()
llama_cpp.Llama(model_path=path, n_ctx=4096, n_threads=THREADS, seed=0, logits_all=False, verbose=False)
print(time.perf_counter() - start)
"""
EMBED_PARTS = """
import json, time
t0 = time.perf_counter()
import onnxruntime, tokenizers
t1 = time.perf_counter()
from probe.providers.embedders import LocalEmbedder, _load_local
_load_local()
t2 = time.perf_counter()
LocalEmbedder().embed(["The scene does not show anything funny."] * 6)
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "embed_6": t3 - t2}))
"""


def invocation(env: dict[str, str], *extra: str) -> tuple[float, float]:
    """Wall seconds of one probe run and the model seconds its record reports."""
    cmd = [PYTHON, *COMMAND, *extra]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    wall_s = time.perf_counter() - start
    record = json.loads(proc.stdout)
    variants = record["variants"].values()
    if record.get("error") or any(v.get("error") for v in variants):
        raise SystemExit(f"the probe run failed: {proc.stdout[:500]}")
    return wall_s, sum(v["latency_s"] for v in variants)


def import_times(args: list[str], env: dict[str, str]) -> Counter:
    """Seconds of top-level imports, by top-level package, from -X importtime."""
    proc = subprocess.run(
        [PYTHON, "-X", "importtime", *args], env=env, capture_output=True, text=True, check=True
    )
    by_package: Counter = Counter()
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line[len("import time:") :].split("|")
        if not name.startswith("  "):  # top-level: nested imports are in its cumulative time
            by_package[name.strip().split(".")[0]] += int(cumulative) / 1e6
    return by_package


def median_counters(counters: list[Counter], exclude: Counter) -> Counter:
    packages = {p for c in counters for p in c if p not in exclude}
    return Counter({p: median([c.get(p, 0.0) for c in counters]) for p in packages})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-bytecode", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as cache:
        env = child_env(not args.no_bytecode, PROBE_CACHE_DIR=cache)
        invocation(env)  # warm-up: bytecode and the model files in the page cache
        runs, align_runs = [], []
        for _ in range(args.runs):
            runs.append(invocation(env))
            align_runs.append(invocation(env, "--align"))
        start_s = median([wall([PYTHON, "-c", "pass"], env=env) for _ in range(args.runs)])
        base = import_times(["-c", "pass"], env)
        imports = median_counters([import_times(COMMAND, env) for _ in range(3)], exclude=base)
        load_s = median(
            [
                float(subprocess.check_output([PYTHON, "-c", LOAD_MODEL], env=env, text=True))
                for _ in range(args.runs)
            ]
        )
        embed_runs = [
            json.loads(subprocess.check_output([PYTHON, "-c", EMBED_PARTS], env=env, text=True))
            for _ in range(3)
        ]
    embed = {k: median([r[k] for r in embed_runs]) for k in embed_runs[0]}
    walls = [w for w, _ in runs]
    overheads = [w - m for w, m in runs]
    overhead_s = median(overheads)
    align_overhead_s = median([w - m for w, m in align_runs])
    imports_s = sum(imports.values())
    rest_s = overhead_s - start_s - imports_s - load_s
    top = ", ".join(f"{pkg} {s * 1000:.0f}" for pkg, s in imports.most_common(6))
    rows = [
        ("wall per invocation (median)", f"{median(walls):.2f} s"),
        ("model time Σ latency_s (median)", f"{median([m for _, m in runs]):.2f} s"),
        (
            "overhead = wall − model (median)",
            f"{overhead_s:.2f} s  (runs: " + ", ".join(f"{o:.2f}" for o in overheads) + ")",
        ),
        ("target ≤ 0.5 s", "met" if overhead_s <= TARGET_S else "MISSED"),
        ("  interpreter start (-c pass)", f"{start_s:.2f} s"),
        ("  imports (-X importtime)", f"{imports_s:.2f} s  (ms: {top})"),
        ("  model load (Llama constructor)", f"{load_s:.2f} s"),
        ("  rest", f"{rest_s:.2f} s"),
        ("overhead with --align (median)", f"{align_overhead_s:.2f} s"),
        (
            "  embedding model parts, apart",
            f"import onnxruntime+tokenizers {embed['import']:.2f} s, "
            f"ONNX session {embed['load']:.2f} s, embed 6 sentences {embed['embed_6']:.2f} s",
        ),
    ]
    data = {
        "bytecode_cache": not args.no_bytecode,
        "command": ["python", *COMMAND],
        "runs": args.runs,
        "wall_s": median(walls),
        "model_s": median([m for _, m in runs]),
        "overhead_s": overhead_s,
        "overheads_s": overheads,
        "target_s": TARGET_S,
        "meets_target": overhead_s <= TARGET_S,
        "overhead_with_align_s": align_overhead_s,
        "embedding_model_parts_s": embed,
        "breakdown_s": {
            "interpreter_start": start_s,
            "imports": imports_s,
            "imports_by_package": dict(imports.most_common()),
            "model_load": load_s,
            "rest": rest_s,
        },
    }
    bytecode = "no bytecode" if args.no_bytecode else "bytecode cached"
    emit(f"shell loop: one probe per process ({args.runs} runs, {bytecode})", rows, data, args.json)


if __name__ == "__main__":
    main()
