"""Tokens, cost and latency of the calls behind records, for the HTML report: per variant, per
input and per run. Summed as the run's own summary sums them (probe.pipeline.pool.RunStats): a
cached reply cost nothing this time; an answer extraction's calls count with their variant's.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


@dataclass
class Usage:
    calls: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None  # None: no call was priced
    latencies: list[float] = field(default_factory=list)

    def add_call(self, call: dict[str, Any]) -> None:
        """One call: a variant's reply, or one of its extraction's."""
        self.calls += 1
        cached = call.get("cached") is True
        self.cached += cached
        usage = call.get("usage")
        if isinstance(usage, dict):
            self.prompt_tokens += int(_number(usage.get("prompt_tokens")) or 0)
            self.completion_tokens += int(_number(usage.get("completion_tokens")) or 0)
        cost = _number(call.get("cost_usd"))
        if cost is not None:
            self.cost_usd = (self.cost_usd or 0.0) + (0.0 if cached else cost)
        latency = _number(call.get("latency_s"))
        if latency is not None:
            self.latencies.append(latency)

    def add_run(self, run: Any) -> None:
        """A variant's entry (a list of them with --samples), its extraction's calls with it."""
        for one in run if isinstance(run, list) else [run]:
            if not isinstance(one, dict):
                continue
            self.add_call(one)
            extraction = one.get("extraction")
            if isinstance(extraction, dict):
                attempts = extraction.get("attempts")
                for call in [*(attempts if isinstance(attempts, list) else []), extraction]:
                    if isinstance(call, dict) and not call.get("error"):
                        self.add_call(call)

    def add_record(self, record: dict[str, Any]) -> None:
        for run in (record.get("variants") or {}).values():
            self.add_run(run)

    def merge(self, other: Usage) -> None:
        self.calls += other.calls
        self.cached += other.cached
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        if other.cost_usd is not None:
            self.cost_usd = (self.cost_usd or 0.0) + other.cost_usd
        self.latencies += other.latencies

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def latency_s(self) -> float | None:
        return sum(self.latencies) if self.latencies else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "cached": self.cached,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "tokens": self.tokens,
            "cost_usd": self.cost_usd,
            "latency_s": self.latency_s,
            "latency_median_s": statistics.median(self.latencies) if self.latencies else None,
        }


def of_records(records: Iterable[dict[str, Any]]) -> Usage:
    total = Usage()
    for record in records:
        total.add_record(record)
    return total


def describe(usage: dict[str, Any]) -> str:
    """'12 calls (3 cached), 4,210 tokens in, 512 out, $0.0123, 8.2 s (median 0.61 s a call)'."""
    said = f"{usage['calls']} call{'s' if usage['calls'] != 1 else ''}"
    if usage["cached"]:
        said += f" ({usage['cached']} cached)"
    said += f", {usage['prompt_tokens']:,} tokens in, {usage['completion_tokens']:,} out"
    if usage["cost_usd"] is not None:
        said += f", ${usage['cost_usd']:.4f}"
    else:
        said += ", cost not known"
    if usage["latency_s"] is not None:
        said += f", {usage['latency_s']:.1f} s (median {usage['latency_median_s']:.2f} s a call)"
    return said
