"""What one stance detector read from a forced reply (a Reading), and the three stances.

The vocabulary every detector in probe.reading.detectors and probe.reading.clauses speaks, and that
probe.reading.stance combines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from probe.variants.tasks import Task

FORCED, OTHER, UNCLEAR = "forced", "other", "unclear"


@dataclass(frozen=True)
class Reading:
    """What one detector read: a stance, the answer it implies, its evidence, where it was found."""

    detector: str
    stance: str | None  # FORCED, OTHER, or None when the detector read nothing
    answer: str | None = None
    evidence: str | None = None
    position: int = -1  # where in the reply (explicit statements and retractions: the last wins)
    conflict: bool = False  # the reply asserts two answers (statements only)
    weak: bool = False  # read from a restated predicate only, which a hedge outweighs

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "detector": self.detector,
            "stance": self.stance,
            "answer": self.answer,
            "evidence": self.evidence,
        }
        if self.detector in ("statement", "retraction") and (self.stance or self.conflict):
            record["position"] = self.position
        if self.conflict:
            record["conflict"] = True
        return record


def around(text: str, start: int, end: int, span: int = 40) -> str:
    lo, hi = max(0, start - span), min(len(text), end + span)
    return ("…" if lo else "") + text[lo:hi].strip() + ("…" if hi < len(text) else "")


def stance_of(answer: str | None, forced: str) -> str | None:
    if answer is None:
        return None
    return FORCED if answer == forced else OTHER


def other_answer(task: Task, forced: str) -> str | None:
    return task.opposite(forced) if task.is_yes_no else None
