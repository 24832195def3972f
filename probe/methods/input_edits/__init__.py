"""Atanasova et al. 2023's counterfactual input edits."""
