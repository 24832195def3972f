"""Each benchmark figure lives in one place, benchmarks/results/*.json: the README's headline
rows and docs/benchmarks.md are printed from it by benchmarks/summarise.py, and must still be
what it prints (re-run `uv run python benchmarks/summarise.py --write` and copy the headline rows
after a benchmark run)."""

import subprocess
import sys

from tests.conftest import ROOT


def _summarise(*args):
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "summarise.py"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_readmes_benchmark_rows_are_the_results_json():
    readme = (ROOT / "README.md").read_text()
    quoted = [line for line in readme.splitlines() if line.startswith("| batch wall, probe ÷")]
    quoted += [line for line in readme.splitlines() if line.startswith("| scaling, Router")]
    assert len(quoted) == 2
    printed = _summarise("--headline").splitlines()
    for row in quoted:
        assert row in printed, f"README row not what summarise.py prints from the JSON: {row}"


def test_the_benchmarks_page_is_the_results_json():
    page = (ROOT / "docs" / "benchmarks.md").read_text()
    printed = _summarise().strip()
    assert printed and printed in page, "run: uv run python benchmarks/summarise.py --write"
