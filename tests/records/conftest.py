"""Fixtures for model cards, plans, notes, ADRs, `why` and `effects`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from core.workspace import Workspace

WINDOWS = [("2015-01-01", "2015-03-31"), ("2015-04-08", "2015-06-30"),
           ("2015-07-08", "2015-09-30"), ("2015-10-08", "2015-12-31")]  # fmt: skip


@pytest.fixture
def ws(workspace: Path) -> Workspace:
    return Workspace(workspace)


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
    """A report in the shape `core.experiments` writes, for card tests that need no
    training: folds with test windows and per-fold metrics, aggregate, components."""
    mean = sum(fold_values) / len(fold_values)
    std = (sum((v - mean) ** 2 for v in fold_values) / max(len(fold_values) - 1, 1)) ** 0.5
    report = {
        "run_id": run_id,
        "model": model,
        "created_at": created_at,
        "snapshot_id": "ds-test",
        "plan_id": plan_id,
        "components": {
            "features": {"version": features, "hash": "f" * 16},
            "labels": {"version": "rain_tomorrow_v1", "hash": "l" * 16},
            "hparams": {"version": hparams, "hash": "h" * 16},
            "arch": {"version": "catboost_v1", "hash": "a" * 16},
        },
        "primary_metric": {"name": metric, "direction": direction, "mean": mean, "std": std},
        "metrics": {"aggregate": {metric: {"mean": mean, "std": std}}},
        "folds": [
            {"index": i, "test": {"start": s, "end": e}, "metrics": {metric: v}}
            for i, ((s, e), v) in enumerate(zip(WINDOWS, fold_values, strict=True))
        ],
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
