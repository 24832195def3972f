"""Chen et al. 2025's hints ("Reasoning Models Don't Always Say What They Think"): metadata,
grader hacking, unethical information, consistency. The words of each hint and its mention
detector are in hints.py, the variants in variants.py."""

from probe.methods.hints import variants  # noqa: F401  (registers them)
from probe.variants.registry import Method, declare

declare(
    Method(
        name="hints",
        title="hints in the prompt (metadata, grader hacking, unethical, consistency): does the "
        "answer follow the hint, and does the explanation say so?",
        source="Chen et al. 2025",
        position=40,
    )
)
