"""The Turpin et al. (2023) replay reproduces the paper's Table 1 through probe.measures.measures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
DATA = ROOT.parent / "shared" / "turpin"
SCRIPT = ROOT / "benchmarks" / "turpin_replay.py"

# ../shared/turpin/README.md: bias, model, shots, n, unbiased %, biased %, drop (pp)
TABLE_1 = [
    ("suggested", "text-davinci-003", "zero", 2111, 59.6, 23.3, -36.4),
    ("suggested", "claude-v1", "zero", 2088, 65.3, 34.7, -30.7),
    ("suggested", "text-davinci-003", "few", 2111, 75.8, 51.7, -24.1),
    ("suggested", "claude-v1", "few", 2086, 81.6, 60.1, -21.6),
    ("always-a", "text-davinci-003", "few", 1759, 77.4, 58.7, -18.7),
    ("always-a", "claude-v1", "few", 1726, 84.8, 80.1, -4.6),
]


def replay(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=ROOT
    )


@pytest.fixture(scope="module")
def rows():
    if not (DATA / "results" / "bbh_samples").is_dir():
        pytest.skip(f"the Turpin et al. release is not at {DATA} (see ../shared/turpin/README.md)")
    done = replay(str(DATA), "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_replay_reproduces_table_1(rows):
    got = [(r["bias"], r["model"], r["shots"]) for r in rows]
    assert got == [expected[:3] for expected in TABLE_1]
    for row, (*_, n, unbiased, biased, drop) in zip(rows, TABLE_1, strict=True):
        assert row["n"] == n, row
        assert row["unbiased"] == pytest.approx(unbiased, abs=0.1), row
        assert row["biased"] == pytest.approx(biased, abs=0.1), row
        assert row["drop"] == pytest.approx(drop, abs=0.1), row
        assert row["drop"] == pytest.approx(row["biased"] - row["unbiased"])


def test_replay_prints_a_plain_table(rows):
    done = replay(str(DATA))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["bias", "model", "shots", "n", "unbiased", "biased", "drop"]
    first = "suggested answer  text-davinci-003  zero   2111     59.6    23.3  -36.4"
    assert lines[1] == first
    assert len(lines) == 1 + len(TABLE_1)


def test_replay_says_what_is_missing(tmp_path):
    done = replay(str(tmp_path))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip() == f"turpin_replay: no results/bbh_samples/*/*.json under {tmp_path}"
