"""Turpin et al. 2023's biasing features: a suggested answer, few-shot answers always (A)."""

from probe.methods.turpin import variants  # noqa: F401  (registers them)
from probe.variants.registry import Method, declare

declare(
    Method(
        name="turpin",
        title="a suggested answer, few-shot answers always (A): does the answer follow the bias, "
        "and does the explanation say so?",
        source="Turpin et al. 2023",
        position=30,
    )
)
