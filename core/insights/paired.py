"""Paired deltas between two runs on the same test windows, with a t-interval.

Kept free of scipy and numpy: the 95% two-sided t quantiles for the small sample sizes we
see (folds, or pairs of runs) are tabulated, so `why`, `effects` and expectation checks stay
fast and light.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from core.insights.reports import fold_scores

# 97.5% quantile of Student's t for df = 1..30; beyond that the normal 1.96 is close enough.
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t_quantile(df: int) -> float:
    if df < 1:
        return math.inf
    return _T975[df - 1] if df <= len(_T975) else 1.96


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float | None
    """95% t-interval bounds; None with fewer than two values."""
    high: float | None
    n: int

    @property
    def verdict(self) -> str:
        """`better` when the whole interval is above zero, `worse` below, else
        `inconclusive` (values are already oriented so that positive is good)."""
        if self.low is None or self.high is None:
            return "inconclusive"
        if self.low > 0:
            return "better"
        if self.high < 0:
            return "worse"
        return "inconclusive"


def interval(values: list[float]) -> Interval:
    n = len(values)
    if n == 0:
        return Interval(math.nan, None, None, 0)
    mean = sum(values) / n
    if n < 2:
        return Interval(mean, None, None, n)
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    half = t_quantile(n - 1) * math.sqrt(var / n)
    return Interval(mean, mean - half, mean + half, n)


@dataclass(frozen=True)
class PairedDelta:
    """Run `challenger` against `baseline` on the folds whose test windows match."""

    challenger: str
    baseline: str
    metric: str
    direction: str
    deltas: list[float]
    """Per matched fold, challenger minus baseline in the metric's own units."""
    windows: list[str]
    mean: float | None
    """Mean raw delta (challenger - baseline)."""
    low: float | None
    high: float | None
    wins: int
    """Folds where the challenger is better in the metric's direction."""
    windows_match: bool
    """Every fold of both runs has a counterpart: the comparison is fully paired."""
    verdict: str
    """better, worse or inconclusive for the challenger (direction applied)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "challenger": self.challenger,
            "baseline": self.baseline,
            "metric": self.metric,
            "direction": self.direction,
            "mean_delta": _clean(self.mean),
            "interval": [_clean(self.low), _clean(self.high)],
            "deltas": [_clean(d) for d in self.deltas],
            "windows": self.windows,
            "wins": self.wins,
            "folds": len(self.deltas),
            "windows_match": self.windows_match,
            "verdict": self.verdict,
        }


def _clean(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, 6)


def sign_of(direction: str) -> float:
    """+1 when higher is better, -1 when lower is better."""
    return -1.0 if direction == "minimize" else 1.0


def paired_delta(
    challenger: dict[str, Any], baseline: dict[str, Any], metric: str, direction: str
) -> PairedDelta | None:
    """Paired per-fold deltas, or None when the two runs share no test window."""
    ours = dict(fold_scores(challenger, metric))
    theirs = dict(fold_scores(baseline, metric))
    windows = [w for w in ours if w in theirs]
    if not windows:
        return None
    deltas = [ours[w] - theirs[w] for w in windows]
    sign = sign_of(direction)
    oriented = interval([sign * d for d in deltas])
    raw = interval(deltas)
    return PairedDelta(
        challenger=str(challenger.get("run_id")),
        baseline=str(baseline.get("run_id")),
        metric=metric,
        direction=direction,
        deltas=deltas,
        windows=windows,
        mean=raw.mean,
        low=raw.low,
        high=raw.high,
        wins=sum(1 for d in deltas if sign * d > 0),
        windows_match=len(windows) == len(ours) == len(theirs),
        verdict=oriented.verdict,
    )
