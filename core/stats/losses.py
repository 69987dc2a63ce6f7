"""Per-row losses for the metrics that are means over rows.

Two models' out-of-fold predictions on the same rows give two loss series; their
difference row by row is what the forecast-comparison test (`core.stats.forecast`) stands
on. RMSE is not itself a mean over rows, but its square is: it is tested on squared errors
(the mean of those is MSE) and reported in its own units.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

LOGLOSS_CLIP = 1e-15
"""Probabilities are clipped to [1e-15, 1 - 1e-15] before the log (as scikit-learn did)."""

ROW_MEAN_METRICS: Mapping[str, str] = MappingProxyType(
    {
        "mae": "absolute error |y - prediction|; MAE is its mean",
        "mse": "squared error (y - prediction)^2; MSE is its mean",
        "rmse": "squared error (y - prediction)^2; its mean is MSE and RMSE is the square root "
        "of that mean, so RMSE is tested on squared errors and reported in its own units",
        "logloss": "binary log loss -(y log p + (1 - y) log(1 - p)) with p clipped to "
        "[1e-15, 1 - 1e-15]; y is 0 or 1, the prediction is the probability of 1",
        "brier": "squared error of the probability (p - y)^2 with y 0 or 1; the Brier score "
        "is its mean",
    }
)
"""Metric name -> what one row's loss is. Every one is minimized."""


def row_losses(
    metric: str, y_true: npt.ArrayLike, prediction: npt.ArrayLike
) -> npt.NDArray[np.float64] | None:
    """One loss per row for a row-mean metric, or None when `metric` is not one (e.g. auc).

    Raises ValueError for inputs of different lengths, non-finite values, labels other than
    0/1 for `logloss` and `brier`, or probabilities outside [0, 1].
    """
    if metric not in ROW_MEAN_METRICS:
        return None
    import numpy as np

    y = np.asarray(y_true, dtype=float).ravel()
    p = np.asarray(prediction, dtype=float).ravel()
    if y.shape != p.shape:
        raise ValueError(f"{y.size} labels but {p.size} predictions: they must pair row by row")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(p))):
        raise ValueError("labels and predictions must be finite: drop rows with NaN first")
    if metric == "mae":
        return np.asarray(np.abs(y - p), dtype=float)
    if metric in ("mse", "rmse"):
        return np.asarray(np.square(y - p), dtype=float)
    if np.any((y != 0.0) & (y != 1.0)):
        raise ValueError(f"{metric} needs labels 0 or 1")
    if np.any((p < 0.0) | (p > 1.0)):
        raise ValueError(f"{metric} needs probabilities in [0, 1]")
    if metric == "brier":
        return np.asarray(np.square(p - y), dtype=float)
    clipped = np.clip(p, LOGLOSS_CLIP, 1.0 - LOGLOSS_CLIP)
    return np.asarray(-(y * np.log(clipped) + (1.0 - y) * np.log1p(-clipped)), dtype=float)


def metric_value(metric: str, losses: npt.ArrayLike) -> float:
    """The metric itself from its per-row losses: the mean, or its square root for rmse."""
    if metric not in ROW_MEAN_METRICS:
        raise ValueError(f"{metric!r} is not a mean over rows")
    import numpy as np

    values = np.asarray(losses, dtype=float)
    if values.size == 0:
        return math.nan
    mean = float(values.mean())
    return math.sqrt(mean) if metric == "rmse" else mean
