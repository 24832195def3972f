"""Records to items: which records are one input asked one way, and which of their runs is measured.

The conventions (what an item is, which run and verdict count, which answers are measured) are
stated once in probe.measures.measures' docstring.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from probe.variants.variant import DECIDE_FIRST, EXPLAIN_FIRST, VARIANTS

# The record's `run` options that change what the model replies (judge and align only annotate).
RUN_OPTIONS = (
    "force",
    "force_via",
    "variants",
    "temperature",
    "seed",
    "max_tokens",
    "suggest",
    "extract",
)


def baseline_of(variant: str) -> str | None:
    """The unbiased variant that ``variant`` is compared with, as the variant declares it (None
    for decide-first itself). A name probe does not know (a record from another version) is
    paired by its form: ``*-explain-first`` with explain-first, anything else with decide-first."""
    if variant == DECIDE_FIRST:
        return None
    if variant in VARIANTS:
        return VARIANTS[variant].baseline
    if variant != EXPLAIN_FIRST and variant.endswith("-" + EXPLAIN_FIRST):
        return EXPLAIN_FIRST
    return DECIDE_FIRST


def is_legacy(run: dict[str, Any]) -> bool:
    """A forced run written before stance detection: its answer is the forced token."""
    return run.get("forced_answer") is not None and "stance" not in run


def measured_answer(run: dict[str, Any] | None) -> str | None:
    """The run's answer as a measurement: None if it failed, did not parse, or is legacy forced."""
    if not run or run.get("error") or is_legacy(run):
        return None
    return run.get("answer")


def frozen(value: Any) -> Hashable:
    """A record's JSON value as something hashable (lists as tuples, objects as sorted pairs)."""
    if isinstance(value, list | tuple):
        return tuple(frozen(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), frozen(v)) for k, v in value.items()))
    hashable: Hashable = value
    return hashable


def _configuration(record: dict[str, Any]) -> tuple[tuple[str, Hashable], ...]:
    """The record's run options that change replies; the order of --variants does not."""
    run = record.get("run") or {}
    config = []
    for key in RUN_OPTIONS:
        value = run.get(key)
        if key == "variants" and isinstance(value, list | tuple):
            value = sorted(map(str, value))
        if key == "extract":  # records from before answer extraction read answers as --no-extract
            value = bool(value)
        config.append((key, frozen(value)))
    return tuple(config)


def _sample(value: Any) -> float:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _record_sample(rec: dict[str, Any]) -> float:
    """The record's ``sample``; without one, its runs' lowest (hand-made and older records)."""
    if rec.get("sample") is not None:
        return _sample(rec["sample"])
    runs = [
        run
        for entry in (rec.get("variants") or {}).values()
        for run in (entry if isinstance(entry, list) else [entry])
    ]
    return min((_sample(run.get("sample")) for run in runs), default=0)


@dataclass
class Item:
    model: str
    task: str
    id: str
    source: str  # the input's sha256, else "id:" + its id
    config: tuple[tuple[str, Hashable], ...]
    options: tuple[str, ...] = ()
    gold: str | None = None
    verdict: str | None = None
    verdict_sample: float = math.inf
    error: dict[str, Any] | None = None
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def first(self, variant: str) -> dict[str, Any] | None:
        runs = self.runs.get(variant)
        return runs[0] if runs else None

    def answer(self, variant: str | None) -> str | None:
        return measured_answer(self.first(variant)) if variant else None


def _identity(rec: dict[str, Any]) -> tuple[Hashable, ...]:
    sha = (rec.get("input") or {}).get("sha256")
    return (
        str(rec.get("model") or ""),
        str(rec.get("task") or ""),
        sha or f"id:{rec.get('id')}",
        frozen(rec.get("question")),
        frozen(rec.get("options") or []),
        _configuration(rec),
    )


def to_items(records: Iterable[dict[str, Any]]) -> tuple[list[Item], list[str]]:
    """Merge records into items, and list the variant names in order of first appearance."""
    items: dict[tuple[Hashable, ...], Item] = {}
    # item -> variant -> (sample, run): a run's own sample, else its record's
    drawn: dict[tuple[Hashable, ...], dict[str, list[tuple[float, dict[str, Any]]]]] = {}
    names: dict[str, None] = {}
    for rec in records:
        key = _identity(rec)
        item = items.get(key)
        if item is None:
            item = items[key] = Item(
                model=str(key[0]),
                task=str(key[1]),
                id=str(rec.get("id")),
                source=str(key[2]),
                config=_configuration(rec),
                options=tuple(rec.get("options") or ()),
            )
            drawn[key] = {}
        sample = _record_sample(rec)
        item.gold = item.gold if item.gold is not None else rec.get("gold")
        if rec.get("verdict") and sample < item.verdict_sample:
            item.verdict, item.verdict_sample = rec["verdict"], sample
        item.error = item.error or rec.get("error")
        for name, runs in (rec.get("variants") or {}).items():
            for run in runs if isinstance(runs, list) else [runs]:
                own = run.get("sample")
                drawn[key].setdefault(name, []).append(
                    (sample if own is None else _sample(own), run)
                )
            names[name] = None
    for key, item in items.items():
        for name, runs in drawn[key].items():
            runs.sort(key=lambda pair: pair[0])  # stable: file order among equal samples
            item.runs[name] = [run for _, run in runs]
    order = sorted(names, key=lambda name: name != DECIDE_FIRST)  # baseline first, else as seen
    return list(items.values()), order


def configurations(items: list[Item]) -> list[dict[str, Any]]:
    """Per (model, task): how many configurations its items were run under, and what differs."""
    configs: dict[tuple[str, str], set[tuple[tuple[str, Hashable], ...]]] = defaultdict(set)
    for item in items:
        configs[(item.model, item.task)].add(item.config)
    listed = []
    for (model, task), seen in sorted(configs.items()):
        values = {key: {dict(config)[key] for config in seen} for key in RUN_OPTIONS}
        differ = {
            key: sorted((_thawed(v) for v in vs), key=repr)
            for key, vs in values.items()
            if len(vs) > 1
        }
        listed.append({"model": model, "task": task, "n": len(seen), "differ": differ})
    return listed


def _thawed(value: Hashable) -> Any:
    return list(value) if isinstance(value, tuple) else value
