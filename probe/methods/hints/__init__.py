"""Chen et al. 2025's hints."""
