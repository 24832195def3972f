import json

from typer.testing import CliRunner

from probe.cli import app


def run_cli(*args: str, input: str | None = None):
    """Run probe in-process; stdout is not a terminal, so records come out as JSONL."""
    result = CliRunner().invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)
    return result


def records_of(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
