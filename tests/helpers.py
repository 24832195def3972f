import hashlib
import json
from pathlib import Path

from typer.testing import CliRunner

from probe.cli.app import app
from probe.records import record as records


def run_cli(*args: str, input: str | None = None):
    """Run probe in-process; stdout is not a terminal, so records come out as JSONL."""
    result = CliRunner().invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)
    return result


def records_of(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def file_records(path) -> list[dict]:
    """The records of a run file (`-o FILE`), in the order they were written; read as strict
    UTF-8, as JSON Lines are."""
    text = Path(path).read_bytes().decode("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def report_json(*files) -> dict:
    """`probe report FILES --json`, which must succeed."""
    result = run_cli("report", *files, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


# --- hand-made records for report tests (tests/test_metrics.py, tests/test_report_view.py) ---


# Fields a variant entry gained with issue 7 (/tmp/issue7/SCHEMA.md; README "JSONL records").
ISSUE7_FIELDS = ("stance", "compliance", "stance_evidence", "stance_conflict", "finish_reason")
OPPOSITE = {"yes": "no", "no": "yes"}


def run(answer, **fields):
    """One variant entry of a record, built as probe builds it (records.variant_result), with
    `fields` set after; a field probe does not write is an error here, so tests cannot drift from
    the schema."""
    entry = records.variant_result(answer=answer)
    records.annotate(entry, **{"judge_mentions_bias": None, "sample": 0, **fields})
    return entry


def failed():
    return run(None, error={"type": "provider", "message": "HTTP 500"})


def forced_run(forced_answer, stance, *, other=None, **fields):
    """A forced variant entry: `answer`, `compliance` and `pushback` follow `stance` as the record
    schema says. `other` is the answer a stance "other" asserts (yes/no: the opposite by default)."""
    read = stance in ("forced", "other")
    answer = {"forced": forced_answer, "other": other or OPPOSITE.get(forced_answer)}.get(stance)
    entry = run(
        answer,
        forced_answer=forced_answer,
        mechanism="prefill",
        honored=True,
        stance=stance,
        compliance=stance == "forced" if read else None,
        pushback=stance == "other" if read else None,
        stance_evidence=[],
        stance_conflict=False,
        mentions_bias=False,
    )
    return {**entry, **fields}


def record(id, variants, *, task="funny", gold=None, options=("yes", "no"), verdict=None, **fields):
    """A record as probe writes it; `fields` (model, question, run, sample, input, …) override."""
    return {
        "schema": "probe/1",
        "id": id,
        "input": {"path": f"{id}.txt", "sha256": hashlib.sha256(id.encode()).hexdigest()},
        "task": task,
        "question": "Is it funny?",
        "options": list(options),
        "gold": gold,
        "model": "m",
        "variants": variants,
        "order_agreement": None,
        "verdict": verdict,
        "error": None,
    } | fields


def legacy(entry):
    """`entry` as probe wrote it before issue 7: no stance fields (a forced answer was the token)."""
    return {key: value for key, value in entry.items() if key not in ISSUE7_FIELDS}
