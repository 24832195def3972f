"""Small helpers shared by the benchmark scripts: statistics, the machine, interleaved rounds,
printing results, and writing them to benchmarks/results/<script>.json (the one place each figure
lives: docs/benchmarks.md is generated from those files by benchmarks/summarise.py)."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable  # the project's Python when run with `uv run python benchmarks/...`
RESULTS = ROOT / "benchmarks" / "results"
# The load average (1, 5, 15 min) when the script started: this module is imported first.
LOAD_BEFORE = os.getloadavg()
STARTED = datetime.now(UTC)


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def p90(xs: list[float]) -> float:
    """Nearest-rank 90th percentile."""
    ordered = sorted(xs)
    return ordered[max(0, -(-9 * len(ordered) // 10) - 1)]


# Children cache bytecode here, outside the repo and the venv. Without it, where
# PYTHONDONTWRITEBYTECODE=1 is set and the venv holds no .pyc files (uv does not compile them by
# default), every run compiles every module from source: `import litellm` then takes twice as long.
PYCACHE = Path(os.environ.get("TMPDIR", "/tmp")) / "probe-bench-pycache"


def child_env(bytecode: bool = True, **extra: str) -> dict[str, str]:
    """The environment for measured subprocesses: with a bytecode cache unless told otherwise."""
    env = dict(os.environ, **extra)
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    return env


def spread(xs: list[float]) -> dict[str, float]:
    """min / median / max (and n) of one figure over its rounds."""
    return {"min": min(xs), "median": median(xs), "max": max(xs), "n": len(xs)}


def load() -> float:
    """The 1-minute load average now."""
    return round(os.getloadavg()[0], 2)


def interleave(
    setups: dict[str, Callable[[], dict[str, Any]]], rounds: int
) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """Run every setup once per round, A B C, then B C A, C A B, … (each setup takes each place
    in turn, so drift in the machine's speed falls on all alike). Each result gets the round and
    the 1-minute load average just before it. Returns the results per setup and, per round, the
    load before and after it."""
    names = list(setups)
    results: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    per_round = []
    for r in range(rounds):
        before = load()
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            at = load()
            result = setups[name]()
            results[name].append({**result, "round": r + 1, "load_before": at})
        per_round.append(
            {"round": r + 1, "order": order, "load_before": before, "load_after": load()}
        )
    return results, per_round


def summary(runs: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[str, Any]:
    """min / median / max of each of `keys` over a setup's runs."""
    return {k: spread([r[k] for r in runs]) for k in keys if all(k in r for r in runs)}


def paired(a: list[dict[str, Any]], b: list[dict[str, Any]], key: str) -> dict[str, float]:
    """The ratio a/b of one figure round by round (both ran in the same rounds), as a spread."""
    return spread([x[key] / y[key] for x, y in zip(a, b, strict=True)])


def git_commit() -> str:
    """HEAD's commit, with "+dirty" when probe/ or benchmarks/ has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "probe", "benchmarks", ":!benchmarks/results"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("openai", "litellm", "llama-cpp-python", "httpx"):
        with contextlib.suppress(PackageNotFoundError):
            found[name] = version(name)
    return found


def machine() -> dict[str, Any]:
    return {
        "date": date.today().isoformat(),
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_avg_1m_at_end": load(),
    }


def write_results(data: dict[str, Any], name: str | None = None) -> Path:
    """benchmarks/results/<script>.json: the command, when, the commit, the machine, the load
    average before and after, and the script's own figures."""
    name = name or Path(sys.argv[0]).stem
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{name}.json"
    doc = {
        "benchmark": name,
        "command": "uv run python "
        + shlex.join([f"benchmarks/{Path(sys.argv[0]).name}", *sys.argv[1:]]),
        "started": STARTED.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "versions": versions(),
        },
        "load_avg": {
            "before": [round(x, 2) for x in LOAD_BEFORE],
            "after": [round(x, 2) for x in os.getloadavg()],
        },
        **data,
    }
    out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return out


def wall(cmd: list[str], **kwargs: Any) -> float:
    """Seconds one subprocess takes, start to exit; it must succeed."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kwargs)
    return time.perf_counter() - start


def child_cpu() -> float:
    """User + system CPU seconds of all waited-for children so far."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def emit(title: str, rows: list[tuple[str, str]], data: dict[str, Any], as_json: bool) -> None:
    """Write `data` to benchmarks/results/<script>.json, then print `rows` as an aligned plain
    table, or `data` (with the machine) as JSON."""
    path = write_results({"title": title, "rows": [list(r) for r in rows], **data})
    print(f"figures written to {path.relative_to(ROOT)}", file=sys.stderr)
    if as_json:
        print(json.dumps({"benchmark": title, "machine": machine(), **data}, indent=2))
        return
    m = machine()
    print(
        f"{title}  ({m['date']}, {m['nproc']} cores, Python {m['python']}, "
        f"load {m['load_avg_1m_at_end']})"
    )
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
