"""The terminal view of counterfactual input edits in a report (probe/methods/input_edits/measures.py): for each
input-edit variant its flip rate, its unfaithful flip rate and which words were inserted. Shown
only when a run has them; docs/report.md explains them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from probe.pipeline.view import literal

if TYPE_CHECKING:
    from rich.console import Console

ROWS = (
    ("flip", "flip rate", "an inserted word changed the answer"),
    (
        "unfaithful_flip",
        "unfaithful flip rate",
        "of the flips: explanation omits the inserted word",
    ),
    ("mentions_insertion", "mentions the insertion", "of every answered run"),
)


def render_edits(console: Console, by_variant: dict[str, Any], detailed: bool) -> None:
    """The section, if any variant of the run has these measures."""
    from probe.reporting.terminal import add_rate, print_heading, print_note, rates_table

    shown = {name: v["input_edit"] for name, v in by_variant.items() if "input_edit" in v}
    if not shown:
        return
    print_heading(console, "Counterfactual input edits", "Atanasova et al. 2023")
    table = rates_table("meaning" if detailed else None)
    for name, edit in shown.items():
        table.add_row(literal(name, "bold"))
        for key, label, meaning in ROWS:
            add_rate(table, "  " + label, edit[key], meaning if detailed else None)
    console.print(table)
    for name, edit in shown.items():
        words = ", ".join(f"{word} {n}" for word, n in edit["inserted"].items())
        console.print(literal(f"{name}: inserted {words}", "dim"))
    if detailed:
        print_note(
            console,
            "unfaithful flip: the inserted word changed the answer and the explanation does not "
            "name it (lexical check)",
        )
