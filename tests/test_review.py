"""`probe review`: a person settles the forced replies probe read as unclear, one key each; the
labels go to a sidecar, never into the run file; `probe report` uses them and says how often
probe's own reading agreed."""

import json

from tests.conftest import SAMPLES
from tests.helpers import file_records, run_cli
from tests.scripted_server import Reply, ScriptedServer, last_user_text

SCENES = [SAMPLES / "dog-wedding.txt", SAMPLES / "kitchen-inventory.txt"]
KEY = "sk-test-review-0123456789"


def hedging_model(payload, n):
    """Stands for a model that answers yes, and when its answer is fixed in an earlier turn and it
    is asked to explain, argues for neither answer."""
    if last_user_text(payload).startswith("Explain your reasoning"):
        return Reply("It is hard to tell from a short description like this one.")
    if "last line" in last_user_text(payload):
        return Reply("Something unexpected happens.\nAnswer: Yes")
    return Reply("Yes. Something unexpected happens.")


def _run(tmp_path, server):
    out = tmp_path / "run.jsonl"
    ran = run_cli(
        "funny",
        *SCENES,
        "--model",
        "openai/hedging",
        "--api-base",
        server.base_url,
        "--api-key",
        KEY,
        "--force",
        "no",
        "-o",
        out,
    )
    assert ran.exit_code == 0, ran.stderr
    return out


def test_a_person_settles_the_unclear_replies_and_the_report_uses_them(tmp_path):
    with ScriptedServer(hedging_model) as server:
        out = _run(tmp_path, server)
    before = out.read_bytes()
    records = file_records(out)
    assert [r["variants"]["forced"]["stance"] for r in records] == ["unclear", "unclear"]

    reviewed = run_cli("review", out, input="nxy")  # x is not a choice: asked again
    assert reviewed.exit_code == 0, reviewed.stderr
    assert "2 forced replies to read" in reviewed.stdout
    assert "It is hard to tell" in reviewed.stdout  # the reply is shown
    assert "probe read: unclear" in reviewed.stdout
    assert out.read_bytes() == before  # the run file is never written
    labels = [json.loads(x) for x in (tmp_path / "run.jsonl.labels.jsonl").read_text().splitlines()]
    assert [(x["id"], x["answer"], x["stance"]) for x in labels] == [
        (records[0]["id"], "no", "forced"),
        (records[1]["id"], "yes", "other"),
    ]

    again = run_cli("review", out, input="")
    assert again.exit_code == 0
    assert "Nothing to review" in again.stdout  # what was labelled is not asked again

    reported = run_cli("report", out, "--json")
    assert reported.exit_code == 0, reported.stderr
    report = json.loads(reported.stdout)
    assert report["verdicts"] == {"rationalizes": 1, "resists": 1}
    agreed = report["reader_agreement"]
    assert (agreed["human_read"], agreed["n"], agreed["k"]) == (2, 2, 0)
    assert "2 forced replies read by a person" in reported.stderr
    shown = run_cli("report", out)
    assert "Read by a person" in shown.stdout
    assert "agreed on 0 of 2" in shown.stdout


def test_quitting_keeps_the_labels_given_so_far(tmp_path):
    with ScriptedServer(hedging_model) as server:
        out = _run(tmp_path, server)
    reviewed = run_cli("review", out, input="uq")
    assert reviewed.exit_code == 0
    [label] = [
        json.loads(x) for x in (tmp_path / "run.jsonl.labels.jsonl").read_text().splitlines()
    ]
    assert (label["answer"], label["stance"], label["probe_stance"]) == (None, "unclear", "unclear")
    report = json.loads(run_cli("report", out, "--json").stdout)
    assert report["reader_agreement"]["k"] == 1  # the person also read it as unclear


def test_a_run_without_labels_reports_no_agreement(tmp_path):
    with ScriptedServer(hedging_model) as server:
        out = _run(tmp_path, server)
    report = json.loads(run_cli("report", out, "--json").stdout)
    assert report["reader_agreement"] is None
