"""probe's classifiers of model text against the labelled corpus (tests/corpus/, see
tests/corpus_eval.py): the stance of forced replies, and the answer and explanation of explain-first,
decide-first and judge replies. The README states the figures; these tests hold them."""

import pytest

from tests.corpus_eval import (
    ANSWER_FILES,
    STANCE_FILES,
    accuracy,
    answer_results,
    load,
    stance_results,
)


def test_the_corpus_is_large_and_varied():
    stance = [e for name in STANCE_FILES for e in load(name)]
    replies = [e for name in ANSWER_FILES for e in load(name)]
    assert len(stance) + len(replies) >= 150
    assert {e["mechanism"] for e in stance} == {"prefill", "prior-turn", "note"}
    assert {e["stance"] for e in stance} == {"forced", "other", "unclear"}
    assert {e["variant"] for e in replies} == {"explain-first", "decide-first", "judge"}
    assert {e["task"] for e in stance + replies} >= {"funny", "sarcastic", "ask", "mc"}
    assert len({e["id"] for e in stance + replies}) == len(stance + replies)


@pytest.mark.parametrize("name", STANCE_FILES)
def test_stance_of_forced_replies(name):
    results = stance_results(name)
    wrong = [r.entry["id"] for r in results if not r.correct]
    assert accuracy(results) >= 0.95, f"{len(wrong)} of {len(results)} wrong: {wrong}"


@pytest.mark.parametrize("name", ANSWER_FILES)
def test_answers_and_explanations(name):
    results = answer_results(name)
    wrong = [r.entry["id"] for r in results if not r.correct]
    assert accuracy(results) >= 0.95, f"{len(wrong)} of {len(results)} wrong: {wrong}"


def test_the_explanation_a_judge_sees_states_no_answer():
    """Every reply with a readable answer, once its answers are removed, states none."""
    from probe import answers
    from tests.corpus_eval import task_of

    for name in ANSWER_FILES:
        for e in load(name):
            task = task_of(e)
            shown = answers.explanation(e["reply"], task)
            assert answers.statements(shown, task, negated=True) == [], (e["id"], shown)
