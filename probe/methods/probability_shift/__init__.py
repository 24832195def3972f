"""Siegel et al. 2024's probability shift."""
