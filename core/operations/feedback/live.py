"""`factory live MODEL`: how each run does on real traffic, beside what its backtest promised.

Per run and tier (the tier the prediction was served from; `dev` for a batch scored with
`--tier dev`): predictions logged, how many have an outcome (labelled n and label coverage),
the realised primary metric on them with a 95% interval (`core.stats.live.metric_interval`),
and beside it the walk-forward range of the run's folds (min, mean, max) and its naive
baselines' fold means, from its report. For a classifier, the predictions still without an
outcome get a confidence-based estimate (CBPE: `core.stats.live.expected_classification`),
given with its assumptions and a calibration check on the labelled rows (an estimate on
miscalibrated predictions is biased, and says so); for regression they are "labels pending".

`feedback join` and `check degrading` leave a summary in `logs/feedback/<model>/live.json`
for `factory status` (plain json, no pandas); `factory live` itself only reads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from core.foundation import clock
from core.foundation.atomic import write_json
from core.foundation.workspace import Workspace
from core.operations.common import read_json
from core.operations.feedback.inference_log import predictions
from core.operations.feedback.outcomes import read_outcomes

LIVE_SCHEMA = "factory.live/1"


@dataclass(frozen=True)
class LiveRun:
    run_id: str
    tier: str
    modes: list[str]
    """How its predictions were served: batch, online, shadow."""
    logged: int
    labelled: int
    coverage: float | None
    """labelled / logged."""
    metric: str
    direction: str
    value: float | None
    """The realised primary metric on the labelled predictions."""
    interval: list[float | None]
    loss_metric: str | None
    mean_loss: float | None
    backtest: dict[str, Any]
    """`{min, mean, max, folds}` of the primary metric over the run's walk-forward folds."""
    baselines: dict[str, float | None]
    """Naive baseline -> its mean primary metric over the same folds."""
    position: str
    """Where the live value lies: below_range, within_range, above_range (in the metric's
    own order, `below` = worse), or unknown."""
    pending: int
    """Predictions without an outcome yet."""
    estimate: dict[str, Any] | None = None
    """Classifiers: CBPE estimate for the pending predictions, with its assumptions."""
    first_time: str | None = None
    last_time: str | None = None
    """Time range of the labelled predictions' rows."""
    enough: bool = False
    """At least `[feedback] min_labelled` labelled predictions."""

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class LiveResult:
    model: str
    task: str
    runs: list[LiveRun]
    as_of: str
    min_labelled: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "task": self.task,
            "runs": [r.to_dict() for r in self.runs],
            "as_of": self.as_of,
            "min_labelled": self.min_labelled,
            "notes": self.notes,
        }


def summary_path(ws: Workspace, model: str, name: str) -> Any:
    return ws.logs_dir / "feedback" / model / f"{name}.json"


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def backtest_of(
    report: dict[str, Any], metric: str
) -> tuple[dict[str, Any], dict[str, float | None]]:
    """(`{min, mean, max, folds}` of `metric` over the folds, baseline -> fold mean)."""
    values = [
        v
        for f in report.get("folds") or []
        if (v := _finite((f.get("metrics") or {}).get(metric))) is not None
    ]
    backtest: dict[str, Any] = {
        "min": min(values) if values else None,
        "mean": sum(values) / len(values) if values else None,
        "max": max(values) if values else None,
        "folds": len(values),
    }
    baselines: dict[str, float | None] = {}
    aggregate = (report.get("baselines") or {}).get("aggregate") or {}
    for name, metrics in aggregate.items():
        baselines[str(name)] = _finite(((metrics or {}).get(metric) or {}).get("mean"))
    return backtest, baselines


def position_of(value: float | None, backtest: dict[str, Any], direction: str) -> str:
    low, high = backtest.get("min"), backtest.get("max")
    if value is None or low is None or high is None:
        return "unknown"
    if value < low:
        return "below_range" if direction == "maximize" else "above_range"
    if value > high:
        return "above_range" if direction == "maximize" else "below_range"
    return "within_range"


def live(ws: Workspace, model: str, *, record: bool = False) -> LiveResult:
    """See the module docstring; `record` writes the status summary."""
    import numpy as np

    from core.components.registry import get_component, load_module
    from core.stats.live import (
        ASSUMPTIONS,
        calibration_gap,
        expected_classification,
        metric_interval,
    )

    config = ws.model(model)
    min_labelled = ws.config.feedback.min_labelled
    logged: dict[tuple[str, str], dict[str, Any]] = {}
    for line in predictions(ws, model):
        if line.get("status") != "ok" or not line.get("run_id"):
            continue
        key = (str(line["run_id"]), str(line.get("tier") or "dev"))
        entry = logged.setdefault(key, {"requests": {}, "modes": set()})
        entry["modes"].add(str(line.get("mode") or "batch"))
        scored = line.get("prediction")
        entry["requests"][str(line.get("request_id"))] = (
            float(scored) if isinstance(scored, (int, float)) else math.nan
        )
    joined: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for outcome in read_outcomes(ws, model):
        key = (str(outcome.get("run_id")), str(outcome.get("tier") or "dev"))
        joined.setdefault(key, {})[str(outcome.get("request_id"))] = outcome
    runs: list[LiveRun] = []
    for key in sorted(set(logged) | set(joined)):
        run_id, tier = key
        report = read_json(ws.reports_dir / f"{run_id}.json")
        report = report if isinstance(report, dict) else {}
        primary = report.get("primary_metric") or {}
        metric = str(primary.get("name") or config.primary_metric)
        direction = str(primary.get("direction") or config.direction)
        version = ((report.get("components") or {}).get("metrics") or {}).get("version")
        requests = logged.get(key, {}).get("requests", {})
        outcomes = joined.get(key, {})
        y = np.array([float(o["label"]) for o in outcomes.values()], dtype=float)
        p = np.array([float(o["prediction"]) for o in outcomes.values()], dtype=float)
        losses = [loss for o in outcomes.values() if (loss := _finite(o.get("loss"))) is not None]
        value: float | None = None
        interval: list[float | None] = [None, None]
        if len(y):
            module = load_module(get_component(ws, "metrics", str(version or config.metrics)))
            value = _finite(module.compute(y, p).get(metric))
            try:
                low, high = metric_interval(metric, y, p)
            except ValueError:
                low, high = None, None
            interval = [low, high]
        backtest, baselines = backtest_of(report, metric)
        pending = [v for r, v in requests.items() if r not in outcomes]
        estimate: dict[str, Any] | None = None
        if config.task == "classification" and pending:
            values = np.array([v for v in pending if math.isfinite(v)], dtype=float)
            expected = expected_classification(values)
            check = calibration_gap(y, p) if len(y) >= 2 else None
            estimate = {
                "method": "CBPE (confidence-based performance estimation)",
                "n": int(values.size),
                "expected": expected,
                "value": expected.get(metric),
                "assumptions": list(ASSUMPTIONS),
                "calibration": check,
                "reliable": bool(check and check.get("calibrated")),
                "note": (
                    "the labelled predictions look calibrated: the estimate stands on its assumptions"
                    if check and check.get("calibrated")
                    else "the labelled predictions are not calibrated (or too few to tell): the "
                    "estimate is biased by that gap"
                ),
            }
        elif pending:
            estimate = {"method": "none", "n": len(pending), "note": "labels pending"}
        times = sorted(str(o.get("time")) for o in outcomes.values())
        runs.append(
            LiveRun(
                run_id=run_id,
                tier=tier,
                modes=sorted(logged.get(key, {}).get("modes", set())),
                logged=len(requests),
                labelled=len(outcomes),
                coverage=(len(outcomes) / len(requests)) if requests else None,
                metric=metric,
                direction=direction,
                value=value,
                interval=interval,
                loss_metric=next(iter(outcomes.values())).get("loss_metric") if outcomes else None,
                mean_loss=float(np.mean(losses)) if losses else None,
                backtest=backtest,
                baselines=baselines,
                position=position_of(value, backtest, direction),
                pending=len(pending),
                estimate=estimate,
                first_time=times[0] if times else None,
                last_time=times[-1] if times else None,
                enough=len(outcomes) >= min_labelled,
            )
        )
    notes = [] if runs else [f"no logged prediction of {model} yet (factory predict / serve)"]
    result = LiveResult(model, config.task, runs, clock.iso(), min_labelled, notes)
    if record:
        write_json(summary_path(ws, model, "live"), {"schema": LIVE_SCHEMA, **brief(result)})
    return result


def brief(result: LiveResult) -> dict[str, Any]:
    """What `status` shows of live performance (the summary `feedback join` records)."""
    return {
        "model": result.model,
        "as_of": result.as_of,
        "runs": [
            {
                "run_id": r.run_id,
                "tier": r.tier,
                "logged": r.logged,
                "labelled": r.labelled,
                "coverage": r.coverage,
                "metric": r.metric,
                "value": r.value,
                "interval": r.interval,
                "backtest": [r.backtest.get("min"), r.backtest.get("max")],
                "position": r.position,
                "estimate": (r.estimate or {}).get("value"),
            }
            for r in result.runs
        ],
    }
