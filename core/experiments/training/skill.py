"""Does a run beat doing nothing clever? The run against its best naive baseline, on the
same rows, with the same statistics as every other verdict (`core.stats`). Training scores
it (`core.experiments.training.run`), so it sits below the verdicts that read reports."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core.experiments.report import Aggregate, FoldResult, Predictions, finite

BOUNDED_BY_ONE = ("auc", "accuracy", "f1", "precision", "recall", "r2")
"""Scores whose best value is 1: skill is the share of the way from the baseline to 1."""


def skill_score(metric: str, direction: str, run: float | None, base: float | None) -> float | None:
    """1 - run/baseline for a loss (0: no better than the baseline, 1: perfect); for a score
    bounded by 1, (run - baseline) / (1 - baseline); else the relative improvement."""
    if run is None or base is None:
        return None
    if direction == "minimize":
        return 1.0 - run / base if base > 0 else None
    if metric in BOUNDED_BY_ONE and base < 1:
        return (run - base) / (1.0 - base)
    return (run - base) / abs(base) if base else None


def best_baseline(
    aggregate: dict[str, dict[str, Aggregate]], metric: str, direction: str
) -> str | None:
    best: tuple[str, float] | None = None
    for name, metrics in aggregate.items():
        mean = (metrics.get(metric) or Aggregate(None, None, None, None, 0, 0)).mean
        if mean is None:
            continue
        if best is None or (mean < best[1] if direction == "minimize" else mean > best[1]):
            best = (name, mean)
    return best[0] if best else None


def versus_best_baseline(
    predictions: Predictions,
    folds: list[FoldResult],
    aggregate: dict[str, dict[str, Aggregate]],
    metric: str,
    direction: str,
    horizon: timedelta,
) -> tuple[str | None, dict[str, Any] | None, float | None]:
    """(best baseline, the run's decision against it, the run's skill over it)."""
    import numpy as np

    from core.stats.decide import decide
    from core.stats.folds import fold_t
    from core.stats.rows import decide_rows

    name = best_baseline(aggregate, metric, direction)
    if name is None or name not in predictions.baselines:
        return name, None, None
    run_mean = _mean([f.metrics.get(metric) for f in folds])
    base_mean = aggregate[name][metric].mean
    y = np.asarray(predictions.y, dtype=float)
    base = np.asarray(predictions.baselines[name], dtype=float)
    ours = np.asarray(predictions.prediction, dtype=float)
    dates = np.asarray([t[:10] for t in predictions.time])
    fold_ids = np.asarray(predictions.fold, dtype=int)
    days = max(1, -(-horizon // timedelta(days=1)))
    decision = decide_rows(metric, direction, y, base, ours, dates, fold_ids, days)
    if decision is None:
        deltas = [
            v - b
            for f in folds
            if (v := f.metrics.get(metric)) is not None
            and (b := (f.baselines.get(name) or {}).get(metric)) is not None
        ]
        decision = decide(fold_t(deltas), metric=metric, direction=direction, loss_based=False)
    return (
        name,
        {**decision.to_dict(), "baseline": name},
        finite(skill_score(metric, direction, run_mean, base_mean)),
    )


def _mean(values: list[float | None]) -> float | None:
    defined = [v for v in values if v is not None]
    return sum(defined) / len(defined) if defined else None
