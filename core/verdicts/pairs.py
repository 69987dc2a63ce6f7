"""Is run B better than run A? The one answer every verdict uses.

Two runs are compared only when they can be: the same labels (the same target), the same
walk-forward test windows, and, row by row, the same truth. Then, on the primary metric:

- a metric that is a mean over rows (MAE, squared error, log loss, Brier): the two runs'
  per-row losses on the same test rows, Diebold-Mariano with HAC variance and the
  Harvey-Leybourne-Newbold correction, rows averaged per date first (`core.stats.forecast`);
- AUC: DeLong's paired test per fold, combined over folds (`core.stats.auc`);
- anything else, or a report without per-row predictions (report version 1): the per-fold
  deltas with a t-interval (`core.stats.folds`), which says it stands on few numbers.

The decision rule is `core.stats.decide` (adrs/0019-one-statistics-module.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from core.experiments.report import FoldResult, Predictions, RunReport, finite

if TYPE_CHECKING:
    from core.stats.decide import Decision

from core.stats.decide import DecisionData
from core.stats.paired import PairedTestData
from core.stats.rows import decide_rows


@dataclass(frozen=True)
class FoldDelta:
    fold: int
    window: str
    """The shared test window, `start..end`."""
    a: float | None
    b: float | None
    delta: float | None
    """b - a, in the metric's own units."""
    improvement: float | None
    """The delta oriented so that positive means B is better."""
    winner: str
    """`a`, `b` or `tie`."""

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class RunComparison:
    """B against A on one metric, with the test behind the verdict."""

    run_a: str
    run_b: str
    metric: str
    direction: str
    comparable: bool
    why_not: str | None
    """Why the runs cannot be compared (None when they can)."""
    verdict: str
    """`better`, `worse` or `inconclusive`: B against A."""
    decision: DecisionData | None
    """The decision with its numbers (`core.stats.decide.Decision.to_dict`)."""
    test: PairedTestData | None
    """The paired test it stands on (`core.stats.paired.PairedTest.to_dict`)."""
    folds: list[FoldDelta] = field(default_factory=list)
    rows: int = 0
    """Test rows both runs predicted, with the same truth."""
    wins_b: int = 0
    wins_a: int = 0
    ties: int = 0
    mean_a: float | None = None
    """A's metric averaged over the shared folds."""
    mean_b: float | None = None
    summary: str = ""
    se_improvement: float | None = None
    """Standard error of the oriented differential (positive = B better), in the test's units,
    for combining several comparisons."""
    improvement: float | None = None
    """The test's oriented mean differential (positive = B better), in the test's units."""

    def to_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["folds"] = [f.to_dict() for f in self.folds]
        return out


def horizon_units(report: RunReport) -> int:
    """The labels' horizon in days (at least 1): the forecast step of the date series."""
    text = str(report.labels.get("horizon") or "")
    try:
        import pandas as pd

        horizon = pd.Timedelta(text).to_pytimedelta() if text else timedelta(days=1)
    except ValueError:
        horizon = timedelta(days=1)
    return max(1, -(-horizon // timedelta(days=1)))


def _fold_deltas(
    a: RunReport, b: RunReport, metric: str, direction: str
) -> tuple[list[FoldDelta], list[float]]:
    sign = 1.0 if direction == "maximize" else -1.0
    theirs = {f.window: f for f in b.folds}
    out: list[FoldDelta] = []
    deltas: list[float] = []
    for fold in a.folds:
        other = theirs.get(fold.window)
        if other is None:
            continue
        va, vb = fold.metrics.get(metric), other.metrics.get(metric)
        delta = vb - va if va is not None and vb is not None else None
        improvement = sign * delta if delta is not None else None
        if delta is not None:
            deltas.append(delta)
        winner = "tie" if not improvement else ("b" if improvement > 0 else "a")
        out.append(FoldDelta(fold.fold, fold.window, va, vb, delta, improvement, winner))
    return out, deltas


def comparability(a: RunReport, b: RunReport, metric: str) -> str | None:
    """Why A and B cannot be compared on `metric`, or None when they can."""
    la = a.components.get("labels")
    lb = b.components.get("labels")
    if la is not None and lb is not None and la.version != lb.version:
        return f"they predict different labels ({la.version} vs {lb.version}): not the same target"
    if a.primary_metric.name != b.primary_metric.name and metric == a.primary_metric.name:
        return f"{a.run_id} is scored on {a.primary_metric.name!r}, {b.run_id} on {b.primary_metric.name!r}"
    if a.fold_windows != b.fold_windows:
        return (
            f"they were tested on different windows ({len(a.folds)} vs {len(b.folds)} folds; "
            f"snapshots {a.snapshot_id} vs {b.snapshot_id}); a paired comparison needs the same "
            "test windows: train both on the same snapshot with the same [validation] settings"
        )
    return None


def _aligned(a: Predictions, b: Predictions) -> tuple[Any, Any, Any, Any, Any, str | None] | None:
    """(y, prediction a, prediction b, dates, folds, problem) on the rows both hold."""
    import numpy as np

    where = {key: i for i, key in enumerate(b.keys())}
    left: list[int] = []
    right: list[int] = []
    for i, key in enumerate(a.keys()):
        j = where.get(key)
        if j is not None:
            left.append(i)
            right.append(j)
    if not left:
        return None
    ia, ib = np.asarray(left), np.asarray(right)
    y_a = np.asarray(a.y, dtype=float)[ia]
    y_b = np.asarray(b.y, dtype=float)[ib]
    problem = None
    if not np.allclose(y_a, y_b, equal_nan=True):
        problem = "the same rows carry different labels in the two runs (not the same truth)"
    pa = np.asarray(a.prediction, dtype=float)[ia]
    pb = np.asarray(b.prediction, dtype=float)[ib]
    dates = np.asarray([a.time[i][:10] for i in left])
    folds = np.asarray(a.fold, dtype=int)[ia]
    return y_a, pa, pb, dates, folds, problem


def compare_reports(
    a: RunReport,
    b: RunReport,
    *,
    metric: str | None = None,
    direction: str | None = None,
    min_effect: float = 0.0,
    a_predictions: Predictions | None = None,
) -> RunComparison:
    """B against A. `a_predictions` replaces A's own predictions (e.g. a naive baseline's,
    which live in B's report)."""
    from core.stats.decide import decide
    from core.stats.folds import fold_t

    metric = metric or a.primary_metric.name
    direction = direction or a.primary_metric.direction
    problem = comparability(a, b, metric)
    folds, deltas = _fold_deltas(a, b, metric, direction)
    scored = [f for f in folds if f.delta is not None]
    mean_a = _mean([f.a for f in scored])
    mean_b = _mean([f.b for f in scored])
    base = RunComparison(
        run_a=a.run_id,
        run_b=b.run_id,
        metric=metric,
        direction=direction,
        comparable=False,
        why_not=None,
        verdict="inconclusive",
        decision=None,
        test=None,
        folds=folds,
        wins_b=sum(f.winner == "b" for f in folds),
        wins_a=sum(f.winner == "a" for f in folds),
        ties=sum(f.winner == "tie" for f in folds),
        mean_a=mean_a,
        mean_b=mean_b,
    )
    if problem is not None:
        return replace(
            base, why_not=problem, summary=f"{b.run_id} vs {a.run_id}: not comparable: {problem}"
        )
    left = a_predictions or a.predictions
    decision: Decision | None = None
    rows = 0
    note = ""
    if left is not None and b.predictions is not None:
        aligned = _aligned(left, b.predictions)
        if aligned is not None:
            y, pa, pb, dates, fold_ids, truth = aligned
            if truth is not None:
                return replace(
                    base,
                    why_not=truth,
                    summary=f"{b.run_id} vs {a.run_id}: not comparable: {truth}",
                )
            rows = len(y)
            decision = decide_rows(
                metric, direction, y, pa, pb, dates, fold_ids, horizon_units(b), min_effect
            )
    else:
        note = " (a report without per-row predictions: the verdict stands on fold scores)"
    if decision is None:
        decision = decide(
            fold_t(deltas), metric=metric, direction=direction, min_effect=min_effect,
            loss_based=False,
        )  # fmt: skip
    test = decision.test
    loss_based = test is not None and test.method == "diebold-mariano"
    sign = -1.0 if loss_based else (1.0 if direction == "maximize" else -1.0)
    mean = finite(test.mean) if test is not None else None
    summary = (
        f"{b.run_id} vs {a.run_id} on {metric} ({direction}): {decision.verdict}; "
        f"{decision.reason}{note}"
    )
    return replace(
        base,
        comparable=True,
        verdict=decision.verdict,
        decision=decision.to_dict(),
        test=test.to_dict() if test is not None else None,
        rows=rows,
        summary=summary,
        se_improvement=finite(test.se) if test is not None else None,
        improvement=sign * mean if mean is not None else None,
    )


def _mean(values: list[float | None]) -> float | None:
    defined = [v for v in values if v is not None]
    return sum(defined) / len(defined) if defined else None


@dataclass(frozen=True)
class Pooled:
    """Several comparisons of one change, pooled: the inverse-variance mean of their
    differentials and its interval (a fixed-effect estimate)."""

    pairs: int
    improvement: float | None
    low: float | None
    high: float | None
    verdict: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def pool(comparisons: list[RunComparison], min_effect: float = 0.0) -> Pooled:
    """One verdict over comparisons of the same change. A single comparison keeps its own
    verdict; several are pooled by inverse variance (they share a metric and a test), and a
    pair whose own verdict contradicts the pooled one makes the whole inconclusive."""
    usable = [
        c
        for c in comparisons
        if c.comparable and c.improvement is not None and c.se_improvement not in (None, 0.0)
    ]
    if len(comparisons) == 1:
        only = comparisons[0]
        low, high = _oriented_interval(only)
        return Pooled(1, only.improvement, low, high, only.verdict, _reason_of(only))
    if not usable:
        return Pooled(len(comparisons), None, None, None, "inconclusive", "no pair has a test")
    weights = [1.0 / (c.se_improvement or 1.0) ** 2 for c in usable]
    total = sum(weights)
    estimate = sum(w * (c.improvement or 0.0) for w, c in zip(weights, usable, strict=True)) / total
    se = math.sqrt(1.0 / total)
    low, high = estimate - 1.96 * se, estimate + 1.96 * se
    verdicts = {c.verdict for c in usable}
    if low > min_effect and "worse" not in verdicts:
        verdict = "better"
    elif high < -min_effect and "better" not in verdicts:
        verdict = "worse"
    else:
        verdict = "inconclusive"
    reason = (
        f"{len(usable)} pairs pooled by inverse variance: improvement {estimate:+.4g} "
        f"[{low:+.4g}, {high:+.4g}] (pairs that share a run make this interval a little "
        "narrower than it should be)"
    )
    if {"better", "worse"} <= verdicts:
        reason += "; pairs disagree"
    return Pooled(len(comparisons), estimate, low, high, verdict, reason)


def _oriented_interval(comparison: RunComparison) -> tuple[float | None, float | None]:
    decision = comparison.decision
    low, high = (decision["improvement_interval"] if decision else None) or [None, None]
    return finite(low), finite(high)


def _reason_of(comparison: RunComparison) -> str:
    decision: dict[str, Any] = dict(comparison.decision or {})
    return str(decision.get("reason") or comparison.why_not or comparison.summary)


def fold_results_windows(folds: list[FoldResult]) -> list[str]:
    return [f.window for f in folds]
