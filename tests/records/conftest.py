"""Fixtures for model cards, plans, notes, ADRs, `why` and `effects`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from core.foundation.workspace import Workspace

WINDOWS = [("2015-01-01", "2015-03-31"), ("2015-04-08", "2015-06-30"),
           ("2015-07-08", "2015-09-30"), ("2015-10-08", "2015-12-31")]  # fmt: skip


@pytest.fixture
def ws(workspace: Path) -> Workspace:
    return Workspace(workspace)


def _rows(window: tuple[str, str]) -> list[str]:
    import pandas as pd

    return [d.date().isoformat() for d in pd.date_range(window[0], window[1], freq="D")]


def _truth(metric: str) -> tuple[list[list[float]], Any]:
    """The same labels for every run (one truth, one seed): per fold, one label per day."""
    import numpy as np

    rng = np.random.default_rng(7)
    folds = []
    for window in WINDOWS:
        n = len(_rows(window))
        folds.append(
            (rng.random(n) < 0.4).astype(float).tolist()
            if metric in ("auc", "logloss", "brier")
            else rng.normal(10.0, 3.0, n).tolist()
        )
    return folds, rng


def _predict(metric: str, y: list[float], quality: float, seed: int) -> list[float]:
    """Predictions whose score on `y` is `quality`: exactly for MAE (every error is
    +-quality), in expectation for AUC (two unit-variance normals sqrt(2) * z(AUC) apart)."""
    import numpy as np
    from scipy.stats import norm

    rng = np.random.default_rng(seed)
    truth = np.asarray(y)
    if metric == "auc":
        shift = np.sqrt(2.0) * norm.ppf(min(max(quality, 1e-6), 1 - 1e-6))
        return (rng.normal(0.0, 1.0, truth.size) + shift * truth).tolist()
    signs = rng.choice([-1.0, 1.0], truth.size)
    return (truth + signs * quality).tolist()


def _score(metric: str, y: list[float], prediction: list[float]) -> float:
    import numpy as np

    from core.stats.auc import auc

    if metric == "auc":
        return float(auc(np.asarray(y), np.asarray(prediction)))
    return float(np.mean(np.abs(np.asarray(y) - np.asarray(prediction))))


def write_report(
    ws: Workspace,
    run_id: str,
    *,
    model: str = "rain",
    fold_values: list[float],
    features: str = "weather_v1",
    hparams: str = "h1",
    created_at: str = "2026-01-01T00:00:00Z",
    hparam_values: dict[str, Any] | None = None,
    plan_id: str | None = None,
    metric: str = "auc",
    direction: str = "maximize",
) -> dict[str, Any]:
    """A version-2 report in the shape `core.experiments` writes, for card tests that need no
    training: four folds with test windows, one row per day with the same labels in every
    run, out-of-fold predictions built so that each fold scores about `fold_values` (exactly,
    for MAE), and the per-fold metrics computed from them."""
    import zlib

    truth, _ = _truth(metric)
    predictions: dict[str, list[Any]] = {"fold": [], "row": [], "time": [], "y": [],
                                         "prediction": []}  # fmt: skip
    folds = []
    for i, (window, quality) in enumerate(zip(WINDOWS, fold_values, strict=True)):
        days = _rows(window)
        guess = _predict(metric, truth[i], quality, zlib.crc32(f"{run_id}:{i}".encode()))
        value = _score(metric, truth[i], guess)
        folds.append(
            {
                "fold": i,
                "train": {"start": "2012-01-01", "end": window[0], "rows": 500, "dates": 500},
                "test": {"start": window[0], "end": window[1], "rows": len(days),
                         "dates": len(days)},
                "gap_days": 7,
                "metrics": {metric: value},
            }
        )  # fmt: skip
        predictions["fold"] += [i] * len(days)
        predictions["row"] += list(
            range(len(predictions["row"]), len(predictions["row"]) + len(days))
        )
        predictions["time"] += [f"{d}T00:00:00" for d in days]
        predictions["y"] += truth[i]
        predictions["prediction"] += guess
    values = [f["metrics"][metric] for f in folds]
    mean = sum(values) / len(values)
    std = (sum((v - mean) ** 2 for v in values) / max(len(values) - 1, 1)) ** 0.5
    aggregate = {"mean": mean, "std": std, "min": min(values), "max": max(values), "n": 4,
                 "of": 4}  # fmt: skip
    report = {
        "schema": "factory.report/2",
        "run_id": run_id,
        "model": model,
        "task": "classification" if metric == "auc" else "regression",
        "created_at": created_at,
        "snapshot_id": "ds-test",
        "plan_id": plan_id,
        "components": {
            "features": {"version": features, "hash": "f" * 16},
            "labels": {"version": "rain_tomorrow_v2", "hash": "l" * 16},
            "hparams": {"version": hparams, "hash": "h" * 16},
            "arch": {"version": "catboost_v1", "hash": "a" * 16},
        },
        "validation": {"folds": 4, "gap_days": 7, "test_days": 90},
        "labels": {"version": "rain_tomorrow_v2", "horizon": "1 days 00:00:00"},
        "primary_metric": {"name": metric, "direction": direction, **aggregate},
        "metrics": {"directions": {metric: direction}, "aggregate": {metric: aggregate}},
        "folds": folds,
        "predictions": {**predictions, "entity": {}, "baselines": {}},
        "component_changed": [],
        "reproducibility": {"seed": 42, "python": "3.11.0"},
    }
    if hparam_values is not None:
        report["hparams"] = hparam_values
    ws.reports_dir.mkdir(parents=True, exist_ok=True)
    (ws.reports_dir / f"{run_id}.json").write_text(json.dumps(report), encoding="utf-8")
    return report


@pytest.fixture
def report_writer(ws: Workspace) -> Callable[..., dict[str, Any]]:
    def write(run_id: str, **kwargs: Any) -> dict[str, Any]:
        return write_report(ws, run_id, **kwargs)

    return write
