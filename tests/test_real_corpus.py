"""probe's readers against replies that real models produced (tests/corpus/real/, see its
README): the embedded SmolLM2-135M, Qwen2.5-Coder-0.5B and -1.5B served by llama.cpp, collected
with probe itself; and Turpin et al.'s released chains of thought (text-davinci-003, claude-v1),
referenced by file and index. Every label was written blind, by labellers who never saw probe's
rules or readings. heldout.jsonl holds the replies about inputs set aside by their id before any
reply was read; the rules were never tuned on it.

The floors are the figures measured when the rules were settled (README, "How probe reads
replies"); a drop below them is a regression. Where a floor is under the issue's target, the
README says so and why.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from probe.reading import assertions, stance
from tests.corpus_eval import (
    REAL_FILES,
    TURPIN,
    answer_scores,
    coverage,
    load,
    load_real,
    precision,
    real_answers,
    real_stance,
    real_task,
    task_of,
    turpin_available,
    turpin_entries,
    turpin_release_agreement,
)

SMOL, Q05, Q15 = (
    "SmolLM2-135M-Instruct",
    "Qwen2.5-Coder-0.5B-Instruct",
    "Qwen2.5-Coder-1.5B-Instruct",
)
TURPIN_MODELS = ("text-davinci-003", "claude-v1")
needs_turpin = pytest.mark.skipif(
    not turpin_available(), reason=f"the Turpin et al. release is not at {TURPIN}"
)

# (accuracy of explain-first answers, text + extraction; their coverage) per model, both files
# together; measured when the rules were settled (README), less 0.02. None: every model.
ANSWER_LAST_FLOOR: dict[str | None, tuple[float, float]] = {
    SMOL: (0.88, 0.92),
    Q05: (0.94, 0.74),
    Q15: (0.90, 0.90),
    None: (0.91, 0.85),
}
# (precision, coverage) of the forced stance without a judge, the same way.
STANCE_FLOOR: dict[str | None, tuple[float, float]] = {
    SMOL: (0.81, 0.86),
    Q05: (0.89, 0.95),
    Q15: (0.89, 0.71),
    None: (0.85, 0.85),
}


def everything() -> list[dict]:
    return [e for name in REAL_FILES for e in load_real(name)]


def test_the_corpus_is_real_large_varied_and_labelled_blind():
    replies = everything()
    models = Counter(e["model"] for e in replies)
    turpin = load_real("turpin.jsonl")
    turpin_models = {e["id"].split("-", 2)[1] for e in turpin}
    assert len(replies) + len(turpin) >= 400
    assert {SMOL, Q05, Q15} <= set(models)
    assert all(models[m] >= 60 for m in (SMOL, Q05, Q15)), models
    assert {"claude", "text"} <= turpin_models
    assert {e["task"] for e in replies} == {"funny", "sarcastic", "ask", "mc"}
    variants = {e["variant"] for e in replies}
    assert {"decide-first", "forced", "explain-first", "suggested-explain-first"} <= variants
    assert {e.get("mechanism") for e in replies} >= {"prefill", "prior-turn", "note"}
    assert all(e["label"]["answer"] is not None and e.get("labeller") for e in replies)
    assert all(
        e["label"]["stance"] in ("forced", "other", "unclear")
        for e in replies
        if e.get("mechanism")
    )
    ids = [e["id"] for e in replies] + [e["id"] for e in turpin]
    assert len(ids) == len(set(ids))


def test_the_held_out_part_is_whole_inputs_never_seen_in_the_rest():
    held = load_real("heldout.jsonl")
    dev = load_real("replies.jsonl")
    assert len(held) >= 60
    assert {e["input_id"] for e in held}.isdisjoint({e["input_id"] for e in dev})


@pytest.mark.parametrize("model", [SMOL, Q05, Q15, None])
def test_explain_first_answers(model):
    results = real_answers(*REAL_FILES, end=True, model=model)
    scores = answer_scores(results)
    accuracy_floor, coverage_floor = ANSWER_LAST_FLOOR.get(model, (0.0, 0.0))
    wrong = [r.entry["id"] for r in results if r.answer is not None and not r.correct]
    assert scores["accuracy"] >= accuracy_floor, (scores, wrong)
    assert scores["coverage"] >= coverage_floor, scores


@pytest.mark.parametrize("model", [SMOL, Q05, Q15, None])
def test_forced_stance_without_a_judge(model):
    results = real_stance(*REAL_FILES, model=model)
    precision_floor, coverage_floor = STANCE_FLOOR.get(model, (0.0, 0.0))
    wrong = [r.entry["id"] for r in results if r.predicted != "unclear" and not r.correct]
    assert precision(results) >= precision_floor, wrong
    assert coverage(results) >= coverage_floor


@needs_turpin
def test_turpin_chains_of_thought_read_as_their_labellers_read_them():
    rows = turpin_entries()
    agree = sum(
        assertions.final_answer(gen, task)
        == (e["label"]["answer"] if e["label"]["answer"] != "none" else None)
        for e, gen, task, _ in rows
    )
    assert len(rows) >= 100
    assert agree / len(rows) >= 0.98


@needs_turpin
def test_turpin_final_answers_agree_with_their_own_parse():
    """Over all 38,687 released chains of thought whose answer Turpin et al.'s own parser read."""
    for model, (agree, n) in turpin_release_agreement().items():
        assert n > 15_000, model
        assert agree / n >= 0.99, (model, agree, n)


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|\n+", text) if len(s.split()) >= 2]


def test_one_sentence_reads_the_same_in_every_variant():
    """Every sentence of every reply in every corpus file (real and written): where it asserts
    one answer, the explain-first reader, the decide-first reader, early answering's reader
    (prefill + continuation) and the forced reader's statement detector read that answer."""
    from probe.reading.detectors import read_statements

    entries = [(e, real_task(e)) for e in everything()]
    for name in ("answers.jsonl", "heldout_answers.jsonl", "stance.jsonl", "heldout_stance.jsonl"):
        entries += [(e, task_of(e)) for e in load(name)]
    checked = 0
    for entry, task in entries:
        for sentence in _sentences(entry["reply"]):
            said = assertions.read(sentence, task)
            answers_said = {s.answer for s in said.found}
            if len(answers_said) != 1 or said.final is None:
                continue
            (answer,) = answers_said
            assert assertions.final_answer(sentence, task) == answer, sentence
            assert assertions.first_answer(sentence, task) == answer, sentence
            assert assertions.final_answer("Answer:" + " " + sentence, task) in (answer, None)
            forced = task.options[0]
            reading = read_statements(sentence, forced, task, "note")
            assert reading.answer == answer, sentence
            checked += 1
    assert checked >= 300


def test_a_contradiction_is_a_conflict_not_a_stance():
    """A reply that opens Yes and ends arguing the question's own predicate the other way, with
    no explicit conclusion: unclear, stance_conflict (the symptom in issue 18)."""
    from probe.variants.tasks import FUNNY

    reply = "Yes. The groom waits at the altar while the guests take their seats. The scene does not show anything funny."
    readings = stance.read(reply, "yes", FUNNY, "note")
    combined = stance.combine(readings, "yes", FUNNY)
    assert combined.stance == "unclear" and combined.conflict
    assert assertions.final_answer(reply, FUNNY) is None
    assert (
        assertions.final_answer(reply + " So the answer is no.", FUNNY) is None
    )  # no change of mind
    settled = (
        "Yes. The groom waits at the altar. Wait, re-reading it, the scene does not show anything "
        "funny, so the answer is no."
    )
    combined = stance.combine(stance.read(settled, "yes", FUNNY, "note"), "yes", FUNNY)
    assert (combined.stance, combined.answer, combined.conflict) == ("other", "no", True)
