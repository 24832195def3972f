"""Sentence-by-sentence alignment of two explanations: which sentences were kept, which changed.

Sentences are split by rule (probe's own, no model); pairs are scored by cosine similarity of the
vectors an embedder (probe.providers.embedders) gives, and a pair where only one side is negated counts as
changed whatever its score.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from probe.providers.embedders import Embedder, cosine

# Sentence pairs less similar than this are not the same sentence rewritten: they stay unmatched.
MATCH_THRESHOLD = 0.5
# Matched pairs less similar than this say something different: the assessment changed.
# With all-MiniLM-L6-v2 close rewordings score 0.94-0.99 ("The cat is sitting on a chair." /
# "A cat sits on a chair." 0.96), a changed assessment 0.65-0.75 ("The cat is calm and
# focused." / "The cat is playful and curious." 0.74). Looser paraphrases fall between and count
# as changed. The model barely sees negation ("The cat is calm." / "The cat is not calm." 0.94),
# so a pair where exactly one side is negated counts as changed whatever its score.
CHANGED_THRESHOLD = 0.9

# Sentences per side that are aligned. Explanations hold a handful; a runaway reply of thousands
# would take the quadratic pairing (and one embedding per sentence) minutes, so past this the
# alignment is skipped and says why (`skipped`). benchmarks/render_long.py measures it.
MAX_ALIGN_SENTENCES = 150


# --- sentences ---------------------------------------------------------------------------------

# Words whose trailing period does not end a sentence.
_ABBREVIATIONS = {
    "e.g.", "i.e.", "etc.", "vs.", "cf.", "approx.", "ca.", "al.", "fig.", "no.", "st.",
    "mr.", "mrs.", "ms.", "dr.", "prof.", "sr.", "jr.", "inc.", "ltd.", "co.", "corp.",
}  # fmt: skip
_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)")
_LAST_WORD = re.compile(r"(\S+)$")
_INITIALS = re.compile(r"^\(?(?:[A-Za-z]\.)+$")  # "J." "U.S."
_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,3}[.)])\s+")


def split_sentences(text: str) -> list[str]:
    """Sentences of text. A line break always ends one (models do not hard-wrap, and list items
    are sentences); list bullets are dropped; "e.g.", "Mr.", initials and a period followed by a
    lower-case word do not end one."""
    sentences: list[str] = []
    for line in text.splitlines():
        line = _BULLET.sub("", line).strip()
        start = 0
        for end in _END.finditer(line):
            if _continues(line, start, end.end()):
                continue
            sentences.append(line[start : end.end()].strip())
            start = end.end()
        sentences.append(line[start:].strip())
    return [s for s in sentences if s]


def _continues(line: str, start: int, cut: int) -> bool:
    rest = line[cut:].lstrip()
    if rest[:1].islower():
        return True
    word = _LAST_WORD.search(line[start:cut])
    token = word.group(1).lower() if word else ""
    return token in _ABBREVIATIONS or bool(_INITIALS.match(token))


_NEGATIONS = {
    "not",
    "no",
    "never",
    "none",
    "nothing",
    "nobody",
    "neither",
    "nor",
    "cannot",
    "without",
}
_WORDS = re.compile(r"[a-z']+")


def negated(sentence: str) -> bool:
    """Whether a sentence holds an odd number of negation words ("not", "no", "never", "n't"...):
    "The cat is not calm." is negated, "It is not true that nothing moved." is not."""
    words = _WORDS.findall(sentence.lower().replace("\u2019", "'"))
    return bool(sum(w in _NEGATIONS or w.endswith("n't") for w in words) % 2 == 1)


# --- alignment ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    own: str
    forced: str
    similarity: float

    @property
    def changed(self) -> bool:
        return self.similarity < CHANGED_THRESHOLD or negated(self.own) != negated(self.forced)


@dataclass
class Alignment:
    """Each own sentence paired with at most one forced sentence, most similar pairs first."""

    similarity: float | None  # the two whole explanations; None when either is empty
    pairs: list[Pair] = field(default_factory=list)
    unmatched_own: list[str] = field(default_factory=list)
    unmatched_forced: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "similarity": _round(self.similarity),
            "pairs": [
                {
                    "own": p.own,
                    "forced": p.forced,
                    "similarity": _round(p.similarity),
                    "changed": p.changed,
                }
                for p in self.pairs
            ],
            "unmatched_own": list(self.unmatched_own),
            "unmatched_forced": list(self.unmatched_forced),
        }


def align(own: str, forced: str, embedder: Embedder) -> dict[str, Any]:
    """Align the sentences of the model's own explanation with those of its forced one.

    Greedy one-to-one matching by cosine similarity: the most similar remaining pair is taken
    first, and pairs below MATCH_THRESHOLD are left unmatched. A pair is `changed` below
    CHANGED_THRESHOLD, or when only one of its sentences is negated. Pairs come in the order of
    the own explanation."""
    own_sentences, forced_sentences = split_sentences(own), split_sentences(forced)
    longest = max(len(own_sentences), len(forced_sentences))
    if longest > MAX_ALIGN_SENTENCES:
        return {
            "similarity": None,
            "skipped": f"an explanation of {longest} sentences; alignment stops at "
            f"{MAX_ALIGN_SENTENCES}",
            "pairs": [],
            "unmatched_own": [],
            "unmatched_forced": [],
        }
    if not own_sentences or not forced_sentences:
        return Alignment(None, [], own_sentences, forced_sentences).as_dict()
    texts = list(dict.fromkeys([own, forced, *own_sentences, *forced_sentences]))
    vector = dict(zip(texts, embedder.embed(texts), strict=True))
    candidates = sorted(
        _pair_similarities(
            [vector[a] for a in own_sentences], [vector[b] for b in forced_sentences]
        ),
        key=lambda c: (-c[0], c[1], c[2]),
    )
    matched: dict[int, tuple[int, float]] = {}
    taken: set[int] = set()
    for similarity, i, j in candidates:
        if similarity < MATCH_THRESHOLD:
            break
        if i not in matched and j not in taken:
            matched[i] = (j, similarity)
            taken.add(j)
    return Alignment(
        similarity=cosine(vector[own], vector[forced]),
        pairs=[
            Pair(own_sentences[i], forced_sentences[j], s) for i, (j, s) in sorted(matched.items())
        ],
        unmatched_own=[s for i, s in enumerate(own_sentences) if i not in matched],
        unmatched_forced=[s for j, s in enumerate(forced_sentences) if j not in taken],
    ).as_dict()


def _pair_similarities(
    own: list[list[float]], forced: list[list[float]]
) -> list[tuple[float, int, int]]:
    """(cosine, i, j) of every own × forced sentence pair: one matrix product where numpy is
    there (it comes with the offline embedder), else pair by pair."""
    try:
        import numpy as np
    except ImportError:
        return [(cosine(a, b), i, j) for i, a in enumerate(own) for j, b in enumerate(forced)]
    a, b = np.asarray(own, dtype=np.float64), np.asarray(forced, dtype=np.float64)
    norms = np.outer(np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1))
    dots = a @ b.T
    sims = np.divide(dots, norms, out=np.zeros_like(dots), where=norms != 0)
    return [(float(sims[i, j]), i, j) for i in range(len(own)) for j in range(len(forced))]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
