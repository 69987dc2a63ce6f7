"""Constructed run reports (the JSON shape `RunReport.from_dict` reads) whose comparison has a
known answer: predictions are built from the truth with errors of a chosen size."""

from __future__ import annotations

from typing import Any

import numpy as np

DATES = [f"2024-03-{d:02d}" for d in range(1, 25)]
"""24 dates, two rows (entities) each, in three walk-forward folds of eight dates."""
ENTITIES = ("north", "south")
WINDOWS = [(DATES[i], DATES[i + 7]) for i in (0, 8, 16)]


def truth(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(20.0, 4.0, len(DATES) * len(ENTITIES))


def errors(size: float, seed: int, spread: float = 0.2) -> np.ndarray:
    """Errors of absolute size about `size` with random sign (and some spread)."""
    rng = np.random.default_rng(seed)
    n = len(DATES) * len(ENTITIES)
    return np.where(rng.random(n) < 0.5, -1.0, 1.0) * (size + spread * rng.random(n))


def report(
    run_id: str,
    prediction: Any,
    *,
    y: Any = None,
    metric: str = "mae",
    direction: str = "minimize",
    labels: str | None = "target_v1",
    windows: list[tuple[str, str]] | None = None,
    fold_metrics: list[dict[str, float | None]] | None = None,
    baselines: dict[str, Any] | None = None,
    with_predictions: bool = True,
    horizon: str = "1D",
    dates: list[str] | None = None,
) -> dict[str, Any]:
    """A version-2 report of three folds; fold scores default to the predictions' own MAE."""
    y = truth() if y is None else np.asarray(y, dtype=float)
    prediction = np.asarray(prediction, dtype=float)
    dates = dates or DATES
    time = [d for d in dates for _ in ENTITIES]
    entity = [e for _ in dates for e in ENTITIES]
    fold = [i // 16 for i in range(len(time))]
    windows = windows or WINDOWS
    if fold_metrics is None:
        fold_metrics = []
        for k in range(len(windows)):
            rows = [i for i, f in enumerate(fold) if f == k]
            fold_metrics.append({metric: float(np.mean(np.abs(y[rows] - prediction[rows])))})
    raw: dict[str, Any] = {
        "schema": "factory.report/2",
        "run_id": run_id,
        "model": "demand",
        "task": "regression",
        "snapshot_id": "snap-1",
        "components": {"labels": {"version": labels, "hash": "h"}} if labels else {},
        "labels": {"horizon": horizon},
        "primary_metric": {"name": metric, "direction": direction},
        "metrics": {"directions": {metric: direction}, "aggregate": {}},
        "folds": [
            {"fold": k, "test": {"start": start, "end": end}, "metrics": fold_metrics[k]}
            for k, (start, end) in enumerate(windows)
        ],
    }
    if with_predictions:
        raw["predictions"] = {
            "fold": fold,
            "row": list(range(len(time))),
            "time": [f"{t}T00:00:00" for t in time],
            "entity": {"site": entity},
            "y": [float(v) for v in y],
            "prediction": [float(v) for v in prediction],
            "baselines": {k: [float(v) for v in p] for k, p in (baselines or {}).items()},
        }
    return raw
