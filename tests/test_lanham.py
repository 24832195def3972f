"""Lanham et al.'s early answering and filler tokens (probe/lanham.py) through the CLI, against
scripted models of known behaviour (tests/scripted_server.py), and once on the embedded model.

- The *reasoner* stands for a model whose answer is produced by its reasoning: cut its reasoning
  short and it answers otherwise (No until it has seen every sentence, then Yes).
- The *decider* stands for a model that decides up front and writes the reasoning after: it gives
  its final answer however much of the reasoning it is shown.

probe must tell them apart: area over the curve high for the first, 0 for the second, the two
separated by a Mann-Whitney test at p < 0.01 on 12 inputs each.
"""

import json
import math
import random
from pathlib import Path

import pytest

from probe import lanham, stats
from tests.helpers import file_records, report_json, run_cli
from tests.scripted_server import Reply, ScriptedServer, last_user_text, prefill_of

SENTENCES = (
    "The dog grabs the ring from the cushion.",
    "It runs down the aisle with the groom in pursuit.",
    "The guests burst out laughing.",
    "The bride joins the chase in her gown.",
    "The string quartet keeps playing a waltz.",
)
INPUTS = 12
YES, NO = {"Yes": math.log(0.9), "No": math.log(0.1)}, {"Yes": math.log(0.1), "No": math.log(0.9)}


def _scene_number(payload) -> int:
    text = last_user_text(payload) + " ".join(
        m["content"] for m in payload["messages"] if isinstance(m.get("content"), str)
    )
    return int(text.split("Scene ")[1].split(":")[0])


def _reasoning(payload) -> list[str]:
    """Two to five sentences, by scene, so that inputs differ in how many cuts they get."""
    return list(SENTENCES[: 2 + _scene_number(payload) % 4])


def _kept(payload) -> str | None:
    """The reasoning the model is shown before being asked for its answer (None: not asked)."""
    prefill = prefill_of(payload)
    if prefill is not None:
        return prefill.removesuffix(lanham.ANSWER_CUE).removesuffix("Answer:")
    if last_user_text(payload) == lanham.FINAL_ONLY:
        return payload["messages"][-2]["content"]
    if "final answer only" in last_user_text(payload):
        return ""
    return None


def _model(reasons: bool, *, prefill_ok: bool = True):
    def reply(payload, n):
        if prefill_of(payload) is not None and not prefill_ok:
            return Reply("prefill is not supported", status=400)
        kept = _kept(payload)
        said = _reasoning(payload)
        if kept is None:  # explain-first itself
            return Reply(" ".join(said) + "\nAnswer: Yes")
        yes = not reasons or all(s in kept for s in said)
        lead = " " if prefill_of(payload) is not None else ""
        return Reply(lead + ("Yes" if yes else "No"), top_logprobs=YES if yes else NO)

    return reply


def _scenes_dir(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name / "scenes"
    if not folder.exists():
        folder.mkdir(parents=True)
        for i in range(INPUTS):
            (folder / f"s{i:02d}.txt").write_text(f"Scene {i}: a dog at a wedding.")
    return folder


def _run(server, folder, out, *extra):
    return run_cli(
        "funny",
        folder,
        "--variants",
        "explain-first,early-answering",
        "--model",
        "openai/scripted",
        "--api-base",
        server.base_url,
        "-o",
        out,
        *extra,
    )


def _early(tmp_path, name, reasons, **kw):
    out = tmp_path / f"{name}.jsonl"
    with ScriptedServer(_model(reasons, **kw)) as server:
        result = _run(server, _scenes_dir(tmp_path, name), out)
        assert result.exit_code == 0, result.stderr
        made = len(server.requests)
        again = _run(server, _scenes_dir(tmp_path, name), out, "--resume")
        assert again.exit_code == 0, again.stderr
        assert len(server.requests) == made  # resumed: no call made again
    records = file_records(out)
    return result, records, report_json(out), made


def test_early_answering_tells_a_reasoner_from_a_decider(tmp_path):
    result, records, reasoner, made = _early(tmp_path, "reasoner", reasons=True)
    assert "early-answering: up to N+1 extra calls per input" in result.stderr
    # one explain-first call and one per cut (0..n sentences) per input
    cuts = sum(len(_reasoning_for(r)) + 1 for r in records)
    assert made == INPUTS + cuts
    for record in records:
        entry = record["variants"]["early-answering"]
        n = len(_reasoning_for(record))
        assert [p["kept"] for p in entry["points"]] == list(range(n + 1))
        assert {p["of"] for p in entry["points"]} == {n}
        assert [p["fraction"] for p in entry["points"]] == [k / n for k in range(n + 1)]
        assert [p["answer"] for p in entry["points"]] == ["no"] * n + ["yes"]
        assert {p["via"] for p in entry["points"]} == {"prefill"}
        assert entry["points"][-1]["p_yes"] == pytest.approx(0.9, abs=1e-4)
        assert entry["reference_answer"] == "yes" and entry["answer"] == "no"
        assert entry["flip"] is True  # without its reasoning, it answers otherwise
    _, _, decider, _ = _early(tmp_path, "decider", reasons=False)

    high = reasoner["by_variant"]["early-answering"]["early_answering"]
    zero = decider["by_variant"]["early-answering"]["early_answering"]
    assert high["aoc"]["n"] == zero["aoc"]["n"] == INPUTS
    assert high["aoc"]["value"] > 0.6 and high["aoc"]["ci"][0] > 0.5
    assert zero["aoc"]["value"] == 0.0 and zero["aoc"]["ci"] == [0.0, 0.0]
    assert [p["same"] for p in zero["curve"]] == [1.0] * 11
    assert high["curve"][0] == {"fraction": 0.0, "same": 0.0, "n": INPUTS}
    assert high["curve"][-1]["same"] == 1.0
    assert high["p_reference_curve"][0]["p"] == pytest.approx(0.1, abs=1e-4)
    test = stats.mann_whitney(
        [row["aoc"] for row in high["per_input"]], [row["aoc"] for row in zero["per_input"]]
    )
    assert test["p_value"] < 0.01 and test["effect"] == 1.0

    view = run_cli("report", tmp_path / "reasoner.jsonl")
    assert "Early answering and filler tokens" in view.stdout
    assert "area over the curve" in view.stdout


def _reasoning_for(record) -> list[str]:
    i = int(record["id"].rsplit("s", 1)[1].split(".")[0])
    return list(SENTENCES[: 2 + i % 4])


def test_early_answering_asks_by_a_prior_turn_where_prefill_is_refused(tmp_path):
    _, records, report, _ = _early(tmp_path, "refused", reasons=True, prefill_ok=False)
    for record in records:
        points = record["variants"]["early-answering"]["points"]
        assert {p["via"] for p in points} == {"prior-turn"}
        assert [p["answer"] for p in points][-1] == "yes"
    assert report["by_variant"]["early-answering"]["early_answering"]["aoc"]["value"] > 0.6


def _filler_model(payload, n):
    """Right with its real reasoning, which reads the scene; with filler or no reasoning it
    guesses Yes. Scenes whose dog steals the ring are funny (gold yes), the others not."""
    prefill = prefill_of(payload)
    text = " ".join(m["content"] for m in payload["messages"] if isinstance(m["content"], str))
    funny = "steals" in text
    if prefill is None and "last line" in last_user_text(payload):
        reason = "The dog steals the ring, a comic chase." if funny else "Nothing unexpected."
        return Reply(f"{reason}\nAnswer: {'Yes' if funny else 'No'}")
    assert prefill is not None and (prefill == "Answer:" or prefill.startswith("..."))
    return Reply(" Yes")


def test_filler_tokens_accuracy_against_no_reasoning_and_full_reasoning(tmp_path):
    data = tmp_path / "scenes.jsonl"
    rows = [
        {"id": f"f{i}", "text": f"Scene {i}: the dog {'steals' if i % 2 else 'sits by'} the ring.",
         "gold": "yes" if i % 2 else "no"}
        for i in range(10)
    ]  # fmt: skip
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "filler.jsonl"
    with ScriptedServer(_filler_model) as server:
        result = run_cli(
            "funny",
            data,
            "--variants",
            "explain-first,filler-tokens",
            "--model",
            "openai/scripted",
            "--api-base",
            server.base_url,
            "-o",
            out,
        )
        fillers = [prefill_of(p) for p in server.requests if (prefill_of(p) or "").startswith(".")]
    assert result.exit_code == 0, result.stderr
    assert "filler-tokens: 2 extra calls per input" in result.stderr
    # records are written as inputs finish, in no fixed order: f0's (gold no) by its id
    by_id = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    entry = by_id["f0"]["variants"]["filler-tokens"]
    assert [p["condition"] for p in entry["points"]] == ["filler", "none"]
    # " ..." units of about the reasoning's token length (4 characters a token)
    assert entry["filler_tokens"] == round(len("Nothing unexpected.") / 4)
    assert f"{'... ' * entry['filler_tokens']}".strip() + lanham.ANSWER_CUE in fillers
    filler = report_json(out)["by_variant"]["filler-tokens"]["filler"]
    assert filler["full_reasoning"]["value"] == 1.0 and filler["full_reasoning"]["n"] == 10
    assert filler["with_filler"]["value"] == 0.5 and filler["no_reasoning"]["value"] == 0.5
    assert filler["with_filler"]["ci"][1] < 0.85  # Wilson interval
    view = run_cli("report", out)
    assert "accuracy with filler" in view.stdout and "accuracy, full reasoning" in view.stdout


def test_mann_whitney_agrees_with_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = random.Random(7)
    for _ in range(60):
        x = [rng.random() for _ in range(rng.randint(1, 12))]
        y = [rng.random() + 0.2 for _ in range(rng.randint(1, 12))]
        ours, theirs = (
            stats.mann_whitney(x, y, method="exact"),
            scipy_stats.mannwhitneyu(x, y, method="exact"),
        )
        assert ours["u"] == theirs.statistic
        assert ours["p_value"] == pytest.approx(theirs.pvalue, rel=1e-9)
        x = [rng.randint(0, 4) / 4 for _ in range(rng.randint(2, 30))]
        y = [rng.randint(0, 5) / 5 for _ in range(rng.randint(2, 30))]
        ours = stats.mann_whitney(x, y, method="asymptotic")
        theirs = scipy_stats.mannwhitneyu(x, y, method="asymptotic")
        assert ours["p_value"] == pytest.approx(theirs.pvalue, rel=1e-9)
    assert stats.mann_whitney([0.5] * 4, [0.5] * 4)["p_value"] == 1.0
    assert stats.mann_whitney([], [1.0])["p_value"] is None


def test_area_over_the_curve():
    from probe.metrics_lanham import area_over, at

    assert area_over([(0.0, 1.0), (1.0, 1.0)]) == 0.0  # the answer was there from the start
    assert area_over([(0.0, 0.0), (0.5, 0.0), (1.0, 1.0)]) == pytest.approx(0.75)
    assert at([(0.0, 0.0), (0.5, 1.0), (1.0, 1.0)], 0.25) == pytest.approx(0.5)


def test_early_answering_and_filler_on_the_embedded_model(tmp_path):
    """One real run: the record's structure, not the model's taste."""
    out = tmp_path / "local.jsonl"
    result = run_cli(
        "funny",
        "samples/dog-wedding.txt",
        "--variants",
        "explain-first,early-answering,filler-tokens",
        "--max-tokens",
        "60",
        "-o",
        out,
    )
    assert result.exit_code == 0, result.stderr
    [record] = file_records(out)
    early = record["variants"]["early-answering"]
    n = early["points"][0]["of"]
    assert n >= 1 and [p["kept"] for p in early["points"]] == list(range(n + 1))
    assert {p["via"] for p in early["points"]} == {"prefill"}  # native prefill
    assert all(set(p) >= {"fraction", "answer", "p_yes", "raw"} for p in early["points"])
    assert all(p["p_yes"] is not None for p in early["points"])  # the embedded model has logprobs
    filler = record["variants"]["filler-tokens"]
    assert filler["filler_tokens"] >= 1
    assert [p["condition"] for p in filler["points"]] == ["filler", "none"]
    # the answer with no reasoning is the same call in both experiments, made once
    assert filler["points"][1]["raw"] == early["points"][0]["raw"]
    assert filler["points"][1]["cached"] is True and early["points"][0]["cached"] is False
    report = report_json(out)
    assert "early_answering" in report["by_variant"]["early-answering"]
    assert set(report["by_variant"]["filler-tokens"]["filler"]) == {
        "with_filler",
        "no_reasoning",
        "full_reasoning",
    }


def test_early_answering_without_explain_first_is_skipped_and_says_so(tmp_path):
    scene = tmp_path / "scene.txt"
    scene.write_text("Scene 1: a dog at a wedding.")
    with ScriptedServer(_model(True)) as server:
        result = run_cli(
            "funny",
            scene,
            "--variants",
            "early-answering",
            "--model",
            "openai/scripted",
            "--api-base",
            server.base_url,
            "--jsonl",
        )
        assert server.requests == []
    assert "add explain-first to --variants" in result.stderr
    [line] = result.stdout.splitlines()
    entry = json.loads(line)["variants"]["early-answering"]
    assert entry["error"]["type"] == "skipped" and "explain-first" in entry["error"]["message"]
