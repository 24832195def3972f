"""probe's classifiers of model text against the labelled corpus (tests/corpus/, see
tests/corpus_eval.py): the stance of forced replies, the answer and explanation of explain-first,
decide-first and judge replies, and whether an explanation mentions its bias (probe.reading.mentions). The
README states the figures; these tests hold them.

A stance is either read (forced or other) or left unclear. What matters most is that a stance
probe reads is right — a wrong one flips a verdict — so precision is held at 95% on every file.
Replies that argue only through the facts of the input cannot be read by any lexical rule; probe
leaves them unclear rather than guess (a guess of "forced" would make rationalization true by
default), so coverage is held at what each file measured, to catch a regression.
"""

import pytest

from tests.corpus_eval import (
    ANSWER_FILES,
    MENTION_FILES,
    MENTION_KINDS,
    STANCE_FILES,
    TURPIN,
    TURPIN_STRATA,
    abstention,
    accuracy,
    answer_results,
    coverage,
    load,
    mention_results,
    mention_scores,
    precision,
    stance_results,
    turpin_available,
)

# Coverage measured when the rules were settled (README); a drop below these is a regression.
# heldout_stance.jsonl fell from 0.81 to 0.79 when contradictions stopped being read as stances
# (probe.reading.assertions): h020, h088 and h098 assert both answers with nothing explicit last.
COVERAGE_FLOOR = {
    "stance.jsonl": 0.90,
    "heldout_stance.jsonl": 0.78,
    "heldout2_stance.jsonl": 0.55,
}


def test_the_corpus_is_large_and_varied():
    stance = [e for name in STANCE_FILES for e in load(name)]
    replies = [e for name in ANSWER_FILES for e in load(name)]
    assert len(stance) >= 500 and len(replies) >= 200
    assert {e["mechanism"] for e in stance} == {"prefill", "prior-turn", "note"}
    assert {e["stance"] for e in stance} == {"forced", "other", "unclear"}
    assert {e["variant"] for e in replies} == {"explain-first", "decide-first", "judge"}
    assert {e["task"] for e in stance + replies} >= {"funny", "sarcastic", "ask", "mc"}
    assert len({e["id"] for e in stance + replies}) == len(stance + replies)


@pytest.mark.parametrize("name", STANCE_FILES)
def test_a_stance_probe_reads_is_right(name):
    results = stance_results(name)
    wrong = [r.entry["id"] for r in results if r.predicted != "unclear" and not r.correct]
    assert precision(results) >= 0.95, f"read wrongly: {wrong}"


@pytest.mark.parametrize("name", STANCE_FILES)
def test_unreadable_replies_stay_unclear_and_readable_ones_are_read(name):
    results = stance_results(name)
    assert abstention(results) >= 0.9
    assert coverage(results) >= COVERAGE_FLOOR[name]


def test_the_stance_is_right_on_at_least_95_percent_of_replies_that_state_or_argue_it():
    """Over every file: replies whose stance shows in their words (an answer, a retraction, a
    hedge, the question's own terms or a 'because' right after the forced answer) — every reply
    except those that argue only through facts of the input, which need a judge."""
    results = [r for name in STANCE_FILES for r in stance_results(name)]
    worded = [r for r in results if r.predicted != "unclear" or r.entry["stance"] == "unclear"]
    assert accuracy(worded) >= 0.95


@pytest.mark.parametrize("name", ANSWER_FILES)
def test_answers_and_explanations(name):
    results = answer_results(name)
    wrong = [r.entry["id"] for r in results if not r.correct]
    assert accuracy(results) >= 0.95, f"{len(wrong)} of {len(results)} wrong: {wrong}"


def test_the_explanation_a_judge_sees_states_no_answer():
    """Every reply, once its answers are removed, states none."""
    from probe.reading import answers
    from tests.corpus_eval import task_of

    for name in ANSWER_FILES:
        for e in load(name):
            task = task_of(e)
            shown = answers.explanation(e["reply"], task)
            assert answers.statements(shown, task, negated=True) == [], (e["id"], shown)


# --- bias and forcing mentions (probe.reading.mentions) --------------------------------------------------

# (precision, recall) measured when the rules were settled (README), on the text as written and on
# the explanation the engine feeds the detectors; a drop below these is a regression.
MENTION_FLOOR = {
    "mentions.jsonl": ((1.0, 0.97), (1.0, 0.94)),
    "heldout_mentions.jsonl": ((1.0, 0.97), (1.0, 0.95)),
    "turpin_mentions.jsonl": ((0.94, 1.0), (0.94, 1.0)),
}


def _mention_files() -> list:
    """The mention files, the Turpin one skipped where the release is not at hand."""
    reason = f"the Turpin et al. release is not at {TURPIN} (see tests/corpus_eval.py)"
    return [
        pytest.param(name, marks=pytest.mark.skipif(not turpin_available(), reason=reason))
        if name.startswith("turpin")
        else name
        for name in MENTION_FILES
    ]


def test_the_mention_corpus_is_large_and_varied():
    for name in ("mentions.jsonl", "heldout_mentions.jsonl"):
        entries = load(name)
        assert len(entries) >= 150, name
        assert {(e["kind"], e["mentions"]) for e in entries} == {
            (k, m) for k in MENTION_KINDS for m in (True, False)
        }, name
        for kind in MENTION_KINDS:  # both labels well represented for every kind
            labels = [e["mentions"] for e in entries if e["kind"] == kind]
            assert min(labels.count(True), labels.count(False)) >= 15, (name, kind)
        assert len({e["text"] for e in entries}) == len(entries), name
    texts = {e["text"] for name in ("mentions.jsonl", "heldout_mentions.jsonl") for e in load(name)}
    assert len(texts) == len(load("mentions.jsonl")) + len(load("heldout_mentions.jsonl"))


def test_the_turpin_labels_point_into_the_release_and_copy_none_of_it():
    entries = load("turpin_mentions.jsonl")
    assert len(entries) >= 100
    assert sum(e["stratum"] == "random" for e in entries) >= 100
    assert {e["stratum"] for e in entries} == set(TURPIN_STRATA)
    assert {e["kind"] for e in entries} == {"suggestion", "few-shot"}
    assert {e["mentions"] for e in entries} == {True, False}
    assert all("text" not in e for e in entries)  # the release's README: do not copy it
    assert len({(e["source"], e["index"]) for e in entries}) == len(entries)


@pytest.mark.parametrize("name", _mention_files())
@pytest.mark.parametrize("fed", [False, True], ids=["as-written", "as-fed"])
def test_the_mention_detectors_hold_their_precision_and_recall(name, fed):
    results = mention_results(name, fed=fed)
    p, r, _ = mention_scores(results)
    floor_p, floor_r = MENTION_FLOOR[name][fed]
    wrong = [
        (e.entry["kind"], e.entry.get("text", e.entry.get("index")))
        for e in results
        if not e.correct
    ]
    assert p is not None and p >= floor_p, wrong
    assert r is not None and r >= floor_r, wrong


@pytest.mark.skipif(not turpin_available(), reason="the Turpin et al. release is not at hand")
def test_no_mention_is_read_into_a_random_sample_of_real_explanations():
    """Turpin et al.'s random sample holds no mention; the detector flags none of it."""
    results = mention_results("turpin_mentions.jsonl")
    sample = [r for r in results if r.entry["stratum"] == "random"]
    assert not any(r.entry["mentions"] for r in sample)
    assert not any(r.predicted for r in sample)


# --- Chen et al.'s hints: does an explanation mention the hint? (probe.methods.hints.hints.mentions_hint) ---
# Precision and recall measured when the rules were settled (README, docs/report.md): the rules
# were written on hint_mentions.jsonl; heldout_hint_mentions.jsonl, in another style, was labelled
# before the detector first ran on it and was not tuned on.
HINT_FILES = {"hint_mentions.jsonl": (1.0, 0.98), "heldout_hint_mentions.jsonl": (0.89, 0.78)}


def test_the_hint_mention_corpus_is_large_varied_and_balanced():
    from probe.methods.hints.hints import KINDS

    for name, least in (("hint_mentions.jsonl", 160), ("heldout_hint_mentions.jsonl", 60)):
        rows = load(name)
        assert len(rows) >= least and len({e["id"] for e in rows}) == len(rows)
        for kind in KINDS:
            labels = [e["mentions"] for e in rows if e["kind"] == kind]
            assert len(labels) >= 15 and 0.35 <= sum(labels) / len(labels) <= 0.65, (name, kind)
        assert {e["task"] for e in rows} >= {"funny", "sarcastic", "ask", "mc"}


@pytest.mark.parametrize("name", HINT_FILES)
def test_hint_mentions_are_read_at_the_measured_precision_and_recall(name):
    from probe.methods.hints.hints import mentions_hint

    rows = load(name)
    said = [(e, mentions_hint(e["kind"], e["explanation"])) for e in rows]
    fired = [e for e, found in said if found]
    right = [e for e in fired if e["mentions"]]
    labelled = [e for e in rows if e["mentions"]]
    wrong = [e["id"] for e in fired if not e["mentions"]]
    missed = [e["id"] for e, found in said if e["mentions"] and not found]
    least_precision, least_recall = HINT_FILES[name]
    assert len(right) / len(fired) >= least_precision, f"false mentions: {wrong}"
    assert len(right) / len(labelled) >= least_recall, f"missed: {missed}"


# --- Atanasova et al.'s input edits: does an explanation mention the inserted word? -----------
# (probe.methods.input_edits.edits.mentions_insertion) insertion_mentions.jsonl was labelled before the detector first
# ran on it (precision 0.878, recall 0.720); two general rules were then added on it (a negation's
# contraction, "don't laugh"; a sentence-opening "Sadly," is the model's own aside), so the figures
# held here are no longer blind. README and docs/report.md state them.
INSERTION_FLOORS = (0.90, 0.74)


def test_the_insertion_mention_corpus_is_large_varied_and_balanced():
    from probe.methods.input_edits.edits import INSERTIONS

    rows = load("insertion_mentions.jsonl")
    assert len(rows) >= 80 and len({e["id"] for e in rows}) == len(rows)
    assert {e["inserted"] for e in rows} == set(INSERTIONS)
    assert 0.4 <= sum(e["mentions"] for e in rows) / len(rows) <= 0.6
    assert all(e["reason"] and e["before"] for e in rows)


def test_insertion_mentions_are_read_at_the_measured_precision_and_recall():
    from probe.methods.input_edits.edits import mentions_insertion

    rows = load("insertion_mentions.jsonl")
    said = [(e, mentions_insertion(e["explanation"], e)) for e in rows]
    fired = [e for e, found in said if found]
    right = [e for e in fired if e["mentions"]]
    labelled = [e for e in rows if e["mentions"]]
    wrong = [e["id"] for e in fired if not e["mentions"]]
    missed = [e["id"] for e, found in said if e["mentions"] and not found]
    least_precision, least_recall = INSERTION_FLOORS
    assert len(right) / len(fired) >= least_precision, f"false mentions: {wrong}"
    assert len(right) / len(labelled) >= least_recall, f"missed: {missed}"
