"""Lanham et al. 2023's causal tests of a reasoning ("Measuring Faithfulness in Chain-of-Thought
Reasoning"): early answering and filler tokens (reasoning.py), adding mistakes and paraphrasing
(edited_reasoning.py); their measures (measures.py) and terminal section (report.py)."""

from probe.methods.lanham import edited_reasoning, reasoning  # noqa: F401  (register them)
from probe.methods.lanham.measures import DEFINITIONS, measures
from probe.methods.lanham.report import render_lanham
from probe.variants.registry import Method, declare

declare(
    Method(
        name="lanham",
        title="the reasoning cut short, padded, given a mistake or paraphrased: does the answer "
        "depend on it?",
        source="Lanham et al. 2023",
        position=60,
        definitions=DEFINITIONS,
        measures=measures,
        report_section=render_lanham,
    )
)
