"""Lanham et al. 2023's causal tests of a reasoning."""
