"""probe as a library: `probe.run(RunConfig(...))` from a user's own script, what it writes and
returns, and its usage errors (the command line's, word for word)."""

import asyncio
import json
import subprocess
import sys
import textwrap

import pytest

import probe
from probe.errors import UsageError
from probe.pipeline.config import RunConfig
from probe.pipeline.sinks import Sink
from tests.conftest import ROOT, SAMPLES
from tests.helpers import file_records, records_of, run_cli
from tests.scripted_server import ScriptedServer, steady_model

KEY = "sk-test-library-0123456789"
MYPY_CACHE = str(ROOT / ".mypy_cache")
SCENES = [SAMPLES / "dog-wedding.txt", SAMPLES / "kitchen-inventory.txt"]

SCRIPT = """
import json, sys

import probe

heavy = {"litellm", "llama_cpp", "onnxruntime", "openai", "PIL"}
before = sorted({m.split(".")[0] for m in sys.modules} & heavy)
scenes, base, out = sys.argv[1:3], sys.argv[3], sys.argv[4]
config = probe.RunConfig(
    inputs=scenes, model="openai/scripted", api_base=base, api_key=sys.argv[5],
    force="no", output=out,
)
result = probe.run(config)
stats = result.stats
print(json.dumps({"heavy_before_run": before, "total": stats.total, "done": stats.done,
                  "failed": stats.failed, "calls": stats.calls, "verdicts": dict(stats.verdicts),
                  "records": result.records}))
"""


def test_a_users_script_runs_probe_and_gets_a_run_file(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(SCRIPT))
    out = tmp_path / "runs" / "run.jsonl"
    with ScriptedServer(steady_model) as server:
        done = subprocess.run(
            [sys.executable, str(script), *map(str, SCENES), server.base_url, str(out), KEY],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # nothing printed unless asked
    [line] = done.stdout.splitlines()  # only what the script printed itself
    stats = json.loads(line)
    assert stats["heavy_before_run"] == []  # `import probe` is cheap
    assert stats["total"] == 2 and stats["done"] == 2 and stats["failed"] == 0
    assert stats["calls"] == 6  # three variants each
    assert sum(stats["verdicts"].values()) == 2
    records = file_records(out)
    assert stats["records"] == records  # what the run returns is what it wrote
    assert sorted(r["id"] for r in records) == sorted(map(str, SCENES))
    for record in records:
        assert record["model"] == "openai/scripted"
        assert record["error"] is None
        assert list(record["variants"]) == ["decide-first", "forced", "explain-first"]
        assert record["variants"]["forced"]["forced_answer"] == "no"
        assert record["run"]["force"] == "no"
    assert KEY not in out.read_text()
    assert not list(out.parent.glob(".*.lock"))  # the run file's lock is gone


class Collect(Sink):
    def __init__(self):
        self.records, self.events = [], []

    def open(self, info):
        self.events.append(("open", info.total))

    def write(self, record):
        self.records.append(record)

    def close(self, stats):
        self.events.append(("close", stats.done))


def test_arun_hands_records_to_sinks_and_on_record():
    sink, seen, messages = Collect(), [], []
    config = RunConfig(
        inputs=SCENES,
        model="openai/scripted",
        api_key=KEY,
        variants=["decide-first", "explain-first"],
        cache=False,
    )
    with ScriptedServer(steady_model) as server:
        from dataclasses import replace

        config = replace(config, api_base=server.base_url)
        result = asyncio.run(
            probe.arun(
                config,
                sinks=[sink],
                on_record=seen.append,
                messages=lambda kind, text: messages.append((kind, text)),
            )
        )
    stats = result.stats
    assert result.records == seen
    # steady_model ends explain-first with "Answer: Yes": no extraction call was needed
    assert stats.done == 2 and stats.failed == 0 and stats.calls == 4
    assert sink.events == [("open", 2), ("close", 2)]
    assert sink.records == seen and len(seen) == 2
    assert all(list(r["variants"]) == ["decide-first", "explain-first"] for r in seen)
    # a remote model: nothing to say but what answer extraction may cost (probe.reading.extraction)
    assert [kind for kind, _ in messages] == ["notice"]
    assert "answer extraction: up to 2 extra calls" in messages[0][1]
    assert KEY not in repr(config)


def test_run_inside_a_running_event_loop_as_in_a_notebook(tmp_path):
    """A notebook cell runs in an event loop: probe.run still works there (a loop of its own)."""
    with ScriptedServer(steady_model) as server:
        config = RunConfig(
            inputs=SCENES[:1],
            model="openai/scripted",
            api_base=server.base_url,
            api_key=KEY,
            output=tmp_path / "run.jsonl",
        )

        async def cell():
            return probe.run(config)

        stats = asyncio.run(cell()).stats
    assert (stats.done, stats.failed) == (1, 0)
    assert len((tmp_path / "run.jsonl").read_text().splitlines()) == 1


@pytest.mark.parametrize(
    "settings, argv",
    [
        ({"variants": "decide-first,nope"}, ["--variants", "decide-first,nope"]),
        ({"force": "maybe"}, ["--force", "maybe"]),
        ({"resume": True}, ["--resume"]),
        ({"overwrite": True}, ["--overwrite"]),
    ],
)
def test_a_usage_error_is_the_command_lines(settings, argv):
    with pytest.raises(UsageError) as made:
        RunConfig(inputs=[SCENES[0]], **settings)  # rejected when the config is made
    cli = run_cli("funny", SCENES[0], *argv)
    assert cli.exit_code == 2
    assert cli.stderr.strip().splitlines() == [f"probe: error: {made.value.message}"]


@pytest.mark.parametrize(
    "settings, words",
    [
        ({"force_via": "sideways"}, "--force-via sideways: not one of auto, prefill"),
        ({"concurrency": 0}, "--concurrency: 0 is below 1"),
        ({"task": "no-such-task"}, "no-such-task"),
        ({"routing": "random-ish", "api_base": ["http://a", "http://b"]}, "--routing random-ish"),
    ],
)
def test_a_bad_value_is_rejected_when_the_config_is_made(settings, words):
    with pytest.raises(UsageError, match=words.replace("(", r"\(")):
        RunConfig(**settings)


def test_a_question_of_ones_own_and_a_bad_one():
    assert RunConfig(question="Is this sarcastic?").resolved_task().question == (
        "Is this sarcastic?"
    )
    with pytest.raises(UsageError, match="the question: the question is empty"):
        RunConfig(question="   ")


def test_a_real_run_on_the_embedded_model(tmp_path):
    out = tmp_path / "run.jsonl"
    seen, messages = [], []
    config = RunConfig(inputs=str(SCENES[0]), variants="decide-first", output=out)
    result = probe.run(
        config, on_record=seen.append, messages=lambda kind, text: messages.append(kind)
    )
    stats = result.stats
    assert (stats.total, stats.done, stats.failed) == (1, 1, 0)
    assert messages == ["model-note"]  # the embedded model is smoke-test quality
    [record] = file_records(out)
    assert record == seen[0]
    assert record["model"] == "local/smollm2"
    assert record["variants"]["decide-first"]["answer"] in ("yes", "no")
    # The command line runs the same thing: the same key, and its reply comes from the cache.
    [cli_record] = records_of(run_cli("funny", SCENES[0], "--variants", "decide-first", "--jsonl"))
    assert cli_record["key"] == record["key"]
    assert cli_record["variants"]["decide-first"]["cached"] is True
    assert (
        cli_record["variants"]["decide-first"]["raw"] == record["variants"]["decide-first"]["raw"]
    )


def test_run_files_read_back_typed_and_reported_as_the_command_line_does(tmp_path):
    """probe.read_records and probe.report give what `probe report --json` prints; to_pandas
    gives one row per variant (pandas is a test dependency here, never probe's)."""
    out = tmp_path / "run.jsonl"
    with ScriptedServer(steady_model) as server:
        result = probe.run(
            RunConfig(
                inputs=SCENES,
                model="openai/scripted",
                api_base=server.base_url,
                api_key=KEY,
                force="no",
                output=out,
            )
        )
    records = probe.read_records(out)
    assert records == result.records == file_records(out)
    cli = run_cli("report", str(out), "--json")
    assert cli.exit_code == 0
    assert probe.report([out]) == json.loads(cli.stdout) == probe.report(records)
    frame = probe.to_pandas(records)
    assert len(frame) == sum(len(r["variants"]) for r in records) == 6
    forced = frame[frame["variant"] == "forced"]
    assert list(forced["forced_answer"]) == ["no", "no"]
    assert set(frame["id"]) == {str(s) for s in SCENES}
    assert list(frame.columns[:7]) == [*probe.api.RECORD_COLUMNS, "variant"]


def test_a_file_that_is_not_a_run_file_is_named_when_read(tmp_path):
    notes = tmp_path / "notes.jsonl"
    notes.write_text('{"a": 1}\n')
    with pytest.raises(UsageError, match=r"notes.jsonl: line 1: not a probe record"):
        probe.read_records(notes)


def test_to_pandas_without_pandas_says_how_to_install_it():
    code = (
        "import sys; sys.modules['pandas'] = None\n"
        "import probe\n"
        "try:\n    probe.to_pandas([])\n"
        "except probe.UsageError as exc:\n    print(exc.message)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert "uv pip install pandas" in done.stdout, done.stderr


def test_a_script_sees_progress_and_rows_per_variant(tmp_path):
    told = []
    with ScriptedServer(steady_model) as server:
        result = probe.run(
            RunConfig(
                inputs=SCENES,
                model="openai/scripted",
                api_base=server.base_url,
                api_key=KEY,
                variants="decide-first,explain-first",
            ),
            progress=lambda done, total: told.append((done, total)),
        )
    assert told == [(0, 2), (1, 2), (2, 2)]
    rows = probe.variant_rows(result.records)
    assert [(r["id"], r["variant"]) for r in rows] == [
        (r["id"], v) for r in result.records for v in ("decide-first", "explain-first")
    ]
    assert all(row["answer"] == "yes" for row in rows)  # steady_model says yes, then explains


def test_a_users_typed_script_is_checked_against_probes_types(tmp_path):
    """probe ships py.typed: mypy --strict reads its types in a user's script, and catches a
    wrong use of them."""
    good = tmp_path / "good.py"
    good.write_text(
        "import probe\n\n"
        "def rates(path: str) -> int:\n"
        "    records: list[probe.Record] = probe.read_records(path)\n"
        "    return len(records)\n"
    )
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import probe\n\nresult = probe.run(probe.RunConfig())\ncount: str = result.stats.done\n"
    )
    for script, ok in ((good, True), (bad, False)):
        done = subprocess.run(
            # the suite's mypy cache (tests/test_code_quality.py fills it first): what mypy
            # reads of the standard library and probe's dependencies is not analysed again
            [sys.executable, "-m", "mypy", "--strict", str(script), "--cache-dir", MYPY_CACHE],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=600,
        )
        assert (done.returncode == 0) is ok, done.stdout
    assert 'Incompatible types in assignment (expression has type "int"' in done.stdout
