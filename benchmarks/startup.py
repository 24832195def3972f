"""`probe --help` start-up time against a bare two-command Typer app, and which heavy modules load.

    uv run python benchmarks/startup.py [--runs 30] [--no-bytecode] [--json]

Each command runs as a fresh subprocess with the project's Python, interleaved, after 2 warm-ups,
with a bytecode cache (--no-bytecode: compile every module from source, as PYTHONDONTWRITEBYTECODE=1
with a .pyc-less venv does). The module check reads `python -X importtime -m probe --help`: every
module imported is listed.
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

from _common import PYTHON, ROOT, child_env, emit, median, p90, wall

HEAVY = ("litellm", "llama_cpp", "PIL", "numpy")
COMMANDS = {
    "probe --help (python -m probe)": [PYTHON, "-m", "probe", "--help"],
    "probe --help (console script)": [str(Path(PYTHON).parent / "probe"), "--help"],
    "bare Typer app --help": [PYTHON, str(ROOT / "benchmarks" / "bare_app.py"), "--help"],
}
BARE = "bare Typer app --help"


def time_commands(runs: int, env: dict[str, str], warmups: int = 2) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for i in range(warmups + runs):
        for name, cmd in COMMANDS.items():  # interleaved, so drift hits all alike
            t = wall(cmd, cwd=ROOT, env=env)
            if i >= warmups:
                times[name].append(t)
    return times


def imported_modules(cmd_args: list[str], env: dict[str, str]) -> tuple[set[str], float]:
    """Modules a command imports, and their total import time in seconds (-X importtime)."""
    proc = subprocess.run(
        [PYTHON, "-X", "importtime", *cmd_args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    names, total_us = set(), 0
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line[len("import time:") :].split("|")
        names.add(name.strip())
        if not name.startswith("  "):  # top level: one space after the bar, no nesting
            total_us += int(cumulative)
    return names, total_us / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--no-bytecode", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    env = child_env(bytecode=not args.no_bytecode)
    times = time_commands(args.runs, env)
    probe_mods, probe_import_s = imported_modules(["-m", "probe", "--help"], env)
    bare_args = [str(ROOT / "benchmarks" / "bare_app.py"), "--help"]
    _, bare_import_s = imported_modules(bare_args, env)
    loaded = {h: any(m == h or m.startswith(h + ".") for m in probe_mods) for h in HEAVY}

    stats = {name: {"median_s": median(ts), "p90_s": p90(ts)} for name, ts in times.items()}
    bare = stats[BARE]["median_s"]
    ratios = {name: s["median_s"] / bare for name, s in stats.items() if name != BARE}
    rows = [
        (name, f"median {s['median_s'] * 1000:.0f} ms   p90 {s['p90_s'] * 1000:.0f} ms")
        for name, s in stats.items()
    ]
    rows += [(f"ratio {name} / bare", f"{r:.2f}") for name, r in ratios.items()]
    rows += [
        (
            "import time (-X importtime)",
            f"probe {probe_import_s * 1000:.0f} ms, bare {bare_import_s * 1000:.0f} ms",
        ),
        (
            "heavy modules loaded",
            ", ".join(f"{h}={'YES' if v else 'no'}" for h, v in loaded.items()),
        ),
    ]
    data = {
        "bytecode_cache": not args.no_bytecode,
        "runs": args.runs,
        "warmups": 2,
        "commands": {name: COMMANDS[name][1:] for name in COMMANDS},
        "times_s": stats,
        "ratio_to_bare": ratios,
        "import_time_s": {"probe": probe_import_s, "bare": bare_import_s},
        "heavy_modules_loaded": loaded,
    }
    bytecode = "no bytecode" if args.no_bytecode else "bytecode cached"
    emit(f"startup ({args.runs} runs each after 2 warm-ups, {bytecode})", rows, data, args.json)


if __name__ == "__main__":
    main()
