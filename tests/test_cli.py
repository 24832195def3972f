"""What a user sees at the command line: errors, exit codes, records on stdout, messages on stderr."""

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT, SAMPLES
from tests.helpers import records_of, run_cli


@pytest.mark.parametrize(
    "name, content, phrase",
    [
        ("missing.txt", None, "no such file"),
        ("empty.txt", b"", "file is empty"),
        ("bad.jpg", b"\xff\xd8\xff\xe0 not really a jpeg", "cannot read image"),
        ("latin1.txt", "caf\xe9 scene".encode("latin-1"), "not UTF-8"),
        ("doc.pdf", b"%PDF-1.4\n\x00\x01binary", "unsupported file type"),
    ],
)
def test_a_bad_input_is_one_line_naming_the_file_and_one_error_record(
    tmp_path, name, content, phrase
):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    result = run_cli("funny", path, "--jsonl")
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("probe: error:")]
    assert len(lines) == 1
    assert str(path) in lines[0] and phrase in lines[0]
    assert "Traceback" not in result.stderr
    [record] = records_of(result)
    assert record["verdict"] == "error"
    assert record["id"] == str(path)
    assert phrase in record["error"]["message"]
    assert record["variants"] == {}


def test_bad_and_good_inputs_each_get_exactly_one_record(tmp_path):
    missing = tmp_path / "nope.png"
    result = run_cli(
        "funny", missing, SAMPLES / "kitchen-inventory.txt", "--jsonl", "--max-tokens", "40"
    )
    assert result.exit_code == 1  # some inputs failed
    records = {r["id"]: r for r in records_of(result)}  # completion order, so keyed by id
    assert len(records) == 2
    assert records[str(missing)]["verdict"] == "error"
    [good] = [r for key, r in records.items() if key.endswith("kitchen-inventory.txt")]
    assert good["error"] is None


def test_usage_errors_exit_2():
    bad_force = run_cli("funny", SAMPLES / "dog-wedding.txt", "--force", "maybe")
    assert bad_force.exit_code == 2
    # one line naming the mistake, before any model is opened (no model banner first)
    assert bad_force.stderr.strip().splitlines() == [
        "probe: error: --force maybe: not an answer of task 'funny' (yes, no or opposite)"
    ]
    assert run_cli("funny").exit_code == 2
    result = run_cli("ask", "   ", SAMPLES / "dog-wedding.txt")
    assert result.exit_code == 2
    assert "the question" in result.stderr


def test_unknown_local_model_is_a_usage_error():
    result = run_cli("funny", SAMPLES / "dog-wedding.txt", "--model", "local/nope")
    assert result.exit_code == 2
    assert "unknown local model 'local/nope'" in result.stderr


def test_probe_model_env_chooses_the_model():
    env_result = subprocess.run(
        [sys.executable, "-m", "probe", "funny", str(SAMPLES / "dog-wedding.txt"), "--jsonl"],
        env={**os.environ, "PROBE_MODEL": "local/unknown"},
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert env_result.returncode == 2
    assert "local/unknown" in env_result.stderr


def test_help_lists_the_commands_and_options():
    result = run_cli("--help")
    assert result.exit_code == 0
    for word in ("funny", "ask"):
        assert word in result.stdout
    result = run_cli("funny", "--help")
    for option in ("--force", "--force-via", "--model", "--api-base", "--jsonl", "--timeout"):
        assert option in result.stdout


def test_import_of_the_cli_loads_no_heavy_library():
    """`probe --help` must cost about what a bare Typer app costs: no LiteLLM, llama.cpp or Pillow."""
    code = (
        "import sys; sys.argv = ['probe', '--help']\n"
        "import probe.cli.app\n"
        "try:\n    probe.cli.app.app()\nexcept SystemExit:\n    pass\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'litellm', 'llama_cpp', 'PIL', 'numpy', 'openai', 'httpx'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"
