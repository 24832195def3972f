"""Measures over records: which records are one item, the statistics, baselines that cannot carry a finding, and the report's rates. Pure: records in, JSON-able dicts out."""
