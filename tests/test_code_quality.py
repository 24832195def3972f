"""The checks a maintainer runs before a commit, run by the test suite so CI runs them too:
`ruff check`, `ruff format --check` and `mypy probe` (configured in pyproject.toml). A failure
prints the tool's own report."""

import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "probe", "tests", "benchmarks"],
        ["ruff", "format", "--check", "probe", "tests", "benchmarks"],
        ["mypy", "probe"],
    ],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_the_code_passes(command):
    done = subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
