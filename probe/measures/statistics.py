"""General statistics: Wilson intervals, the exact McNemar test, Cohen's kappa, the noise floor,
percentile-bootstrap intervals of a mean, and the Mann-Whitney U test of two samples.

Pure Python (no scipy, no numpy): tests/test_metrics.py checks the numbers against scipy's.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any


def wilson_interval(k: float, n: int, conf: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials; (0.0, 1.0) when n is 0.

    The same numbers as ``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")``, in closed
    form so that a fractional k works too (the noise floor averages per-input disagreement in
    [0, 1], whose variance is at most that of a Bernoulli with the same mean).
    """
    if n <= 0:
        return (0.0, 1.0)
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    z = NormalDist().inv_cdf(0.5 + conf / 2)
    p = k / n
    shrink = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / shrink
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / shrink
    # At k = 0 (k = n) the bound is exactly 0 (1); the closed form only rounds near it.
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    hi = 1.0 if k == n else min(1.0, centre + half)
    return (lo, hi)


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value: a binomial test of b against b + c at one half.

    Exact integer arithmetic, so it agrees with ``scipy.stats.binomtest(b, b + c).pvalue``
    without needing scipy. 1.0 when there are no discordant pairs.
    """
    n = b + c
    if n == 0:
        return 1.0
    term, tail = 1, 1  # C(n, 0), running sum of C(n, i) for i <= min(b, c)
    for i in range(1, min(b, c) + 1):
        term = term * (n - i + 1) // i
        tail += term
    return min(1.0, 2 * tail / (1 << n))


def cohen_kappa(pairs: Iterable[tuple[Hashable, Hashable]]) -> float | None:
    """Cohen's kappa between two raters' categorical labels, given as (a, b) pairs.

    None when it is undefined: no pairs, or both raters gave one and the same label throughout.
    """
    pairs = list(pairs)
    n = len(pairs)
    if n == 0:
        return None
    observed = sum(a == b for a, b in pairs) / n
    left = Counter(a for a, _ in pairs)
    right = Counter(b for _, b in pairs)
    expected = sum(left[label] * right[label] for label in left) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1 - expected)


@dataclass(frozen=True)
class Rate:
    """k of n, with a Wilson interval. ``value`` is None when n is 0."""

    value: float | None
    ci: tuple[float, float]
    n: int
    k: float

    @classmethod
    def of(cls, k: float, n: int, conf: float = 0.95) -> Rate:
        return cls(value=k / n if n else None, ci=wilson_interval(k, n, conf), n=n, k=k)

    @classmethod
    def count(cls, outcomes: Iterable[bool]) -> Rate:
        outcomes = list(outcomes)
        return cls.of(sum(outcomes), len(outcomes))

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "ci": [self.ci[0], self.ci[1]], "n": self.n, "k": self.k}


def agreement(pairs: Iterable[tuple[Hashable, Hashable]]) -> dict[str, Any]:
    """Share of pairs that agree, as a rate, plus Cohen's kappa."""
    pairs = list(pairs)
    return {**Rate.count(a == b for a, b in pairs).to_dict(), "kappa": cohen_kappa(pairs)}


def noise_floor(answer_sets: Iterable[Sequence[Hashable]]) -> tuple[Rate, Rate]:
    """How much repeated runs of one prompt disagree with themselves.

    answer_sets: the parsed answers of each input's runs; inputs with fewer than two are skipped.
    Returns (pairwise, any): pairwise is the mean over inputs of the chance that two distinct runs
    differ (the level a flip rate must beat); any is the share of inputs whose runs disagree at all.
    """
    per_input = []
    for answers in answer_sets:
        m = len(answers)
        if m < 2:
            continue
        same = sum(c * (c - 1) for c in Counter(answers).values())
        per_input.append(1 - same / (m * (m - 1)))
    return Rate.of(sum(per_input), len(per_input)), Rate.count(d > 0 for d in per_input)


def bootstrap_mean(
    values: Sequence[float], *, conf: float = 0.95, resamples: int = 2000, seed: int = 0
) -> dict[str, Any]:
    """The mean of `values` with a percentile-bootstrap interval (resampling the values with
    replacement, `resamples` times, seeded so a report is reproducible): {"value", "ci", "n"}.
    Over nothing: value None and interval None."""
    n = len(values)
    if n == 0:
        return {"value": None, "ci": None, "n": 0}
    rng = random.Random(seed)
    means = sorted(sum(rng.choices(values, k=n)) / n for _ in range(resamples))
    tail = (1 - conf) / 2
    lo = means[max(0, math.floor(tail * resamples))]
    hi = means[min(resamples - 1, math.ceil((1 - tail) * resamples) - 1)]
    return {"value": sum(values) / n, "ci": [lo, hi], "n": n}


def _ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties given the mean of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _u_counts(m: int, n: int) -> list[int]:
    """How many of the C(m+n, m) orderings of two tie-free samples give each U from 0 to m*n."""
    # counts[j][u] for samples of sizes (i, j), built up over i
    counts = [[1] + [0] * (m * n) for _ in range(n + 1)]  # i = 0: U is 0
    for i in range(1, m + 1):
        row = [[0] * (m * n + 1) for _ in range(n + 1)]
        row[0][0] = 1
        for j in range(1, n + 1):
            for u in range(i * j + 1):
                # the largest value is the first sample's (it beats all j) or the second's
                row[j][u] = (counts[j][u - j] if u >= j else 0) + row[j - 1][u]
        counts = row
    return counts[n]


def mann_whitney(x: Sequence[float], y: Sequence[float], *, method: str = "auto") -> dict[str, Any]:
    """Two-sided Mann-Whitney U test: do values of x tend to be larger (or smaller) than y's?

    Returns {"u": U of x, "p_value", "method", "n": [len(x), len(y)], "effect": U / (nx*ny), the
    chance that a value of x beats one of y, ties counting half}. method "exact" counts the
    orderings (valid without ties); "asymptotic" is the normal approximation with tie
    correction and continuity correction; "auto" is exact when there are no ties and both
    samples are at most 30. The same numbers as ``scipy.stats.mannwhitneyu(x, y,
    method=...)`` (tests/test_lanham.py checks them)."""
    nx, ny = len(x), len(y)
    if nx == 0 or ny == 0:
        return {"u": None, "p_value": None, "method": None, "n": [nx, ny], "effect": None}
    values = [*x, *y]
    ranks = _ranks(values)
    u = sum(ranks[:nx]) - nx * (nx + 1) / 2
    big = max(u, nx * ny - u)
    ties = Counter(values)
    if method == "auto":
        tied = any(c > 1 for c in ties.values())
        method = "exact" if not tied and nx <= 30 and ny <= 30 else "asymptotic"
    if method == "exact":
        counts = _u_counts(nx, ny)
        at_least = sum(counts[math.ceil(big) :])
        p = 2 * at_least / math.comb(nx + ny, nx)
    elif method == "asymptotic":
        n = nx + ny
        tie_term = sum(c**3 - c for c in ties.values()) / (n * (n - 1))
        variance = nx * ny / 12 * ((n + 1) - tie_term)
        if variance <= 0:
            p = 1.0  # every value the same: nothing tells the samples apart
        else:
            z = (big - nx * ny / 2 - 0.5) / math.sqrt(variance)
            p = 2 * (1 - NormalDist().cdf(z))
    else:
        raise ValueError(f"method must be auto, exact or asymptotic, not {method!r}")
    return {
        "u": u,
        "p_value": min(1.0, p),
        "method": method,
        "n": [nx, ny],
        "effect": u / (nx * ny),
    }
