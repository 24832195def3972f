"""probe: counterfactual explanation prober."""

__version__ = "0.1.0"
