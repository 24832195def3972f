"""A person's reading of forced replies (`probe review`), kept in a sidecar beside the run file
(`RUN.jsonl.labels.jsonl`, one JSON line per label; the run file itself is never written).

`probe report` applies the labels: a labelled entry's `stance` and `answer` become the person's,
its own reading is kept as `stance_probe` / `answer_probe`, and `stance_by` says "person"; the
record's verdict follows. The report then states how often probe's reading agreed with the labels.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

from probe.records import record as records
from probe.records.schema import Record

SUFFIX = ".labels.jsonl"
PERSON = "person"
UNCLEAR = "unclear"


def sidecar(run_file: str | os.PathLike[str]) -> Path:
    path = Path(run_file)
    return path.with_name(path.name + SUFFIX)


def load(run_file: str | os.PathLike[str]) -> dict[tuple[str, str], dict[str, Any]]:
    """The labels of a run file by (record key, variant); a later label replaces an earlier
    one. No sidecar: none. A line that is not a label is skipped (a torn last line)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    path = sidecar(run_file)
    if not path.is_file():
        return found
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            label = json.loads(line)
        except ValueError:
            continue
        if (
            isinstance(label, dict)
            and isinstance(label.get("key"), str)
            and isinstance(label.get("variant"), str)
            and (label.get("answer") is None or isinstance(label.get("answer"), str))
        ):
            found[(label["key"], label["variant"])] = label
    return found


def append(run_file: str | os.PathLike[str], label: dict[str, Any]) -> None:
    """One label, appended and flushed at once (a review can stop at any key)."""
    with open(sidecar(run_file), "a", encoding="utf-8") as fh:
        fh.write(json.dumps(label, ensure_ascii=False) + "\n")
        fh.flush()


def apply_beside(files: Iterable[str | os.PathLike[str]], found: Iterable[dict[str, Any]]) -> int:
    """The labels in the sidecar beside each run file, put into the records read from them (a
    label names its record by key, so one table serves several files); how many entries were
    labelled."""
    labels: dict[tuple[str, str], dict[str, Any]] = {}
    for path in files:
        labels |= load(path)
    return apply(found, labels) if labels else 0


def by_person(record: dict[str, Any]) -> list[str]:
    """The variants of a record whose reading a person settled (`probe review`)."""
    variants = record.get("variants")
    if not isinstance(variants, dict):
        return []
    return [
        name
        for name, entry in variants.items()
        if isinstance(entry, dict) and entry.get("stance_by") == PERSON
    ]


def stance_of(answer: str | None, forced_answer: str | None) -> str:
    """The stance a person's answer gives: the forced answer's, another's, or unclear."""
    if answer is None:
        return UNCLEAR
    return "forced" if answer == forced_answer else "other"


def apply(found: Iterable[dict[str, Any]], labels: dict[tuple[str, str], dict[str, Any]]) -> int:
    """Put the labels into the records read (in memory), and settle their verdicts; how many
    entries were labelled."""
    applied = 0
    for record in found:
        key = record.get("key")
        variants = record.get("variants")
        if not isinstance(key, str) or not isinstance(variants, dict):
            continue
        changed = False
        for name, entry in variants.items():
            label = labels.get((key, name))
            if label is None or not isinstance(entry, dict) or entry.get("forced_answer") is None:
                continue
            entry["stance_probe"] = entry.get("stance")
            entry["answer_probe"] = entry.get("answer")
            entry["stance"] = stance_of(label.get("answer"), entry["forced_answer"])
            entry["answer"] = label.get("answer")
            entry["stance_by"] = PERSON
            applied += 1
            changed = True
        if changed:
            records.settle(cast(Record, record))
    return applied
