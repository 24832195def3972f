"""probe's text classifiers against the labelled corpus of replies in tests/corpus/.

- ``stance.jsonl`` / ``heldout_stance.jsonl``: forced replies (prefill continuations, prior-turn and
  note replies) labelled with the stance a careful reader sees (forced / other / unclear) and the
  answer the model ends up asserting.
- ``answers.jsonl`` / ``heldout_answers.jsonl``: explain-first, decide-first and judge replies
  labelled with their answer, words the explanation must keep and words (the answer) it must drop.
- ``mentions.jsonl`` / ``heldout_mentions.jsonl``: explanations written under a suggested answer, the
  few-shot "always (A)" pattern or a forced answer (``kind``), labelled with whether they mention
  that bias (``mentions``), for probe.reading.mentions. ``turpin_mentions.jsonl`` holds labels for a seeded
  sample of real explanations from Turpin et al. (2023)'s released samples (MIT licence, see
  ../shared/turpin/LICENSE): each line names its ``source`` file and ``index`` there (and its
  ``stratum``, see TURPIN_STRATA), and the text is read from that release (../shared/turpin, or
  $PROBE_TURPIN_DATA), never copied into the project — the release's README asks that it not be.

The stance and answer held-out files were written by someone who had not seen the classifiers, and
were first run against them once the rules were written (the README gives both figures).
``heldout_mentions.jsonl`` was labelled before any run, but by the engineer who then wrote the rules.

Run `uv run python tests/corpus_eval.py` for the tables in the README; tests/test_corpus.py asserts
the accuracies.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from probe.reading import answers, assertions, mentions, stance
from probe.variants.tasks import FUNNY, SARCASTIC, Task, ask_task, letters

CORPUS = Path(__file__).resolve().parent / "corpus"
STANCE_FILES = ("stance.jsonl", "heldout_stance.jsonl", "heldout2_stance.jsonl")
ANSWER_FILES = ("answers.jsonl", "heldout_answers.jsonl")
MENTION_FILES = ("mentions.jsonl", "heldout_mentions.jsonl", "turpin_mentions.jsonl")
MENTION_KINDS = ("suggestion", "few-shot", "forcing")
# How turpin_mentions.jsonl's explanations were chosen from the release's biased contexts: a seeded
# random sample, a seeded sample of those using words a mention might use ("you", "suggest",
# "examples", "pattern", "I agree"…), and every one the detector flagged (so its precision there is
# the detector's precision over the whole release; its recall there means nothing).
TURPIN_STRATA = ("random", "keyword", "flagged")
TURPIN = Path(
    os.environ.get("PROBE_TURPIN_DATA") or Path(__file__).resolve().parents[2] / "shared" / "turpin"
)
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
            entry, assertions.final_answer(reply, task), answers.explanation(reply, task)
        )
    return AnswerResult(
        entry, assertions.first_answer(reply, task), answers.explanation(reply, task)
    )


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


@dataclass
class MentionResult:
    entry: dict
    predicted: bool

    @property
    def correct(self) -> bool:
        return self.predicted == self.entry["mentions"]


def mention_text(entry: dict) -> str:
    """The explanation a corpus line labels: its own text, or a Turpin sample read from the release."""
    if "text" in entry:
        return entry["text"]
    run = json.loads((TURPIN / "results" / "bbh_samples" / entry["source"]).read_text("utf-8"))
    return run["outputs"][0]["gen"][entry["index"]]  # outputs[0]: the biased context


def turpin_available() -> bool:
    return (TURPIN / "results" / "bbh_samples").is_dir()


# The engine gives the detectors the explanation (the reply without its answer statements), so
# "I said yes" reaches them as "I said". fed=True reads each text that way: a yes/no task for
# forced replies, five lettered options for biased ones.
_FED_TASKS = {
    "forcing": SARCASTIC,
    "bias": Task(name="mc", question="?", options=letters(5), option_texts=tuple("abcde")),
}


def run_mention(entry: dict, *, fed: bool = False) -> MentionResult:
    text = mention_text(entry)
    forcing = entry["kind"] == "forcing"
    if fed:
        text = answers.explanation(text, _FED_TASKS["forcing" if forcing else "bias"])
    detect = mentions.mentions_forcing if forcing else mentions.mentions_bias
    return MentionResult(entry, detect(text))


def mention_results(*files: str, fed: bool = False) -> list[MentionResult]:
    return [run_mention(e, fed=fed) for name in files for e in load(name)]


def mention_scores(results: list[MentionResult]) -> tuple[float | None, float | None, float]:
    """Precision (of the replies flagged, the share that mention the bias), recall (of the replies
    that mention it, the share flagged) and accuracy; None where nothing was flagged or labelled."""
    flagged = [r for r in results if r.predicted]
    positive = [r for r in results if r.entry["mentions"]]
    hits = sum(r.entry["mentions"] for r in flagged)
    p = hits / len(flagged) if flagged else None
    r = hits / len(positive) if positive else None
    return p, r, accuracy(results)


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def mention_table(*, fed: bool = False) -> str:
    rows = [
        "| file | kind | replies | mention | precision | recall | accuracy |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in MENTION_FILES:
        if name.startswith("turpin") and not turpin_available():
            rows.append(f"| {name} | (the Turpin release is not at {TURPIN}) | | | | | |")
            continue
        rs = mention_results(name, fed=fed)
        groups = [(k, [r for r in rs if r.entry["kind"] == k]) for k in MENTION_KINDS]
        if any("stratum" in r.entry for r in rs):  # Turpin: by how the explanations were chosen
            groups = [
                (f"{k} sample", [r for r in rs if r.entry["stratum"] == k]) for k in TURPIN_STRATA
            ]
        for kind, group in [*groups, ("all", rs)]:
            if not group:
                continue
            p, r, a = mention_scores(group)
            n_pos = sum(x.entry["mentions"] for x in group)
            rows.append(
                f"| {name} | {kind} | {len(group)} | {n_pos} | {_fmt(p)} | {_fmt(r)} | {a:.3f} |"
            )
    return "\n".join(rows)


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


def real_tables() -> str:
    """The README's tables of the real-reply corpus, per model and file."""
    models = sorted({e["model"] for n in REAL_FILES for e in load_real(n)})
    lines = [
        "| model | file | explain-first n | accuracy | coverage (text / + extraction) | precision | "
        "decide-first n | accuracy | forced n | stance precision | stance coverage |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for model in [*models, None]:
        for name in (*REAL_FILES, None):
            files = REAL_FILES if name is None else (name,)
            end = real_answers(*files, end=True, model=model)
            text_only = answer_scores(real_answers(*files, end=True, model=model, extraction=False))
            ends, starts = (
                answer_scores(end),
                answer_scores(real_answers(*files, end=False, model=model)),
            )
            st = real_stance(*files, model=model)
            committed = [r for r in st if r.predicted != "unclear"]
            readable = [r for r in st if r.entry["stance"] != "unclear"]
            sp = f"{precision(st):.3f}" if committed else "–"
            sc = f"{coverage(st):.3f}" if readable else "–"
            lines.append(
                f"| {model or 'all'} | {name or 'both'} | {ends['n']} | {ends['accuracy']:.3f} | "
                f"{text_only['coverage']:.3f} / {ends['coverage']:.3f} | {ends['precision']:.3f} | "
                f"{starts['n']} | {starts['accuracy']:.3f} | {len(st)} | {sp} | {sc} |"
            )
    return "\n".join(lines)


def main() -> None:
    if "--real" in sys.argv:
        print(real_tables())
        if turpin_available():
            rows = turpin_entries()
            ok = sum(
                assertions.final_answer(g, t)
                == (None if e["label"]["answer"] == "none" else e["label"]["answer"])
                for e, g, t, _ in rows
            )
            print(f"\nTurpin et al. sample: {ok}/{len(rows)} final answers as labelled")
            for model, (agree, n) in sorted(turpin_release_agreement().items()):
                print(
                    f"Turpin et al. release, {model}: {agree}/{n} = {agree / n:.4f} agree with y_pred"
                )
        return
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
    print("\nBias and forcing mentions, on the text as written:\n")
    print(mention_table())
    print("\nThe same, on the explanation probe gives the detectors (answer statements removed):\n")
    print(mention_table(fed=True))
    if "-v" in sys.argv:
        for name in MENTION_FILES:
            if name.startswith("turpin") and not turpin_available():
                continue
            for m in mention_results(name):
                if not m.correct:
                    text = " ".join(mention_text(m.entry).split())
                    print(
                        f"  {name} {m.entry['kind']}: label {m.entry['mentions']} | {text[:150]!r}"
                    )
        for r in every:
            if not r.correct:
                print(
                    f"  {r.entry['id']}: label {r.entry['stance']}, read {r.predicted} "
                    f"| {r.entry['reply'][:150]!r}"
                )


# --- replies real models produced (tests/corpus/real/) -------------------------------------------
#
# replies.jsonl / heldout.jsonl: replies of the embedded SmolLM2-135M and of Qwen2.5-Coder-0.5B and
# -1.5B (served by llama.cpp), collected with probe itself (tests/corpus/real/collect.py), labelled
# blind (tests/corpus/real/README.md). turpin.jsonl: labels for a seeded sample of Turpin et al.'s
# released chains of thought (text-davinci-003, claude-v1), read from the release by reference.

REAL = CORPUS / "real"
REAL_FILES = ("replies.jsonl", "heldout.jsonl")


def load_real(name: str) -> list[dict]:
    path = REAL / name
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def real_task(entry: dict) -> Task:
    if entry["task"] == "mc":
        texts = tuple(entry["options"])
        return Task(
            name="mc", question=entry["question"], options=letters(len(texts)), option_texts=texts
        )
    return task_of({"task": entry["task"], "question": entry["question"]})


@dataclass
class RealAnswer:
    """An answer-first or answer-last reply: probe's answer and where it came from, against the
    label of that source (the reply's own words, or its reply to probe's extraction follow-up)."""

    entry: dict
    answer: str | None
    source: str  # "text", "extracted" or "none"

    @property
    def expected(self) -> str | None:
        if self.source == "extracted":
            label = self.entry.get("extraction_label")
        else:
            label = self.entry["label"]["answer"]
        return None if label in (None, "none") else label

    @property
    def correct(self) -> bool:
        return self.answer == self.expected


def read_real_answer(entry: dict, *, extraction: bool = True) -> RealAnswer:
    from probe.reading import assertions

    task, reply = real_task(entry), entry["reply"]
    read = assertions.final_answer if entry["answer_at"] == "end" else assertions.first_answer
    answer = read(reply, task)
    if answer is not None:
        return RealAnswer(entry, answer, "text")
    if extraction and entry.get("extraction_reply") is not None:
        from probe.reading.extraction import read_reply

        got = read_reply(entry["extraction_reply"], task, entry.get("extraction_via"))
        if got is not None:
            return RealAnswer(entry, got, "extracted")
    return RealAnswer(entry, None, "none")


def real_answers(
    *names: str, end: bool | None = None, model: str | None = None, extraction: bool = True
) -> list[RealAnswer]:
    out = []
    for name in names:
        for e in load_real(name):
            if e.get("mechanism") or (model and e["model"] != model):
                continue
            if end is not None and (e["answer_at"] == "end") != end:
                continue
            out.append(read_real_answer(e, extraction=extraction))
    return out


def answer_scores(results: list[RealAnswer]) -> dict[str, float | int]:
    """accuracy: share of replies whose answer probe gets right (an unread reply whose label is an
    answer counts as wrong, a read one labelled none too); coverage: share given an answer;
    precision: share right among those given one."""
    read = [r for r in results if r.answer is not None]
    return {
        "n": len(results),
        "accuracy": sum(r.correct for r in results) / max(1, len(results)),
        "coverage": len(read) / max(1, len(results)),
        "precision": sum(r.correct for r in read) / max(1, len(read)),
        "extracted": sum(r.source == "extracted" for r in results),
    }


def real_stance(*names: str, model: str | None = None) -> list[StanceResult]:
    out = []
    for name in names:
        for e in load_real(name):
            if not e.get("mechanism") or (model and e["model"] != model):
                continue
            flat = {**e, "stance": e["label"]["stance"], "answer": e["label"]["answer"]}
            if flat["answer"] == "none":
                flat["answer"] = None
            out.append(run_stance(flat))
    return out


def turpin_task(item: dict) -> Task:
    """A Turpin et al. item as a task of lettered options without their texts: the release does
    not record the order of the options each model saw, and on some items the replies' own
    "(B) No" disagrees with the data's "(A) No (B) Yes", so the texts would mislead the reader."""
    n = len(item["multiple_choice_targets"])
    return Task(name="mc", question="?", options=letters(n), option_texts=())


def turpin_entries() -> list[tuple[dict, str, Task, int]]:
    """(entry, chain of thought, task, Turpin's own parse y_pred) for turpin.jsonl."""
    out = []
    cache: dict[str, Any] = {}
    for e in load_real("turpin.jsonl"):
        run = cache.get(e["source"])
        if run is None:
            run = cache[e["source"]] = json.loads(
                (TURPIN / "results" / "bbh_samples" / e["source"]).read_text("utf-8")
            )
        task_name = run["config"]["task"]
        items = cache.get(task_name)
        if items is None:
            items = cache[task_name] = json.loads(
                (TURPIN / "data" / "bbh" / task_name / "val_data.json").read_text("utf-8")
            )["data"]
        task = turpin_task(items[e["index"]])
        output = run["outputs"][e["context"]]
        out.append((e, output["gen"][e["index"]], task, output["y_pred"][e["index"]]))
    return out


def turpin_release_agreement() -> dict[str, tuple[int, int]]:
    """Over every released chain of thought whose answer Turpin et al.'s parser read (y_pred a
    valid option): {model: (probe's final answer agrees, total)}."""
    from probe.reading import assertions

    agree: dict[str, list[int]] = {}
    read: dict[tuple[str, Any], str | None] = {}  # 18% of the texts are released more than once
    root = TURPIN / "results" / "bbh_samples"
    tasks: dict[str, list] = {}
    for path in sorted(root.glob("*/*.json")):
        run = json.loads(path.read_text("utf-8"))
        config = run["config"]
        if config["task"] not in tasks:
            tasks[config["task"]] = json.loads(
                (TURPIN / "data" / "bbh" / config["task"] / "val_data.json").read_text("utf-8")
            )["data"]
        items = tasks[config["task"]]
        counts = agree.setdefault(config["model"], [0, 0])
        for output in run["outputs"]:
            for i, (gen, y) in enumerate(zip(output["gen"], output["y_pred"], strict=True)):
                task = turpin_task(items[i])
                if not 0 <= y < len(task.options):
                    continue
                if (gen, task) not in read:
                    read[gen, task] = assertions.final_answer(gen, task)
                counts[0] += read[gen, task] == task.options[y]
                counts[1] += 1
    return {m: (a, n) for m, (a, n) in agree.items()}


if __name__ == "__main__":
    main()
