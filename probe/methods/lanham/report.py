"""The terminal view of Lanham et al.'s causal tests in a report (probe/methods/lanham/measures.py): for
each early-answering variant its area over the curve and its mean curve, for each filler-tokens
variant its three accuracies, for adding-mistakes and paraphrasing how often the answer changed
(and the mistakes' AOC and curve); for each, how often its reference (the answer with the whole
reasoning kept, under its own prompt) differed from explain-first's own answer, in a row and in
words. Shown only when a run has them; docs/report.md explains them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from probe.pipeline.view import literal

if TYPE_CHECKING:
    from rich.console import Console

AOC_MEANING = "0: the answer came before the reasoning"
CURVE_NOTE = (
    "curve: with this fraction of the reasoning kept, the share of inputs already giving the "
    "final answer — the one at 100%, all of the reasoning kept and asked for the same way (and "
    "its mean probability, where logprobs were given)"
)
DIFFERS_LABEL = "  reference differs"
DIFFERS_MEANING = "full-reasoning answer here is not explain-first's own"
CHANGED_MEANING = {
    "mistake": "points where the mistake changed the final answer",
    "paraphrase": "points where the paraphrase changed it: high, the wording mattered",
}
MISTAKE_AOC_MEANING = "over the mistake's position; 0: the answer ignores the reasoning"
UNMEASURED_NOTES = {
    "unedited": "points whose edit was empty or the same text",
    "unmeasured": "inputs with no edited point whose answer was read, or no readable reference",
}
EDITS_NOTE = (
    "answer changed: a Wilson rate over points (up to 6 per input), against the reference, the "
    "final answer continuing the whole reasoning unedited; curve: with the mistake after this "
    "fraction of the reasoning, the share of inputs still giving the reference"
)
FILLER_ROWS = (
    ("with_filler", "accuracy with filler", "reasoning replaced by dots"),
    ("no_reasoning", "accuracy, no reasoning", "answer asked for at once"),
    ("full_reasoning", "accuracy, full reasoning", "the whole reasoning, asked the same way"),
)


def render_lanham(console: Console, by_variant: dict[str, Any], detailed: bool) -> None:
    """The section, if any variant of the run has these measures."""
    from probe.reporting.terminal import add_rate, print_heading, print_note, rates_table

    _render_edits(console, by_variant, detailed)
    shown = {name: v for name, v in by_variant.items() if "early_answering" in v or "filler" in v}
    if not shown:
        return
    print_heading(console, "Early answering and filler tokens", "Lanham et al. 2023")
    table = rates_table("meaning" if detailed else None)
    for name, variant in shown.items():
        table.add_row(literal(name, "bold"))
        if "early_answering" in variant:
            early = variant["early_answering"]
            _add_aoc(table, early["aoc"], AOC_MEANING if detailed else None)
            if early.get("unmeasured"):
                note = "no readable answer at none or all of the reasoning"
                _add_count(table, "not measured", early["unmeasured"], note if detailed else None)
        for key, label, meaning in FILLER_ROWS if "filler" in variant else ():
            rate = variant["filler"][key]
            if detailed and not rate.get("n"):
                meaning = "needs inputs with gold" if key == "with_filler" else ""
            elif key == "full_reasoning" and variant["filler"].get("reference_sources", {}).get(
                "explain_first"
            ):
                meaning = "explain-first's own answer in old records"
            add_rate(table, "  " + label, rate, meaning if detailed else None)
        if variant.get("filler", {}).get("unmeasured"):
            why = "inputs with gold and an answer that could not be read"
            _add_count(
                table, "not measured", variant["filler"]["unmeasured"], why if detailed else None
            )
        measures = variant.get("early_answering") or variant.get("filler") or {}
        _add_differs(table, measures, detailed)
    console.print(table)
    _reference_notes(
        console, {n: v.get("early_answering") or v["filler"] for n, v in shown.items()}
    )
    for name, variant in shown.items():
        if "early_answering" in variant and variant["early_answering"]["curve"]:
            console.print(literal(f"{name}: mean curve", "bold"))
            console.print(_curve(variant["early_answering"]))
    if detailed:
        print_note(console, CURVE_NOTE)


def _render_edits(console: Console, by_variant: dict[str, Any], detailed: bool) -> None:
    """Adding mistakes and paraphrasing: how often the answer changed, and the mistakes' AOC."""
    from probe.reporting.terminal import add_rate, print_heading, print_note, rates_table

    shown = {name: v["edits"] for name, v in by_variant.items() if "edits" in v}
    if not shown:
        return
    print_heading(console, "Adding mistakes and paraphrasing", "Lanham et al. 2023")
    table = rates_table("meaning" if detailed else None)
    for name, edits in shown.items():
        table.add_row(literal(name, "bold"))
        meaning = CHANGED_MEANING[edits["edit"]] if detailed else None
        add_rate(table, "  answer changed", edits["changed"], meaning)
        if "aoc" in edits:
            _add_aoc(table, edits["aoc"], MISTAKE_AOC_MEANING if detailed else None)
        for key, label in (("unedited", "edit left it as it was"), ("unmeasured", "not measured")):
            if edits.get(key):
                note = UNMEASURED_NOTES[key] if detailed else None
                _add_count(table, label, edits[key], note)
        _add_differs(table, edits, detailed)
    console.print(table)
    _reference_notes(console, shown)
    for name, edits in shown.items():
        if edits.get("curve"):
            console.print(literal(f"{name}: mean curve", "bold"))
            console.print(_curve(edits, kept="mistake at"))
    if detailed:
        print_note(console, EDITS_NOTE)


def _add_differs(table: Any, measures: dict[str, Any], detailed: bool) -> None:
    """The share of inputs whose reference differed from explain-first's own answer; no row
    when every record predates the reference (the words below say so)."""
    from probe.reporting.terminal import add_rate

    sources = measures.get("reference_sources") or {}
    if "reference_differs" in measures and any(
        n for k, n in sources.items() if k != "explain_first"
    ):
        note = DIFFERS_MEANING if detailed else None
        add_rate(table, DIFFERS_LABEL, measures["reference_differs"], note)


def _reference_notes(console: Console, measures: dict[str, dict[str, Any]]) -> None:
    """Each variant's reference in words: "the full-reasoning answer under the early-answering
    prompt differed from explain-first's own answer on k of n inputs", and its old records."""
    from rich.text import Text

    for name, measured in measures.items():
        if measured.get("reference_note"):
            line = Text(f"{name}: ", style="bold")
            line.append(measured["reference_note"] + ".")
            console.print(line)


def _add_aoc(table: Any, aoc: dict[str, Any], note: str | None) -> None:
    from rich.text import Text

    if aoc.get("value") is None:
        cells = ["—", "", f"n={aoc.get('n', 0)}"]
    else:
        lo, hi = aoc["ci"]
        cells = [f"{aoc['value']:.2f}", f"[{lo:.2f}, {hi:.2f}]", f"n={aoc['n']}"]
    row = [Text("  area over the curve"), *map(Text, cells)]
    table.add_row(*row, *([Text(note)] if note is not None else []))


def _add_count(table: Any, label: str, n: int, note: str | None) -> None:
    from rich.text import Text

    row = [Text("  " + label), Text(str(n)), Text(""), Text("")]
    table.add_row(*row, *([Text(note)] if note is not None else []))


def _curve(early: dict[str, Any], kept: str = "kept") -> Any:
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, padding=(0, 1, 0, 0), show_edge=False, show_header=False)
    table.add_column(no_wrap=True)
    points = early["curve"]
    for _ in points:
        table.add_column(justify="right", no_wrap=True)
    table.add_row(Text(f"  {kept}"), *(Text(f"{p['fraction']:.0%}") for p in points))
    table.add_row(Text("  same answer"), *(Text(f"{p['same']:.2f}") for p in points))
    if early.get("p_reference_curve"):
        probs = early["p_reference_curve"]
        table.add_row(Text("  P(final answer)"), *(Text(f"{p['p']:.2f}") for p in probs))
    return table
