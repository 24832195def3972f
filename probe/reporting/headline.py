"""The headline of the HTML report: per model and task, the few numbers that answer "does this
model's explanation follow its answer?", each with its interval and n, in words.

Every number, and every count in the words, is read from the report section it comes from (what
`probe report --json` prints, per task); the words only say what the number counts. A measure a
run did not make (no forced variant, no bias, no early answering) is listed as not measured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# (key, its path in a report section, the label a reader sees, the words around its counts)
Words = Callable[[dict[str, Any], str], str]


def _count(rate: dict[str, Any]) -> tuple[int, int]:
    k = rate.get("k")
    return (round(k) if isinstance(k, int | float) else 0), int(rate.get("n") or 0)


def _rationalization(rate: dict[str, Any], _: str) -> str:
    k, n = _count(rate)
    return (
        f"{k} of {n} forced replies argued for the answer they were forced to give, without "
        "saying it was forced on them (over the replies whose stance could be read, where the "
        "forced answer was not the model's own)"
    )


def _pushback(rate: dict[str, Any], _: str) -> str:
    k, n = _count(rate)
    return f"{k} of {n} forced replies argued for another answer, or took the forced one back"


def _flip_to_bias(rate: dict[str, Any], _: str) -> str:
    k, n = _count(rate)
    return (
        f"on {k} of {n} inputs whose unbiased answer was another, the answer moved to the one "
        "a bias in the prompt pointed at"
    )


def _verbalised(rate: dict[str, Any], _: str) -> str:
    k, n = _count(rate)
    return (
        f"{k} of those {n} flips were explained with a mention of the bias; {n - k} never "
        "mention it (lexical detector)"
    )


def _order(rate: dict[str, Any], _: str) -> str:
    k, n = _count(rate)
    kappa = rate.get("kappa")
    said = f"deciding first and explaining first gave the same answer on {k} of {n} inputs"
    if isinstance(kappa, int | float):
        said += f" (Cohen's κ {kappa:.2f}: 1 perfect, 0 no better than chance)"
    return said


def _aoc(rate: dict[str, Any], variant: str) -> str:
    n = int(rate.get("n") or 0)
    return (
        f"{variant}: the reasoning cut short after 0, 1, … of its sentences; the area over the "
        f"curve of 'same answer as with all of it', averaged over {n} inputs — near 0, the "
        "answer was there before the reasoning; near 1, it needed all of it"
    )


HEADLINE: tuple[tuple[str, str, str, Words], ...] = (
    ("rationalization", "rates.rationalization", "Rationalization", _rationalization),
    ("pushback", "rates.pushback", "Pushback", _pushback),
    ("flip_to_bias", "rates.flip_to_bias", "Flip to the bias", _flip_to_bias),
    (
        "bias_mention_given_flip",
        "rates.bias_mention_given_flip",
        "…and says so",
        _verbalised,
    ),
    ("order_agreement", "rates.order_agreement", "Order agreement", _order),
)
AOC_LABEL = "Early-answering AOC"


@dataclass(frozen=True)
class Fact:
    key: str
    path: str  # in the report section, e.g. "rates.rationalization"
    label: str
    value: float
    lo: float
    hi: float
    n: int
    k: float | None
    words: str
    warnings: tuple[str, ...] = ()


def _at(section: dict[str, Any], path: str) -> Any:
    node: Any = section
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _measured(rate: Any) -> bool:
    return (
        isinstance(rate, dict)
        and bool(rate.get("n"))
        and isinstance(rate.get("value"), int | float)
        and isinstance(rate.get("ci"), list)
        and len(rate["ci"]) == 2
    )


def early_answering_variants(section: dict[str, Any]) -> list[str]:
    """The variants of a section that carry an early-answering curve (Lanham et al.)."""
    by_variant = section.get("by_variant") or {}
    return [
        name
        for name, entry in by_variant.items()
        if isinstance(entry, dict) and isinstance(entry.get("early_answering"), dict)
    ]


def facts(section: dict[str, Any]) -> tuple[list[Fact], list[str]]:
    """The headline numbers of one report section (a task's, or a whole report's) that it
    measured, and the labels of those it did not."""
    wanted: list[tuple[str, str, str, Words, str]] = [
        (key, path, label, words, "") for key, path, label, words in HEADLINE
    ]
    for name in early_answering_variants(section):
        path = f"by_variant.{name}.early_answering.aoc"
        wanted.append(("early_answering_aoc", path, AOC_LABEL, _aoc, name))
    shown: list[Fact] = []
    missing: list[str] = []
    for key, path, label, words, variant in wanted:
        rate = _at(section, path)
        if not _measured(rate):
            if label not in missing and not any(f.label == label for f in shown):
                missing.append(label)
            continue
        if label in missing:
            missing.remove(label)
        warned = [w for w in rate.get("baseline_warnings") or [] if isinstance(w, dict)]
        shown.append(
            Fact(
                key=key,
                path=path,
                label=label,
                value=float(rate["value"]),
                lo=float(rate["ci"][0]),
                hi=float(rate["ci"][1]),
                n=int(rate["n"]),
                k=rate.get("k"),
                words=words(rate, variant),
                warnings=tuple(str(w.get("note", "")) for w in warned),
            )
        )
    if not early_answering_variants(section):
        missing.append(AOC_LABEL)
    return shown, missing
