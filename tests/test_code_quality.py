"""The checks a maintainer runs before a commit, run by the test suite so CI runs them too:
`ruff check`, `ruff format --check`, `mypy` (strict, on probe/) and `lint-imports` (the layers
and the independence of the method folders), all configured in pyproject.toml. A failure prints
the tool's own report."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "probe", "tests", "benchmarks"],
        ["ruff", "format", "--check", "probe", "tests", "benchmarks"],
        ["mypy"],
        ["lint-imports"],
    ],
    ids=["ruff-check", "ruff-format", "mypy-strict", "import-layers"],
)
def test_the_code_passes(command):
    done = subprocess.run(_argv(command), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_layers_are_a_contract_that_can_break(tmp_path):
    """The import contract catches an import that runs back up: a copy of the contract run
    against the package with one lower module importing a higher one fails."""
    import shutil

    shutil.copytree(
        ROOT / "probe", tmp_path / "probe", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    errors = tmp_path / "probe" / "errors.py"
    errors.write_text(errors.read_text() + "\nfrom probe.reporting import terminal  # noqa\n")
    done = subprocess.run(
        _argv(["lint-imports"]),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**__import__("os").environ, "PYTHONPATH": str(tmp_path)},
    )
    assert done.returncode != 0
    assert "probe.errors -> probe.reporting.terminal" in done.stdout


def _argv(command):
    """A module run by this interpreter, or lint-imports, the script import-linter installs
    beside it (it has no `python -m` entry)."""
    if command[0] == "lint-imports":
        return [str(Path(sys.executable).parent / "lint-imports"), *command[1:]]
    return [sys.executable, "-m", *command]
