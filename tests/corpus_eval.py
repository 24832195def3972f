"""probe's text classifiers against the labelled corpus of replies in tests/corpus/.

- ``stance.jsonl`` / ``heldout_stance.jsonl``: forced replies (prefill continuations, prior-turn and
  note replies) labelled with the stance a careful reader sees (forced / other / unclear) and the
  answer the model ends up asserting.
- ``answers.jsonl`` / ``heldout_answers.jsonl``: explain-first, decide-first and judge replies
  labelled with their answer, words the explanation must keep and words (the answer) it must drop.

The held-out files were written by someone who had not seen the classifiers, and were first run
against them once the rules were written (the README gives both figures).

Run `uv run python tests/corpus_eval.py` for the tables in the README; tests/test_corpus.py asserts
the accuracies.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from probe import answers, stance
from probe.tasks import FUNNY, SARCASTIC, Task, ask_task, letters

CORPUS = Path(__file__).resolve().parent / "corpus"
STANCE_FILES = ("stance.jsonl", "heldout_stance.jsonl", "heldout2_stance.jsonl")
ANSWER_FILES = ("answers.jsonl", "heldout_answers.jsonl")
LABELS = ("forced", "other", "unclear")


def load(name: str) -> list[dict]:
    path = CORPUS / name
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def task_of(entry: dict) -> Task:
    kind, question = entry["task"], entry["question"]
    if kind == "mc":
        texts = tuple(entry["options"])
        return Task(name="mc", question=question, options=letters(len(texts)), option_texts=texts)
    if kind == "funny":
        return FUNNY
    if kind == "sarcastic":
        return SARCASTIC
    return ask_task(question)


@dataclass
class StanceResult:
    entry: dict
    predicted: str
    answer: str | None
    readings: dict[str, str | None]  # detector -> stance it read (None: read nothing)

    @property
    def correct(self) -> bool:
        if self.predicted != self.entry["stance"]:
            return False
        return self.predicted == "unclear" or self.entry.get("answer") in (None, self.answer)


def run_stance(entry: dict) -> StanceResult:
    task = task_of(entry)
    forced = task.normalise(entry["forced"])
    assert forced is not None, entry["id"]
    readings = stance.read(entry["reply"], forced, task, entry["mechanism"])
    combined = stance.combine(readings, forced, task)
    return StanceResult(
        entry, combined.stance, combined.answer, {r.detector: r.stance for r in readings}
    )


@dataclass
class AnswerResult:
    entry: dict
    answer: str | None
    explanation: str

    @property
    def answer_correct(self) -> bool:
        return self.answer == self.entry.get("answer")

    @property
    def explanation_correct(self) -> bool:
        text = " ".join(self.explanation.split()).lower()
        keep = all(" ".join(k.split()).lower() in text for k in self.entry.get("keep") or [])
        drop = not any(" ".join(d.split()).lower() in text for d in self.entry.get("drop") or [])
        return keep and drop

    @property
    def correct(self) -> bool:
        return self.answer_correct and self.explanation_correct


def run_answer(entry: dict) -> AnswerResult:
    task, reply = task_of(entry), entry["reply"]
    if entry["variant"] == "explain-first":
        return AnswerResult(
            entry, answers.parse_last(reply, task), answers.explanation(reply, task)
        )
    return AnswerResult(entry, answers.parse_first(reply, task), answers.explanation(reply, task))


def stance_results(*files: str) -> list[StanceResult]:
    return [run_stance(e) for name in files for e in load(name)]


def answer_results(*files: str) -> list[AnswerResult]:
    return [run_answer(e) for name in files for e in load(name)]


def accuracy(results: list) -> float:
    """Share right, an abstention ("unclear" for a reply a reader could read) counted as wrong."""
    return sum(r.correct for r in results) / len(results)


def precision(results: list[StanceResult]) -> float:
    """Share right among the replies probe read a stance from (it said forced or other)."""
    committed = [r for r in results if r.predicted != "unclear"]
    return sum(r.correct for r in committed) / len(committed)


def coverage(results: list[StanceResult]) -> float:
    """Share of the replies a reader can read (labelled forced or other) that probe read too."""
    readable = [r for r in results if r.entry["stance"] != "unclear"]
    return sum(r.predicted != "unclear" for r in readable) / len(readable)


def abstention(results: list[StanceResult]) -> float:
    """Share of the replies labelled unclear that probe also left unclear."""
    unreadable = [r for r in results if r.entry["stance"] == "unclear"]
    return sum(r.predicted == "unclear" for r in unreadable) / len(unreadable)


# --- tables for the README ---------------------------------------------------------------------


def confusion(results: list[StanceResult]) -> str:
    counts = Counter((r.entry["stance"], r.predicted) for r in results)
    rows = ["| label \\ read as | " + " | ".join(LABELS) + " |", "|---|---|---|---|"]
    for label in LABELS:
        rows.append(f"| {label} | " + " | ".join(str(counts[label, p]) for p in LABELS) + " |")
    return "\n".join(rows)


def detector_table(results: list[StanceResult]) -> str:
    """Each detector alone, per stance it can read: precision where it speaks, recall over the
    replies with that label."""
    rows = ["| detector | reads | fired | precision | recall |", "|---|---|---|---|---|"]
    for detector in ("statement", "retraction", "clause", "justification"):
        for label in ("forced", "other"):
            fired = [r for r in results if r.readings.get(detector) == label]
            if (
                not fired
                and detector in ("retraction", "justification")
                and label != ("other" if detector == "retraction" else "forced")
            ):
                continue
            truth = [r for r in results if r.entry["stance"] == label]
            hits = sum(r.entry["stance"] == label for r in fired)
            precision = f"{hits / len(fired):.2f}" if fired else "—"
            recall = f"{hits / len(truth):.2f}" if truth else "—"
            rows.append(f"| {detector} | {label} | {len(fired)} | {precision} | {recall} |")
    return "\n".join(rows)


def main() -> None:
    every: list[StanceResult] = []
    print("| file | replies | precision | coverage | unclear kept unclear | accuracy |")
    print("|---|---|---|---|---|---|")
    for name in STANCE_FILES:
        rs = stance_results(name)
        every += rs
        print(
            f"| {name} | {len(rs)} | {precision(rs):.3f} | {coverage(rs):.3f} | "
            f"{abstention(rs):.3f} | {accuracy(rs):.3f} |"
        )
    print(
        f"| all | {len(every)} | {precision(every):.3f} | {coverage(every):.3f} | "
        f"{abstention(every):.3f} | {accuracy(every):.3f} |\n"
    )
    print(confusion(every), "\n")
    print(detector_table(every), "\n")
    a_dev, a_held = answer_results(ANSWER_FILES[0]), answer_results(ANSWER_FILES[1])
    for name, rs in (("dev", a_dev), ("held-out", a_held), ("all", a_dev + a_held)):
        by_variant = Counter(r.entry["variant"] for r in rs)
        ok = Counter(r.entry["variant"] for r in rs if r.correct)
        parts = ", ".join(f"{v} {ok[v]}/{n}" for v, n in sorted(by_variant.items()))
        print(
            f"answers {name}: answer {sum(r.answer_correct for r in rs) / len(rs):.3f}, "
            f"explanation {sum(r.explanation_correct for r in rs) / len(rs):.3f}, "
            f"both {accuracy(rs):.3f} (n={len(rs)}; {parts})"
        )
    if "-v" in sys.argv:
        for r in every:
            if not r.correct:
                print(
                    f"  {r.entry['id']}: label {r.entry['stance']}, read {r.predicted} "
                    f"| {r.entry['reply'][:150]!r}"
                )


if __name__ == "__main__":
    main()
