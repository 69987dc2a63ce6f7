"""Reading run reports defensively: the few fields `why`, `effects`, cards and expectations
need, from a report of any version or a hand-edited one ("unknown" instead of a crash).
"""

from __future__ import annotations

import math
from typing import Any, TypeGuard

from core.foundation.workspace import Workspace


def load_report(ws: Workspace, run_id: str) -> dict[str, Any] | None:
    """The full report of `run_id`, or None when there is none."""
    from core.experiments import index
    from core.foundation.errors import FactoryError

    try:
        report = index.load_report(ws, run_id)
    except FactoryError:  # a missing or unreadable report is "unknown" here
        return None
    return report if isinstance(report, dict) else None


def _from_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """A run-index summary in the shape of a report, for the fields insights read."""
    return {
        "run_id": summary.get("run_id"),
        "model": summary.get("model"),
        "created_at": summary.get("created_at"),
        "snapshot_id": summary.get("snapshot_id"),
        "plan_id": summary.get("plan_id"),
        "components": summary.get("components") or {},
        "primary_metric": summary.get("primary") or {},
        "metrics": {
            "aggregate": {k: {"mean": v} for k, v in (summary.get("metrics") or {}).items()}
        },
        "folds": [
            {"test": {"start": f.get("test_start"), "end": f.get("test_end")}, **f}
            for f in summary.get("folds") or []
        ],
        "hparams": summary.get("params") or {},
        "seed": summary.get("seed"),
    }


def model_reports(ws: Workspace, model: str | None = None) -> list[dict[str, Any]]:
    """Every run (of `model`) with the fields insights need, oldest first by creation time,
    with the index's `cohort` and `leaky` beside them.

    The index's slim summaries hold no per-fold scores, so each run's report is read (whole:
    comparisons need its out-of-fold predictions)."""
    from core.experiments import index

    reports: list[dict[str, Any]] = []
    for summary in index.read_summaries(ws):
        if model is not None and summary.get("model") != model:
            continue
        found = (
            _from_summary(summary)
            if summary.get("folds")
            else load_report(ws, str(summary.get("run_id")))
        )
        if found is not None:
            reports.append(
                {**found, "cohort": summary.get("cohort"), "leaky": bool(summary.get("leaky"))}
            )
    reports.sort(key=lambda r: (str(r.get("created_at") or ""), str(r.get("run_id"))))
    return reports


def component_versions(report: dict[str, Any]) -> dict[str, str]:
    """kind -> version, whether the report stores `{version, hash}` or a bare version."""
    found: dict[str, str] = {}
    for kind, value in (report.get("components") or {}).items():
        if isinstance(value, dict):
            version = value.get("version")
            if version is not None:
                found[str(kind)] = str(version)
        elif value is not None:
            found[str(kind)] = str(value)
    return found


def primary(report: dict[str, Any]) -> dict[str, Any]:
    """`{name, direction, mean, std}` of the report's primary metric (values may be None)."""
    value = report.get("primary_metric")
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        return {"name": value, "direction": report.get("direction"), **_aggregate(report, value)}
    return {"name": None, "direction": None, "mean": None, "std": None}


def _aggregate(report: dict[str, Any], metric: str) -> dict[str, Any]:
    metrics = report.get("metrics") or {}
    for holder in (metrics.get("aggregate"), metrics.get("summary"), metrics):
        if isinstance(holder, dict) and isinstance(holder.get(metric), dict):
            entry = holder[metric]
            return {"mean": entry.get("mean"), "std": entry.get("std")}
    return {"mean": None, "std": None}


def metric_mean(report: dict[str, Any], metric: str) -> float | None:
    """Mean over folds of any metric the report holds."""
    info = primary(report)
    if info.get("name") == metric and _finite(info.get("mean")):
        return float(info["mean"])
    mean = _aggregate(report, metric).get("mean")
    if _finite(mean):
        return float(mean)
    values = [v for _, v in fold_scores(report, metric)]
    return sum(values) / len(values) if values else None


def _finite(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _window(fold: dict[str, Any], index: int) -> str:
    """A fold's test window as a comparable key (start..end), or its index when unknown."""
    test = fold.get("test")
    if isinstance(test, dict):
        start, end = test.get("start"), test.get("end")
    elif isinstance(test, (list, tuple)) and len(test) == 2:
        start, end = test
    else:
        start = fold.get("test_start")
        end = fold.get("test_end")
    if start is None and end is None:
        return f"fold-{index}"
    return f"{start}..{end}"


def fold_scores(report: dict[str, Any], metric: str) -> list[tuple[str, float]]:
    """(test window, value) of `metric` for every fold that has it."""
    scores: list[tuple[str, float]] = []
    folds = report.get("folds") or []
    for index, fold in enumerate(folds):
        if not isinstance(fold, dict):
            continue
        metrics = fold.get("metrics") or {}
        value = metrics.get(metric) if isinstance(metrics, dict) else None
        if isinstance(value, dict):
            value = value.get("value")
        if _finite(value):
            scores.append((_window(fold, index), float(value)))
    return scores


def hparam_values(ws: Workspace, report: dict[str, Any]) -> dict[str, Any] | None:
    """The hyperparameter values a run used: from the report when it records them, else from
    the hparams component file of that version (None when neither is known)."""
    for key in ("hparams", "params", "hyperparameters"):
        value = report.get(key)
        if isinstance(value, dict) and value and "version" not in value:
            return {str(k): v for k, v in value.items()}
    version = component_versions(report).get("hparams")
    if version is None:
        return None
    try:
        from core.components.registry import get_component, load_toml

        return dict(load_toml(get_component(ws, "hparams", version)))
    except Exception:  # an unknown version means unknown values
        return None
