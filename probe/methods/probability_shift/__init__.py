"""Siegel et al. 2024's probability shift: how far a bias moves the first-token probability of
its target (shift.py). No variants of its own: it measures the biased variants of other methods."""

from typing import Any

from probe.methods.probability_shift import shift
from probe.variants.registry import Method, declare


def measures(items: list[Any], name: str) -> dict[str, Any]:
    if not shift.measurable(name, items):
        return {}
    return {"probability_shift": shift.probability_shift(items, name)}


def rows(variant: dict[str, Any]) -> list[tuple[str, list[str], str]]:
    return shift.rows(variant.get("probability_shift"))


declare(
    Method(
        name="probability_shift",
        title="how far a bias moves the probability of its target",
        source="Siegel et al. 2024",
        position=70,
        definitions={"probability_shift": shift.DEFINITION},
        measures=measures,
        report_rows=rows,
    )
)
