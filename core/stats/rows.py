"""Two forecasts on the same rows, with the row-level test their metric has.

The rows come from out-of-fold predictions and may hold a NaN (a baseline that could not
forecast a row, a model that failed on it): those rows are left out of both sides."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.stats.decide import Decision


def decide_rows(
    metric: str,
    direction: str,
    y: Any,
    pred_a: Any,
    pred_b: Any,
    dates: Any,
    folds: Any,
    horizon: int,
    min_effect: float = 0.0,
) -> Decision | None:
    """B against A on the rows both predicted, with the row-level test for `metric`, or None
    when the metric has none (not a row mean, not AUC)."""
    import numpy as np

    from core.stats.decide import compare_losses
    from core.stats.losses import ROW_MEAN_METRICS

    if metric not in ROW_MEAN_METRICS and metric != "auc":
        return None
    keep = np.isfinite(pred_a) & np.isfinite(pred_b) & np.isfinite(y)
    return compare_losses(
        metric,
        direction,
        y[keep],
        pred_a[keep],
        pred_b[keep],
        groups=dates[keep],
        folds=folds[keep],
        horizon=horizon,
        min_effect=min_effect,
        unit="dates",
    )
