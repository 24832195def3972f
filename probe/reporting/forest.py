"""The forest plot of the HTML report: every rate of `probe report` as a point and its 95% interval,
one row per (rate, variant, run), drawn as inline SVG by the report's template.

Only numbers are computed here (where each mark goes); every label reaches the page through the
template, which escapes it. A rate is any ``{"value", "ci", "n"}`` object of the report, found by
walking it, so a measure added to `probe report` appears in the plot without a change here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

WIDTH = 300  # SVG user units of one row's interval drawing
PAD = 8  # room at each end for a marker drawn at 0 or 1
MARKERS = ("circle", "square", "diamond", "triangle", "cross")  # a shape per run: not colour alone
SKIP = {"by_task", "definitions", "mcnemar", "configurations"}


@dataclass(frozen=True)
class Point:
    """One rate of one run: the numbers, and where they go on the row's axis."""

    series: int  # which run (file, model): picks the marker
    value: float
    lo: float
    hi: float
    n: int
    k: int | None
    x: float
    x_lo: float
    x_hi: float
    # A baseline the rate is compared with cannot carry it (probe.measures.baselines): its notes,
    # as the report words them (untrusted: names and answers from records), and their kinds.
    warnings: tuple[str, ...] = ()
    warned: tuple[str, ...] = ()


@dataclass(frozen=True)
class Row:
    key: str  # the rate's path in the report, e.g. "by_variant.forced.rates.flip"
    label: str  # what a reader sees, e.g. "forced · flip"
    definition: str
    domain: tuple[float, float]  # the axis: [0, 1] for a share, [-1, 1] for a signed measure
    points: tuple[Point, ...]
    zero_x: float | None  # where 0 is on a signed axis (a dashed line)


def rates(report: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, rate) for every rate in a report section, in the report's own order."""

    def walk(node: Any, path: tuple[str, ...]) -> Iterator[tuple[str, dict[str, Any]]]:
        if not isinstance(node, dict):
            return
        if "value" in node and "ci" in node and "n" in node:
            yield ".".join(path), node
            return
        for key, child in node.items():
            if not path and key in SKIP:
                continue
            yield from walk(child, (*path, str(key)))

    yield from walk(report, ())


def label_of(path: str) -> str:
    """'by_variant.forced.rates.flip' -> 'forced · flip'; 'rates.noise_floor' -> 'noise_floor'."""
    parts = path.split(".")
    if parts[0] == "rates":
        parts = parts[1:]
    elif parts[0] == "by_variant":
        parts = [p for p in parts[1:] if p != "rates"]
    return " · ".join(parts)


def _definition(path: str, definitions: dict[str, str]) -> str:
    for part in reversed(path.split(".")):
        if part in definitions:
            return definitions[part]
    return ""


def rows(reports: list[dict[str, Any]]) -> list[Row]:
    """One row per rate measured (n > 0) in at least one of `reports` (one per run), each with a
    point per run that measured it."""
    found: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    definitions: dict[str, str] = {}
    for series, report in enumerate(reports):
        definitions |= report.get("definitions") or {}
        for path, rate in rates(report):
            if rate.get("n") and rate.get("value") is not None and rate.get("ci"):
                found.setdefault(path, []).append((series, rate))
    out = []
    for path, measured in found.items():
        lows = [min(r["value"], r["ci"][0]) for _, r in measured]
        domain = (-1.0, 1.0) if min(lows) < 0 else (0.0, 1.0)
        highs = [max(r["value"], r["ci"][1]) for _, r in measured]
        if max(highs) > 1:  # not a share (none in today's report): scale to what is there
            domain = (domain[0], float(max(highs)))
        points = tuple(_point(series, rate, domain) for series, rate in measured)
        zero = _x(0.0, domain) if domain[0] < 0 else None
        out.append(Row(path, label_of(path), _definition(path, definitions), domain, points, zero))
    return out


def _x(value: float, domain: tuple[float, float]) -> float:
    lo, hi = domain
    clamped = min(max(value, lo), hi)
    return round(PAD + (clamped - lo) / (hi - lo) * (WIDTH - 2 * PAD), 2)


def _point(series: int, rate: dict[str, Any], domain: tuple[float, float]) -> Point:
    value, (lo, hi) = float(rate["value"]), rate["ci"]
    warned = [w for w in rate.get("baseline_warnings") or [] if isinstance(w, dict)]
    return Point(
        series=series,
        value=value,
        lo=float(lo),
        hi=float(hi),
        n=int(rate["n"]),
        k=rate.get("k"),
        x=_x(value, domain),
        x_lo=_x(float(lo), domain),
        x_hi=_x(float(hi), domain),
        warnings=tuple(str(w.get("note", "")) for w in warned),
        warned=tuple(dict.fromkeys(str(w.get("kind", "")) for w in warned)),
    )


def ticks(domain: tuple[float, float]) -> list[tuple[float, str]]:
    """(x, label) of the axis ticks."""
    lo, hi = domain
    steps = [lo + (hi - lo) * i / 4 for i in range(5)]
    return [(_x(v, domain), f"{v:g}") for v in steps]
