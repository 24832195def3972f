"""Small helpers shared by the benchmark scripts: statistics, the machine, printing results."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable  # the project's Python when run with `uv run python benchmarks/...`


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


def machine() -> dict[str, Any]:
    return {
        "date": date.today().isoformat(),
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
    }


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
    """Print `rows` as an aligned plain table, or `data` (with the machine) as JSON."""
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
