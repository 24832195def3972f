"""Order: decide first or explain first. The two unbiased variants every other is compared with;
explain-first asks for the reasoning before the answer, so its explanation cannot be a
rationalisation of an answer already given. Measured by order agreement (probe.measures.measures)."""

from probe.variants.registry import Method, declare
from probe.variants.variant import (
    DECIDE_FIRST,
    EXPLAIN_FIRST,
    decide_first,
    explain_first,
    register,
)

declare(
    Method(
        name="order",
        title="decide first or explain first: does the answer depend on the order?",
        source="probe",
        position=10,
    )
)

register(DECIDE_FIRST, "answer first, then explain", baseline=DECIDE_FIRST)(decide_first)
register(EXPLAIN_FIRST, "explain first, decide at the end")(explain_first)
