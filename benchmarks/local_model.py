"""The embedded model's tokens/s through probe's local path vs llama.cpp's own API.

    uv run python benchmarks/local_model.py [--reps 5] [--json]

Prompts: the decide-first and explain-first prompts of every samples/*.txt, built by probe's own
variants. probe's path is `LocalProvider.complete` (P(yes) asked for decide-first, as the engine
does); llama.cpp's is `Llama.create_completion` on the same prompt text (rendered up front with
probe's renderer) on the same GGUF with the same n_ctx/n_threads/seed. Both: temperature 0,
max_tokens 128, prompts in the same order (so each reuses its KV-cache prefix alike).

Each path runs in its own worker process holding one model, as probe does: with two llama.cpp models
in one process, driven from different threads, one 78-token call took 221 s instead of 3 s here
while the machine was busy. The parent alternates the workers prompt by prompt (load from elsewhere falls on both
alike), after one warm-up pass each (one worker at a time), for --reps passes. Tokens/s = completion tokens ÷ wall seconds
of the calls, prompt processing included.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from typing import Any

from _common import PYTHON, emit, median

MODEL, MAX_TOKENS = "local/smollm2", 128
VARIANT_NAMES = ("decide-first", "explain-first")
PATHS = ("probe", "llama_cpp")


def prompts() -> list[tuple[str, list[dict[str, Any]]]]:
    from _common import ROOT

    from probe.inputs.load import load_input
    from probe.variants.tasks import FUNNY
    from probe.variants.variant import VariantOptions, get

    out = []
    for path in sorted((ROOT / "samples").glob("*.txt")):
        inp = load_input(path)
        for name in VARIANT_NAMES:
            out.append((name, get(name).build(FUNNY, inp, VariantOptions()).messages))
    return out


def probe_caller():
    from probe.providers.base import Request
    from probe.providers.local import LocalProvider

    provider, todo = LocalProvider(MODEL), prompts()

    def call(i: int) -> tuple[int, str]:
        name, messages = todo[i]
        c = asyncio.run(
            provider.complete(
                Request(
                    messages,
                    max_tokens=MAX_TOKENS,
                    temperature=0.0,
                    want_p_yes=name == "decide-first",
                    seed=0,
                )
            )
        )
        return c.usage["completion_tokens"], c.text

    return call, len(todo)


def llama_caller():
    import llama_cpp

    from probe.providers.local import THREADS, _render, model_path

    llm = llama_cpp.Llama(
        model_path=str(model_path(MODEL)),
        n_ctx=4096,
        n_threads=THREADS,
        seed=0,
        logits_all=False,
        verbose=False,
    )
    rendered = [_render(llm, messages) for _, messages in prompts()]

    def call(i: int) -> tuple[int, str]:
        prompt, stop = rendered[i]
        out = llm.create_completion(
            prompt, max_tokens=MAX_TOKENS, temperature=0.0, seed=0, stop=stop
        )
        return out["usage"]["completion_tokens"], out["choices"][0]["text"]

    return call, len(rendered)


def worker(path: str) -> None:
    """Load the model, then answer prompt indices read from stdin."""
    call, n = probe_caller() if path == "probe" else llama_caller()
    print(json.dumps({"prompts": n}), flush=True)
    for line in sys.stdin:
        start = time.perf_counter()
        tokens, text = call(int(line))
        seconds = time.perf_counter() - start
        print(json.dumps({"tokens": tokens, "seconds": seconds, "text": text}), flush=True)


def answer(proc: subprocess.Popen) -> dict[str, Any]:
    line = proc.stdout.readline()
    if not line:
        raise SystemExit(f"a worker exited early (status {proc.wait(timeout=10)})")
    return json.loads(line)


def ask(proc: subprocess.Popen, i: int) -> dict[str, Any]:
    proc.stdin.write(f"{i}\n")
    proc.stdin.flush()
    return answer(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--worker", choices=PATHS, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker)

    # probe sets OMP_WAIT_POLICY=PASSIVE before it imports llama_cpp unless it is set; the
    # llama.cpp worker imports llama_cpp first, so both get the same policy from here.
    env = dict(os.environ, OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "PASSIVE"))
    workers = {
        path: subprocess.Popen(
            [PYTHON, __file__, "--worker", path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for path in PATHS
    }
    n = min(answer(w)["prompts"] for w in workers.values())
    for path in PATHS:  # warm-up, one worker at a time
        for i in range(n):
            ask(workers[path], i)
    rates: dict[str, list[float]] = {p: [] for p in PATHS}
    ratios, same = [], []
    for _ in range(args.reps):
        got: dict[str, list[dict]] = {p: [] for p in PATHS}
        for i in range(n):
            for path in sorted(PATHS, reverse=i % 2 == 1):
                got[path].append(ask(workers[path], i))
        for path in PATHS:
            rates[path].append(
                sum(r["tokens"] for r in got[path]) / sum(r["seconds"] for r in got[path])
            )
        ratios.append(rates["probe"][-1] / rates["llama_cpp"][-1])
        same.append(sum(a["text"] == b["text"] for a, b in zip(*got.values(), strict=True)))
    for w in workers.values():
        w.stdin.close()
        w.wait(timeout=60)

    tokens = {p: sum(r["tokens"] for r in got[p]) for p in PATHS}
    probe_tps, llama_tps, ratio = median(rates["probe"]), median(rates["llama_cpp"]), median(ratios)
    data = {
        "prompts": n,
        "reps": args.reps,
        "max_tokens": MAX_TOKENS,
        "completion_tokens_per_pass": tokens,
        "probe_tokens_per_s": probe_tps,
        "llama_cpp_tokens_per_s": llama_tps,
        "ratio_probe_to_llama_cpp": ratio,
        "identical_replies": min(same),
        "per_pass_tokens_per_s": rates,
    }
    rows = [
        ("prompts per pass", f"{n} ({n // 2} samples x decide-first, explain-first)"),
        ("completion tokens per pass", f"probe {tokens['probe']}, llama.cpp {tokens['llama_cpp']}"),
        ("probe LocalProvider.complete", f"{probe_tps:.1f} tok/s (median of {args.reps})"),
        ("llama.cpp create_completion", f"{llama_tps:.1f} tok/s (median of {args.reps})"),
        ("ratio probe / llama.cpp", f"{ratio:.3f} (median of per-pass ratios)"),
        (
            "per-pass tok/s",
            " | ".join(f"{p} " + " ".join(f"{r:.0f}" for r in rates[p]) for p in PATHS),
        ),
        ("identical replies", f"{min(same)} of {n}"),
    ]
    emit("local model tokens/s (SmolLM2-135M Q4_1, T=0, 128 max)", rows, data, args.json)


if __name__ == "__main__":
    main()
