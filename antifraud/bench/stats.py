"""Summaries of repeated measurements: medians, spreads and ratios (pure, no I/O).

The machines are shared and noisy, so every figure is the median of several repetitions with
its spread, and every comparison is a ratio of figures measured in the same run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear-interpolated percentile (`fraction` in 0..1), as numpy's default method."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError("fraction: between 0 and 1")
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    below = math.floor(position)
    above = math.ceil(position)
    if below == above:
        return float(ordered[below])
    weight = position - below
    return float(ordered[below] * (1.0 - weight) + ordered[above] * weight)


def median(values: Sequence[float]) -> float:
    return percentile(values, 0.5)


@dataclass(frozen=True, slots=True)
class Summary:
    """Median and range of the repetitions of one measurement."""

    median: float
    low: float
    high: float
    count: int

    @property
    def spread(self) -> float:
        """(high - low) / median: 0.1 means the repetitions lie within 10 % of the median."""
        return (self.high - self.low) / self.median if self.median else math.inf

    def as_dict(self) -> dict[str, float | int]:
        return {
            "median": self.median,
            "low": self.low,
            "high": self.high,
            "count": self.count,
            "spread": self.spread,
        }


def summarize(values: Sequence[float]) -> Summary:
    if not values:
        raise ValueError("summary of no values")
    return Summary(median(values), float(min(values)), float(max(values)), len(values))


@dataclass(frozen=True, slots=True)
class Ratio:
    """A ratio of two medians, with the widest range the repetitions allow."""

    value: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high}


def ratio(numerator: Summary, denominator: Summary) -> Ratio:
    """numerator.median / denominator.median; the range pairs worst and best repetitions."""
    if denominator.median <= 0 or denominator.low <= 0:
        raise ValueError("ratio: the denominator must be positive")
    return Ratio(
        numerator.median / denominator.median,
        numerator.low / denominator.high,
        numerator.high / denominator.low,
    )


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """Latency percentiles in milliseconds over all probes of one offered load."""

    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    probes: int
    lost: int

    def as_dict(self) -> dict[str, float | int]:
        return {
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "p99_ms": self.p99_ms,
            "max_ms": self.max_ms,
            "probes": self.probes,
            "lost": self.lost,
        }


def latency_summary(latencies_s: Sequence[float], lost: int) -> LatencySummary:
    """`lost` counts probes whose task never came out: reported, never hidden in the tail."""
    if not latencies_s:
        return LatencySummary(math.nan, math.nan, math.nan, math.nan, 0, lost)
    in_ms = [value * 1000.0 for value in latencies_s]
    return LatencySummary(
        percentile(in_ms, 0.50),
        percentile(in_ms, 0.95),
        percentile(in_ms, 0.99),
        max(in_ms),
        len(in_ms),
        lost,
    )
