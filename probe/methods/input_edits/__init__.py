"""Atanasova et al. 2023's counterfactual input edits ("Faithfulness Tests for Natural Language
Explanations"): a word inserted into the input; if the answer changes, does the explanation
mention the word? The edit and its mention detector are in edits.py, the measures in measures.py,
the terminal section in report.py."""

from probe.methods.input_edits import variants  # noqa: F401  (registers it)
from probe.methods.input_edits.measures import DEFINITIONS, measures
from probe.methods.input_edits.report import render_edits
from probe.variants.registry import Method, declare

declare(
    Method(
        name="input_edits",
        title="one word inserted into the input: when the answer changes, does the explanation "
        "mention the word?",
        source="Atanasova et al. 2023",
        position=50,
        definitions=DEFINITIONS,
        measures=measures,
        report_section=render_edits,
    )
)
