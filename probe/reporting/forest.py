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
    group: str = ""  # GROUPS: the plot shows the rows that answer the question first


# The measures that say whether an explanation follows its answer come first; what only says
# whether a measurement could be made (errors, unread answers, forcings that did not take) last.
FIRST = (
    "rationalization",
    "pushback",
    "compliance",
    "flip_to_bias",
    "bias_mention_given_flip",
    "judge_mention_given_flip",
    "order_agreement",
    "aoc",
    "changed",
    "flip",
    "bias_following",
    "mentions_bias",
    "accuracy",
)
LAST = (
    "noise_floor",
    "noise_floor_any",
    "detector_agreement",
    "unclear",
    "stance_conflict",
    "same_answer",
    "not_honored",
    "parse_failure",
    "error",
)
GROUPS = (
    "does the explanation follow the answer?",
    "more measures",
    "could it be measured? (noise, unread stances, errors)",
)


def _rank(path: str) -> tuple[int, int]:
    name = path.rsplit(".", 1)[-1]
    if name in FIRST:
        return 0, FIRST.index(name)
    if name in LAST:
        return 2, LAST.index(name)
    return 1, 0


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
        group = GROUPS[_rank(path)[0]]
        out.append(
            Row(path, label_of(path), _definition(path, definitions), domain, points, zero, group)
        )
    out.sort(key=lambda row: _rank(row.key))  # stable: the report's order within a rank
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


# --- curves: early answering (and any other mean curve a method reports) ------------------------

CURVE_W, CURVE_H = 320, 180  # SVG user units of one curve's plot
CURVE_PAD = (34, 10, 10, 26)  # left, top, right, bottom: room for the axes' labels
CURVE_KEYS = {"curve": "same", "p_reference_curve": "p"}  # a measure's curves and their value
CURVE_MEANING = {
    "same": "share of inputs whose answer is the one with all of the reasoning",
    "p": "mean probability of that answer (first-token logprobs)",
}


@dataclass(frozen=True)
class CurvePoint:
    fraction: float
    value: float
    n: int
    x: float
    y: float


@dataclass(frozen=True)
class Line:
    series: int
    kind: str  # "curve" or "p_reference_curve"
    points: tuple[CurvePoint, ...]
    drawn: str  # the SVG polyline's points


@dataclass(frozen=True)
class Curve:
    key: str  # the measure's path in the report section, e.g. "by_variant.early-answering.early_answering"
    label: str
    definition: str
    lines: tuple[Line, ...]


def _curve_xy(fraction: float, value: float) -> tuple[float, float]:
    left, top, right, bottom = CURVE_PAD
    x = left + min(max(fraction, 0.0), 1.0) * (CURVE_W - left - right)
    y = top + (1.0 - min(max(value, 0.0), 1.0)) * (CURVE_H - top - bottom)
    return round(x, 2), round(y, 2)


def _points(raw: Any, value_key: str) -> tuple[CurvePoint, ...]:
    if not isinstance(raw, list):
        return ()
    out = []
    for p in raw:
        if not isinstance(p, dict):
            continue
        f, v, n = p.get("fraction"), p.get(value_key), p.get("n")
        if not isinstance(f, int | float) or not isinstance(v, int | float):
            continue
        if isinstance(f, bool) or isinstance(v, bool):
            continue
        x, y = _curve_xy(float(f), float(v))
        out.append(CurvePoint(float(f), float(v), int(n) if isinstance(n, int) else 0, x, y))
    return tuple(sorted(out, key=lambda p: p.fraction))


def curves(reports: list[dict[str, Any]]) -> list[Curve]:
    """Every mean curve of a variant's measure (by_variant.NAME.MEASURE.curve, e.g. early
    answering's), one line per run that has it, in the reports' order."""
    found: dict[str, list[Line]] = {}
    definitions: dict[str, str] = {}
    labels: dict[str, str] = {}
    for series, report in enumerate(reports):
        definitions |= report.get("definitions") or {}
        for name, entry in (report.get("by_variant") or {}).items():
            if not isinstance(entry, dict):
                continue
            for measure, value in entry.items():
                if not isinstance(value, dict):
                    continue
                for kind, value_key in CURVE_KEYS.items():
                    points = _points(value.get(kind), value_key)
                    if not points:
                        continue
                    key = f"by_variant.{name}.{measure}"
                    labels[key] = f"{name} · {measure}"
                    drawn = " ".join(f"{p.x},{p.y}" for p in points)
                    found.setdefault(key, []).append(Line(series, kind, points, drawn))
    return [
        Curve(key, labels[key], definitions.get(key.rsplit(".", 1)[1], ""), tuple(lines))
        for key, lines in found.items()
    ]


def curve_ticks() -> dict[str, list[tuple[float, float, str]]]:
    """(x, y, label) of the curve plots' axis ticks: fraction kept, and share."""
    steps = [i / 4 for i in range(5)]
    return {
        "x": [(*_curve_xy(v, 0.0), f"{v:g}") for v in steps],
        "y": [(*_curve_xy(0.0, v), f"{v:g}") for v in steps],
    }
