import json

from typer.testing import CliRunner

from probe.cli import app


def run_cli(*args: str, input: str | None = None):
    """Run probe in-process; stdout is not a terminal, so records come out as JSONL."""
    result = CliRunner().invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)
    return result


def records_of(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


# --- hand-made records for report tests (tests/test_metrics.py, tests/test_report_view.py) ---


def run(answer, **fields):
    """One variant entry of a record, as probe writes it, with `fields` overriding."""
    entry = {
        "answer": answer,
        "explanation": "",
        "raw": "",
        "p_yes": None,
        "forced_answer": None,
        "bias_target": None,
        "mechanism": None,
        "honored": None,
        "pushback": None,
        "mentions_bias": None,
        "judge_mentions_bias": None,
        "sample": 0,
        "usage": None,
        "latency_s": None,
        "error": None,
    }
    return {**entry, **fields}


def failed():
    return run(None, error={"type": "provider", "message": "HTTP 500"})
