"""Reliability soak: faults, kills and keys, through the real CLI against a local faulty server.

    uv run python benchmarks/soak.py [--inputs 2000] [--fault-rate 0.25] [--kills 25] [--json]

Three parts, each with `probe funny DIR --model openai/soak --api-base URL --api-key KEY -o FILE`
as a subprocess against an OpenAI-compatible server on 127.0.0.1 that fails a share of requests
at random (seeded): HTTP 500, 429 with Retry-After, a dropped connection, a non-JSON body, a body
cut off halfway.

1. faults: --inputs inputs at --fault-rate (and 300 at 0.5), `--retries 0`, then `--resume` until
   every input has succeeded (at most 30 rounds): the file must hold exactly one record per input.
2. kills: a run of 100 inputs SIGKILLed at a random moment --kills times (each followed by
   `--resume`), then a last `--resume` to the end: exactly one record per input, none lost, none
   duplicated.
3. keys: the API key must appear nowhere — stdout, stderr, the -o files, the cache directory.

Prints one line per figure (the README's Reliability section quotes them).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _common import PYTHON, ROOT, child_env

sys.path.insert(0, str(ROOT))
from tests.scripted_server import Reply, ScriptedServer, completion_body, steady_model

KEY = "sk-soak-SECRET-0123456789abcdef"


def faulty_server(rate: float, seed: int, delay_s: float = 0.0) -> ScriptedServer:
    """tests/scripted_server.py's server answering as its `steady_model` (a model that says Yes
    and defends any forced answer), but failing `rate` of requests, each way at random (seeded)."""
    rng, lock = random.Random(seed), threading.Lock()

    def reply(payload: dict[str, Any], n: int) -> Reply:
        with lock:
            fault = rng.random() < rate
            kind = rng.choice(("500", "429", "drop", "garbage", "half"))
        r = steady_model(payload, n)
        r.delay_s = delay_s
        if not fault:
            return r
        if kind == "drop":
            r.drop = True
        elif kind in ("500", "429"):
            r.status, r.content = int(kind), "soak fault"
            r.headers = {"retry-after": "0"} if kind == "429" else {}
        elif kind == "garbage":
            r.body = b"<html>not json</html>"
        else:  # half a body, then the connection closes
            r.cut_at = len(completion_body(r.content or "")) // 2
        return r

    return ScriptedServer(reply)


def make_inputs(directory: Path, n: int) -> None:
    directory.mkdir(parents=True)
    for i in range(n):
        (directory / f"scene-{i:05d}.txt").write_text(f"Scene {i}: a dog at a wedding, take {i}.\n")


def command(server: ScriptedServer, inputs: Path, out: Path, *more: str) -> list[str]:
    return [
        PYTHON, "-m", "probe", "funny", str(inputs),
        "--model", "openai/soak", "--api-base", server.base_url, "--api-key", KEY,
        "--force", "no", "--timeout", "5", "--concurrency", "16", "-o", str(out), *more,
    ]  # fmt: skip


def records(out: Path) -> list[dict[str, Any]]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


def complete(recs: list[dict[str, Any]]) -> bool:
    from probe.records.record import succeeded

    return all(succeeded(r) for r in recs)


class Log:
    """Everything probe printed, to look for the key in afterwards."""

    def __init__(self) -> None:
        self.text: list[str] = []

    def run(self, cmd: list[str], env: dict[str, str], **kw: Any) -> subprocess.CompletedProcess:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, **kw)
        self.text += [done.stdout, done.stderr]
        return done


def faults(work: Path, n: int, rate: float, env: dict[str, str], log: Log) -> dict[str, Any]:
    inputs, out = work / f"in-{n}-{rate}", work / f"faults-{n}-{rate}.jsonl"
    make_inputs(inputs, n)
    rounds = 0
    with faulty_server(rate, seed=n) as server:
        cmd = command(server, inputs, out, "--retries", "0")
        log.run(cmd, env)
        rounds = 1
        while not complete(recs := records(out)) and rounds < 30:
            log.run([*cmd, "--resume"], env)
            rounds += 1
        requests = len(server.requests)
    ids = [r["id"] for r in records(out)]
    return {
        "inputs": n,
        "fault_rate": rate,
        "rounds": rounds,
        "requests": requests,
        "records": len(ids),
        "distinct": len(set(ids)),
        "all_succeeded": complete(recs),
        "lost": n - len(set(ids)),
        "duplicated": len(ids) - len(set(ids)),
    }


def kills(work: Path, n_kills: int, env: dict[str, str], log: Log, seed: int = 7) -> dict[str, Any]:
    inputs, out = work / "in-kills", work / "kills.jsonl"
    n = 100
    make_inputs(inputs, n)
    rng = random.Random(seed)
    with faulty_server(0.0, seed=seed, delay_s=0.05) as server:
        cmd = command(server, inputs, out, "--retries", "2")
        for k in range(n_kills):
            proc = subprocess.Popen(
                [*cmd, "--resume"] if k else cmd,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                cwd=ROOT,
            )
            time.sleep(rng.uniform(0.3, 3.0))
            proc.send_signal(signal.SIGKILL)
            stdout, stderr = proc.communicate()
            log.text += [stdout, stderr]
        done = log.run([*cmd, "--resume"], env)
    ids = [r["id"] for r in records(out)]
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")]
    return {
        "inputs": n,
        "kills": n_kills,
        "final_exit": done.returncode,
        "records": len(ids),
        "lost": n - len(set(ids)),
        "duplicated": len(ids) - len(set(ids)),
        "temp_files_left": len(leftovers),
    }


def keys_found(work: Path, log: Log) -> dict[str, int]:
    in_files = sum(
        KEY.encode() in p.read_bytes() for p in work.rglob("*") if p.is_file() and p.stat().st_size
    )
    return {"in_output": sum(KEY in t for t in log.text), "in_files": in_files}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=2000)
    parser.add_argument("--fault-rate", type=float, default=0.25)
    parser.add_argument("--kills", type=int, default=25)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = child_env(PROBE_CACHE_DIR=str(work / "cache"), LITELLM_LOCAL_MODEL_COST_MAP="True")
        env.pop("OPENAI_API_KEY", None)
        log = Log()
        started = time.monotonic()
        result = {
            "faults": [
                faults(work, args.inputs, args.fault_rate, env, log),
                faults(work, 300, 0.5, env, log),
            ],
            "kills": kills(work, args.kills, env, log),
        }
        result["keys"] = keys_found(work, log)
        result["seconds"] = round(time.monotonic() - started, 1)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for f in result["faults"]:
        print(
            f"faults: {f['inputs']} inputs at {f['fault_rate']:.0%} faults, {f['rounds']} runs "
            f"({f['requests']} requests): {f['records']} records, lost {f['lost']}, "
            f"duplicated {f['duplicated']}, all succeeded {f['all_succeeded']}"
        )
    k = result["kills"]
    print(
        f"kills: {k['inputs']} inputs, {k['kills']} SIGKILLs then --resume: {k['records']} records, "
        f"lost {k['lost']}, duplicated {k['duplicated']}, temp files left {k['temp_files_left']}, "
        f"final exit {k['final_exit']}"
    )
    print(
        f"keys: found {result['keys']['in_output']} times in output, in {result['keys']['in_files']} files"
    )
    print(f"took {result['seconds']} s")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
