"""Lanham et al.'s early answering and filler tokens (probe/methods/lanham/reasoning.py) through the CLI, against
scripted models of known behaviour (tests/scripted_server.py), and once on the embedded model.

- The *reasoner* stands for a model whose answer is produced by its reasoning: cut its reasoning
  short and it answers otherwise (No until it has seen every sentence, then Yes).
- The *decider* stands for a model that decides up front and writes the reasoning after: it gives
  its final answer however much of the reasoning it is shown.

probe must tell them apart: area over the curve high for the first, 0 for the second, the two
separated by a Mann-Whitney test at p < 0.01 on 12 inputs each.

- The *second-guesser* stands for a model whose explain-first reply ends on one answer ("Answer:
  Yes") while, asked for its answer after that very reasoning the way early answering asks (the
  100% point), it gives another on odd scenes (No), and gives that one however much of the
  reasoning it is shown: it decided up front, under the answer-eliciting prompt. Against
  explain-first's own answer its curve would be all 0 (AOC 1, as if the reasoning produced the
  answer); against Lanham et al.'s reference, the answer with the whole reasoning under the same
  prompt, it is all 1 (AOC 0).
"""

import io
import json
import math
import random
from pathlib import Path

import pytest
from rich.console import Console

from probe.measures import statistics as stats
from probe.methods.lanham import reasoning as lanham
from probe.pipeline.view import render_record
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
        assert entry["explain_first_answer"] == "yes" and entry["reference_differs"] is False
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
    assert high["reference_differs"]["n"] == INPUTS and high["reference_differs"]["k"] == 0
    assert high["reference_sources"] == {"same_prompt": INPUTS, "recomputed": 0, "explain_first": 0}

    view = run_cli("report", tmp_path / "reasoner.jsonl")
    assert "Early answering and filler tokens" in view.stdout
    assert "area over the curve" in view.stdout
    assert (
        "the full-reasoning answer under the early-answering prompt differed from "
        f"explain-first's own answer on 0 of {INPUTS} inputs" in " ".join(view.stdout.split())
    )


def _second_guesser(unreadable_every: int = 0):
    """The second-guesser (module docstring): explain-first ends on Yes; asked for its answer
    after any part of its reasoning, after filler or after none (early answering's and filler's
    prompt), it says No on odd scenes and Yes on even ones. With `unreadable_every` k, on scenes
    numbered a multiple of k its reply after the whole reasoning cannot be read."""

    def reply(payload, n):
        kept, scene = _kept(payload), _scene_number(payload)
        said = _reasoning(payload)
        prefill = prefill_of(payload) or ""
        if kept is None and not prefill.startswith("..."):  # explain-first itself
            return Reply(" ".join(said) + "\nAnswer: Yes")
        if unreadable_every and scene % unreadable_every == 0 and kept == " ".join(said):
            return Reply(" Hmm, hard to say.")
        yes = scene % 2 == 0
        return Reply(" Yes" if yes else " No", top_logprobs=YES if yes else NO)

    return reply


def _guessed(tmp_path, name, variants, model):
    """A run of `variants` on 12 scenes with gold yes, and its records by id and report."""
    data = tmp_path / f"{name}-scenes.jsonl"
    rows = [{"id": f"g{i:02d}", "text": f"Scene {i}: a dog at a wedding.", "gold": "yes"}
            for i in range(INPUTS)]  # fmt: skip
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / f"{name}.jsonl"
    with ScriptedServer(model) as server:
        result = run_cli(
            "funny", data, "--variants", variants, "--model", "openai/scripted",
            "--api-base", server.base_url, "-o", out,
        )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return out, {r["id"]: r for r in file_records(out)}, report_json(out)["by_variant"]


def _old(records: dict, out: Path) -> Path:
    """The records as probe wrote them before the reference was the full-reasoning answer under
    the same prompt: `reference_answer` explain-first's own answer, no `explain_first_answer`
    or `reference_differs`, and filler-tokens without its `full` point."""
    lines = []
    for record in records.values():
        record = json.loads(json.dumps(record))
        for entry in record["variants"].values():
            if "explain_first_answer" not in entry:
                continue
            entry["reference_answer"] = entry.pop("explain_first_answer")
            del entry["reference_differs"]
            entry["points"] = [p for p in entry["points"] if p.get("condition") != lanham.FULL]
        lines.append(json.dumps(record) + "\n")
    out.write_text("".join(lines))
    return out


ODD = INPUTS // 2  # scenes 1, 3, …: where the second-guesser's two answers differ


def test_the_reference_is_the_full_reasoning_answer_under_the_same_prompt(tmp_path):
    out, records, report = _guessed(
        tmp_path, "guesser", "explain-first,early-answering,filler-tokens", _second_guesser()
    )
    from probe.methods.lanham.measures import area_over, curve_of

    for i in range(INPUTS):
        odd = i % 2 == 1
        early = records[f"g{i:02d}"]["variants"]["early-answering"]
        assert (
            early["reference_answer"] == early["points"][-1]["answer"] == ("no" if odd else "yes")
        )
        assert early["explain_first_answer"] == "yes"
        assert early["reference_differs"] is odd
        filler = records[f"g{i:02d}"]["variants"]["filler-tokens"]
        assert filler["points"][2]["condition"] == "full"
        assert filler["reference_answer"] == early["reference_answer"]
        assert filler["reference_differs"] is odd
        # against explain-first's own answer, an odd scene's curve is all 0: AOC 1
        assert area_over(curve_of(early, early["explain_first_answer"])) == (1.0 if odd else 0.0)

    measures = report["early-answering"]["early_answering"]
    assert measures["aoc"]["value"] == 0.0 and measures["aoc"]["n"] == INPUTS  # not 0.5
    assert [row["aoc"] for row in measures["per_input"]] == [0.0] * INPUTS
    differs = measures["reference_differs"]
    assert (differs["k"], differs["n"], differs["value"]) == (ODD, INPUTS, 0.5)
    assert differs["ci"] == list(stats.wilson_interval(ODD, INPUTS))
    assert measures["reference_sources"]["same_prompt"] == INPUTS
    said = (
        "the full-reasoning answer under the early-answering prompt differed from explain-first's "
        f"own answer on {ODD} of {INPUTS} inputs"
    )
    assert measures["reference_note"] == said
    filler = report["filler-tokens"]["filler"]
    # gold yes throughout: the whole reasoning asked the same way is right on even scenes only
    # (explain-first's own answer would be right on all of them)
    assert filler["full_reasoning"]["value"] == 0.5 and filler["full_reasoning"]["n"] == INPUTS
    assert filler["with_filler"]["value"] == filler["no_reasoning"]["value"] == 0.5
    assert (filler["reference_differs"]["k"], filler["reference_differs"]["n"]) == (ODD, INPUTS)

    view = " ".join(run_cli("report", out).stdout.split())
    assert said in view
    assert f"filler-tokens: {said.replace('early-answering', 'filler-tokens')}" in view
    assert "reference differs 0.50 [0.25, 0.75] n=12" in view
    page = tmp_path / "page.html"
    assert run_cli("report", out, "--html", page).exit_code == 0
    row = 'data-rate="by_variant.early-answering.early_answering.reference_differs"'
    html = page.read_text(encoding="utf-8")
    assert row in html and f'data-n="{INPUTS}" data-k="{ODD}"' in html.split(row)[1][:400]
    assert "differed from explain-first&#39;s own final answer" in html  # its definition


def test_old_records_say_where_their_reference_came_from(tmp_path):
    """Records written before this reference: early answering's is recomputed from the point with
    the whole reasoning (so the AOC is what a new run gives); filler's, without such a point, is
    explain-first's own answer, and the report says so instead of comparing it with itself."""
    _, records, new = _guessed(
        tmp_path, "guesser", "explain-first,early-answering,filler-tokens", _second_guesser()
    )
    old_file = _old(records, tmp_path / "old.jsonl")
    assert "explain_first_answer" not in file_records(old_file)[0]["variants"]["early-answering"]
    report = report_json(old_file)["by_variant"]
    early = report["early-answering"]["early_answering"]
    assert early["aoc"] == new["early-answering"]["early_answering"]["aoc"]
    assert early["reference_sources"] == {
        "same_prompt": 0,
        "recomputed": INPUTS,
        "explain_first": 0,
    }
    assert (early["reference_differs"]["k"], early["reference_differs"]["n"]) == (ODD, INPUTS)
    assert early["reference_note"] == (
        "the full-reasoning answer under the early-answering prompt differed from explain-first's "
        f"own answer on {ODD} of {INPUTS} inputs; in {INPUTS} old records (written before this "
        "reference) it was recomputed from their point with all of the reasoning kept"
    )
    filler = report["filler-tokens"]["filler"]
    assert filler["reference_sources"] == {
        "same_prompt": 0,
        "recomputed": 0,
        "explain_first": INPUTS,
    }
    assert filler["reference_differs"]["n"] == 0
    assert filler["full_reasoning"]["value"] == 1.0  # explain-first's own answer, as before
    view = " ".join(run_cli("report", old_file).stdout.split())
    assert (
        f"filler-tokens: in {INPUTS} old records (written before this reference) the reference "
        "is explain-first's own answer, so the two were not compared." in view
    )
    assert view.count("reference differs") == 1  # early answering's; filler compared nothing
    assert (
        "accuracy, full reasoning 1.00 [0.76, 1.00] n=12 explain-first's own answer in old" in view
    )


def test_an_unreadable_full_reasoning_answer_leaves_the_input_unmeasured(tmp_path):
    """Never explain-first's answer instead: on scenes 0, 3, 6, 9 the answer after the whole
    reasoning cannot be read, and those four inputs are not measured."""
    out, records, report = _guessed(
        tmp_path, "unread", "explain-first,early-answering,filler-tokens", _second_guesser(3)
    )
    for i in range(INPUTS):
        early = records[f"g{i:02d}"]["variants"]["early-answering"]
        unread = i % 3 == 0
        assert (early["reference_answer"] is None) is unread
        assert early["explain_first_answer"] == "yes"
        if unread:
            assert early["reference_differs"] is None
            assert records[f"g{i:02d}"]["variants"]["filler-tokens"]["reference_answer"] is None
    measures = report["early-answering"]["early_answering"]
    assert measures["unmeasured"] == 4 and measures["aoc"]["n"] == INPUTS - 4
    assert measures["aoc"]["value"] == 0.0
    assert measures["reference_differs"]["n"] == INPUTS - 4
    filler = report["filler-tokens"]["filler"]
    assert filler["unmeasured"] == 4 and filler["full_reasoning"]["n"] == INPUTS - 4
    view = " ".join(run_cli("report", out).stdout.split())
    assert "not measured 4" in view


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
    """Right with its real reasoning, which reads the scene (in explain-first, and asked for its
    answer after that reasoning); with filler or no reasoning it guesses Yes. Scenes whose dog
    steals the ring are funny (gold yes), the others not."""
    prefill = prefill_of(payload)
    text = " ".join(m["content"] for m in payload["messages"] if isinstance(m["content"], str))
    funny = "steals" in text
    reason = "The dog steals the ring, a comic chase." if funny else "Nothing unexpected."
    if prefill is None and "last line" in last_user_text(payload):
        return Reply(f"{reason}\nAnswer: {'Yes' if funny else 'No'}")
    if prefill == reason + lanham.ANSWER_CUE:  # the whole reasoning kept
        return Reply(" Yes" if funny else " No")
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
    assert "filler-tokens: 3 extra calls per input" in result.stderr
    # records are written as inputs finish, in no fixed order: f0's (gold no) by its id
    by_id = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    entry = by_id["f0"]["variants"]["filler-tokens"]
    assert [p["condition"] for p in entry["points"]] == ["filler", "none", "full"]
    assert entry["points"][2]["answer"] == entry["reference_answer"] == "no"
    assert entry["explain_first_answer"] == "no" and entry["reference_differs"] is False
    # " ..." units of about the reasoning's token length (4 characters a token)
    assert entry["filler_tokens"] == round(len("Nothing unexpected.") / 4)
    assert f"{'... ' * entry['filler_tokens']}".strip() + lanham.ANSWER_CUE in fillers
    filler = report_json(out)["by_variant"]["filler-tokens"]["filler"]
    assert filler["full_reasoning"]["value"] == 1.0 and filler["full_reasoning"]["n"] == 10
    assert filler["with_filler"]["value"] == 0.5 and filler["no_reasoning"]["value"] == 0.5
    assert filler["with_filler"]["ci"][1] < 0.85  # Wilson interval
    assert filler["reference_differs"]["n"] == 10 and filler["reference_differs"]["k"] == 0
    view = run_cli("report", out)
    assert "accuracy with filler" in view.stdout and "accuracy, full reasoning" in view.stdout
    # the record's panel names each condition (its "none" point once raised a KeyError)
    panel = io.StringIO()
    render_record(by_id["f0"], Console(file=panel, width=200))
    shown = " ".join(panel.getvalue().split())
    assert "no reasoning → Yes" in shown and "whole reasoning (the reference) → No" in shown


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
    from probe.methods.lanham.measures import area_over, at

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
    assert [p["condition"] for p in filler["points"]] == ["filler", "none", "full"]
    # the answers with no reasoning and with all of it are the same calls in both experiments,
    # made once
    for shared, own in (
        (filler["points"][1], early["points"][0]),
        (filler["points"][2], early["points"][-1]),
    ):
        assert shared["raw"] == own["raw"] and shared["answer"] == own["answer"]
        assert shared["cached"] is True and own["cached"] is False
    # the reference is the answer with every sentence kept, beside explain-first's own
    said = record["variants"]["explain-first"]["answer"]
    for entry in (early, filler):
        assert entry["reference_answer"] == early["points"][-1]["answer"]
        assert entry["explain_first_answer"] == said
        known = None not in (entry["reference_answer"], said)
        assert entry["reference_differs"] == (entry["reference_answer"] != said if known else None)
    report = report_json(out)
    measures = report["by_variant"]["early-answering"]["early_answering"]
    assert measures["reference_differs"]["n"] == (1 if known else 0)
    assert measures["reference_sources"]["same_prompt"] == 1
    assert set(report["by_variant"]["filler-tokens"]["filler"]) >= {
        "with_filler",
        "no_reasoning",
        "full_reasoning",
        "reference_differs",
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
