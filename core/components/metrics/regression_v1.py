"""Regression: mean absolute error and root mean squared error (both lower is better)."""

from __future__ import annotations

from typing import Any

METRICS = {"mae": "minimize", "rmse": "minimize"}


def compute(y_true: Any, prediction: Any) -> dict[str, float]:
    import numpy as np

    error = np.asarray(prediction, dtype=float) - np.asarray(y_true, dtype=float)
    return {"mae": float(np.mean(np.abs(error))), "rmse": float(np.sqrt(np.mean(error**2)))}
