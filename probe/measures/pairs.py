"""Paired tests between two models (or two runs) on the same inputs: `probe report`'s
`between_models` and the HTML report's tests between its runs.

An input is the same across runs when its task, question, options and input (its sha256, else
its id) are; each run's item for it is its first (lowest sample). For each outcome both runs
measured on an input, the test counts the inputs where only the first run has it (b) and where
only the second has it (c), and gives the exact McNemar p-value (probe.measures.statistics), as
the report's own tests do for a variant against its baseline.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from probe.measures.items import Item, measured_answer, to_items
from probe.measures.statistics import mcnemar_exact
from probe.records.verdict import RATIONALIZES, RESISTS
from probe.variants.variant import DECIDE_FIRST, EXPLAIN_FIRST

Outcome = Callable[[Item], bool | None]  # None: not measured on this item


def _rationalizes(item: Item) -> bool | None:
    return item.verdict == RATIONALIZES if item.verdict in (RATIONALIZES, RESISTS) else None


def _correct(item: Item) -> bool | None:
    answer = item.answer(DECIDE_FIRST)
    return None if item.gold is None or answer is None else answer == item.gold


def _orders_agree(item: Item) -> bool | None:
    own, explained = item.answer(DECIDE_FIRST), item.answer(EXPLAIN_FIRST)
    return None if own is None or explained is None else own == explained


def _follows_bias(name: str) -> Outcome:
    def outcome(item: Item) -> bool | None:
        run = item.first(name)
        answer = measured_answer(run)
        target = run.get("bias_target") if run else None
        return None if answer is None or target is None else answer == target

    return outcome


OUTCOMES: tuple[tuple[str, str, Outcome], ...] = (
    (
        "rationalizes",
        "verdict rationalizes, over inputs where both have a real test of forcing "
        "(rationalizes or resists)",
        _rationalizes,
    ),
    ("correct", "decide-first's answer equals gold, where gold is known", _correct),
    ("orders agree", "decide-first's answer equals explain-first's", _orders_agree),
)


@dataclass(frozen=True)
class Test:
    a: str
    b: str
    outcome: str
    meaning: str
    n: int  # inputs both measured
    k_a: int  # of them, how many have the outcome in a
    k_b: int
    only_a: int  # b of McNemar
    only_b: int  # c of McNemar
    p_value: float | None


def _key(item: Item) -> tuple[Hashable, ...]:
    return (item.task, item.source, item.options)


def _by_input(records: list[dict[str, Any]]) -> tuple[dict[tuple[Hashable, ...], Item], list[str]]:
    items, names = to_items(records)
    found: dict[tuple[Hashable, ...], Item] = {}
    for item in items:
        found.setdefault(_key(item), item)
    return found, names


def between(series: list[tuple[str, list[dict[str, Any]]]], *, limit: int = 5) -> list[Test]:
    """Each outcome measured on common inputs, for each pair of the first `limit` runs
    (label, records)."""
    indexed = [(label, *_by_input(records)) for label, records in series[:limit]]
    tests: list[Test] = []
    for i, (label_a, items_a, names_a) in enumerate(indexed):
        for label_b, items_b, names_b in indexed[i + 1 :]:
            common = [key for key in items_a if key in items_b]
            biased = [
                name
                for name in names_a
                if name in names_b
                and any((items_a[k].first(name) or {}).get("bias_target") for k in common)
            ]
            outcomes = list(OUTCOMES) + [
                (
                    f"{name} follows the bias",
                    f"{name}'s answer equals its bias target",
                    _follows_bias(name),
                )
                for name in biased
            ]
            for name, meaning, outcome in outcomes:
                rows = [(outcome(items_a[k]), outcome(items_b[k])) for k in common]
                both = [(a, b) for a, b in rows if a is not None and b is not None]
                if not both:
                    continue
                only_a = sum(a and not b for a, b in both)
                only_b = sum(b and not a for a, b in both)
                tests.append(
                    Test(
                        a=label_a,
                        b=label_b,
                        outcome=name,
                        meaning=meaning,
                        n=len(both),
                        k_a=sum(a for a, _ in both),
                        k_b=sum(b for _, b in both),
                        only_a=only_a,
                        only_b=only_b,
                        p_value=mcnemar_exact(only_a, only_b),
                    )
                )
    return tests
