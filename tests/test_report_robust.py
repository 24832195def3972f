"""`probe report` on run files that are not what probe writes (issue 21, items 4 and 5): JSON
nested deeper than Python recurses, and records whose fields hold the wrong type of value. Each such
line is one message on stderr and is skipped, in every format (terminal, --json, --html): never a
traceback, and the three formats count the same records."""

from __future__ import annotations

import copy
import io
import json
import random

import pytest
from rich.console import Console

from probe.measures.measures import compute_report
from probe.records.run_file import read_records
from probe.reporting import html as report_html
from probe.reporting.terminal import render_report
from tests.helpers import failed, forced_run, record, run, run_cli

FORMATS = ([], ["--json"], ["--html", "page.html"])


def good_records() -> list[dict]:
    """Records of every shape the report reads: forced, biased, early answering, samples."""
    biased = run("no", bias_target="no", mentions_bias=False)
    early = run(
        "yes",
        points=[
            {"kept": 0, "of": 2, "fraction": 0.0, "answer": "no", "p_yes": 0.4},
            {"kept": 1, "of": 2, "fraction": 0.5, "answer": "yes", "p_yes": 0.7},
            {"kept": 2, "of": 2, "fraction": 1.0, "answer": "yes", "p_yes": 0.9},
        ],
        reference_answer="yes",
        explain_first_answer="yes",
        reference_differs=False,
    )
    return [
        record(
            "r1",
            {
                "decide-first": run("yes", p_yes=0.8, usage={"prompt_tokens": 10}),
                "forced": forced_run("no", "forced"),
                "explain-first": run("yes"),
            },
            verdict="rationalizes",
        ),
        record(
            "r2",
            {
                "decide-first": [run("yes"), run("no", sample=1)],
                "suggested": biased,
                "early-answering": early,
                "explain-first": run("yes"),
            },
            gold="yes",
        ),
        record("r3", {"decide-first": failed(), "forced": forced_run("no", "other")}),
    ]


def write(path, records, extra_lines=()):
    lines = [json.dumps(r) for r in records] + list(extra_lines)
    path.write_text("\n".join(lines) + "\n")


def every_format(tmp_path, run_file):
    """(exit code, stderr) of probe report in each format; none may raise."""
    out = []
    for args in FORMATS:
        args = [str(tmp_path / a) if a.endswith(".html") else a for a in args]
        result = run_cli("report", run_file, *args)
        out.append((result.exit_code, result.stderr))
    return out


@pytest.mark.parametrize(
    "line",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"variants": ' * 50_000 + "{}" + "}" * 50_000,
        '{"key": "k", "variants": {"x": ' + "[" * 200 + "]" * 200 + "}}",  # parses; too deep
    ],
    ids=["brackets", "objects", "deep-record"],
)
def test_json_of_any_depth_is_one_line_skipped_in_every_format(tmp_path, line):
    run_file = tmp_path / "run.jsonl"
    write(run_file, good_records()[:1], [line])
    for code, stderr in every_format(tmp_path, run_file):
        assert code == 1
        [message] = [m for m in stderr.splitlines() if "line 2" in m]
        assert "nested" in message and message.endswith("skipped")
        assert "Traceback" not in stderr


@pytest.mark.parametrize(
    "path, value",
    [
        ("variants.decide-first.p_yes", "high"),
        ("variants.decide-first.answer", 5),
        ("variants.forced.stance_evidence", "lots"),
        ("variants.forced.stance_evidence", ["not an object"]),
        ("variants.decide-first.usage", {"prompt_tokens": "ten"}),
        ("variants.decide-first", "a string"),
        ("options", "yes/no"),
        ("question", ["a", "list"]),
        ("id", {"an": "object"}),
        ("error", "boom"),
        ("input", {"path": 7}),
        ("variants.decide-first.latency_s", "slow"),
        ("verdict", 3),
    ],
)
def test_a_field_of_the_wrong_type_is_one_line_skipped_in_every_format(tmp_path, path, value):
    bad = copy.deepcopy(good_records()[0])
    node = bad
    *parents, last = path.split(".")
    for part in parents:
        node = node[part]
    node[last] = value
    run_file = tmp_path / "run.jsonl"
    write(run_file, [good_records()[1], bad])
    results = every_format(tmp_path, run_file)
    for code, stderr in results:
        assert code == 1, stderr
        [message] = [m for m in stderr.splitlines() if "line 2" in m]
        assert message.startswith(f"probe: error: {run_file}: line 2: ")
        assert message.endswith("; skipped")
    # the three formats count the same records: the good one alone
    report = json.loads(run_cli("report", run_file, "--json").stdout)
    assert report["n_records"] == 1


def _mutations(value, path=()):
    """Every (path, wrong value) for the leaves and containers of a record."""
    wrong = ["text", 7, 1.5, True, [], {}, ["x"], {"k": "v"}, [[1]], -1]
    yield from ((path, w) for w in wrong)
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _mutations(child, (*path, key))
    elif isinstance(value, list):
        for i, child in enumerate(value[:2]):
            yield from _mutations(child, (*path, i))


def _set(obj, path, value):
    for part in path[:-1]:
        obj = obj[part]
    obj[path[-1]] = value


def test_no_record_of_any_shape_raises_in_any_format(tmp_path):
    """Every field (and every element of the first lists) of records of every shape set to each
    of ten values of other types: reading, the report, its terminal view and the HTML page never
    raise; a record is either skipped with one message or reported."""
    rng = random.Random(21)
    base = good_records()
    cases = [(i, path, w) for i, rec in enumerate(base) for path, w in _mutations(rec) if path]
    rng.shuffle(cases)
    run_file = tmp_path / "run.jsonl"
    for i, path, value in cases[:250]:
        bad = copy.deepcopy(base[i])
        _set(bad, path, value)
        write(run_file, [bad])
        records, problems = read_records([str(run_file)])
        assert len(records) + len(problems) == 1
        report = compute_report(records)
        render_report(report, Console(file=io.StringIO(), width=100))
        report_html.build([str(run_file)])


def test_resuming_a_file_with_a_line_nested_too_deeply_is_a_usage_error(tmp_path):
    """--resume refuses a file holding a line that is not a record; one nested past Python's
    recursion limit is such a line, not a RecursionError."""
    from probe.errors import UsageError
    from probe.records.run_file import RunFile

    run_file = tmp_path / "run.jsonl"
    write(run_file, [{**good_records()[0], "key": "k1"}], ["[" * 100_000 + "]" * 100_000])
    with pytest.raises(UsageError, match="line 2 is not a probe record"):
        RunFile(run_file, resume=True)
