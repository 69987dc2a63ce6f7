"""`factory check degrading MODEL`: is the serving run's live loss worse than its backtest?

The run checked is the model's prod run (else staging, else `--run`). Its joined outcomes
(`logs/outcomes/`), in the order of their rows' time and batched by date (rows of one date
share a cause), feed a one-sample confidence sequence (`core.stats.sequential.MeanSequence`,
the same mixture SPRT the rollouts decide with): the live per-row loss of the metric its
outcomes carry (the primary metric when it is a row mean, else logloss for auc) against the
mean per-row loss of the run's own walk-forward test rows (its report's out-of-fold
predictions; the fold means of that metric when the report has none). The backtest's
per-row standard deviation floors the variance, so a quiet start raises no alarm. Because
the sequence holds at every look at once, checking again each time labels arrive keeps the
error rate at `[feedback] alpha`.

Verdicts: `degrading` (the live mean loss lies credibly above the backtest's, by more than
`[feedback] degrading_min_effect`), `not_degrading` (enough labelled predictions, and no
such evidence) and `insufficient` (fewer than `[feedback] min_labelled`: never "fine").
`degrading` exits 1, raises the `degrading` alert once per run and window (windows are
`[feedback] lookback_days` long, counted from 1970-01-01 on the newest labelled row's time:
checking again within a window raises nothing new, a degradation that lasts into the next
window is raised again) and, when that alert is new, runs `[retrain] command` with the
alert as JSON on stdin (a failure only warns). The retrained run still has to pass the gate
and a rollout to reach prod. Each check is recorded in `reports/degrading-<id>.json`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.foundation import clock
from core.foundation.atomic import write_json
from core.foundation.errors import FactoryError
from core.foundation.events import emit
from core.foundation.ids import hash_inputs
from core.foundation.workspace import Workspace
from core.operations.common import load_run
from core.operations.feedback.outcomes import loss_metric, read_outcomes, row_loss

if TYPE_CHECKING:
    from core.stats.sequential import SequentialState

DEGRADING_SCHEMA = "factory.check.degrading/1"
VERDICT_SCHEMA = "factory.degrading-verdict/1"


@dataclass(frozen=True)
class DegradingResult:
    model: str
    run_id: str
    tier: str | None
    """The tier the run holds (None for a `--run` that holds none)."""
    verdict: str
    """degrading, not_degrading or insufficient."""
    degrading: bool
    loss_metric: str | None
    labelled: int
    """Labelled predictions of the run the sequence stands on."""
    min_labelled: int
    live_mean_loss: float | None
    backtest_mean_loss: float | None
    backtest_sd: float | None
    backtest_source: str
    """oof (per-row losses of the walk-forward test rows) or folds (fold means only)."""
    estimate: float | None
    """live mean loss - backtest mean loss."""
    interval: list[float | None]
    """Confidence sequence for that difference, valid at every look."""
    p_value: float | None
    alpha: float
    min_effect: float
    looks: int
    detected_after: int | None
    """Labelled predictions when the sequence first said worse (None: it never did)."""
    detected_at: str | None
    """Row date of that look."""
    window: str | None
    """The alert window (`YYYY-MM-DD/YYYY-MM-DD`) of the newest labelled row."""
    reason: str
    verdict_file: str | None = None
    alert_id: str | None = None
    alert_new: bool = False
    retrain: dict[str, Any] | None = None
    """`{command, ran, problem}` when `[retrain] command` is set and the alert is new."""
    sequence: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _serving_run(ws: Workspace, model: str) -> tuple[str, str]:
    from core.operations.tier_state import read_tiers

    tiers = read_tiers(ws, model)
    for tier in ("prod", "staging"):
        if tiers.get(tier):
            return str(tiers[tier]), tier
    raise FactoryError(
        "no_run",
        f"Nothing serves {model}: no run in prod or staging to check for degradation",
        hint="Name a run with --run, or promote one (`factory promote RUN --to staging`).",
        details={"model": model},
    )


def backtest_losses(
    ws: Workspace, report: dict[str, Any], model: str
) -> tuple[str | None, float | None, float | None, str]:
    """(loss metric, mean per-row loss, its per-row sd, source) of a run's backtest."""
    import numpy as np

    from core.components.registry import get_component, load_module

    config = ws.model(model)
    version = ((report.get("components") or {}).get("metrics") or {}).get("version")
    module = load_module(get_component(ws, "metrics", str(version or config.metrics)))
    primary = str((report.get("primary_metric") or {}).get("name") or config.primary_metric)
    metric = loss_metric(module, primary)
    if metric is None:
        return None, None, None, "none"
    oof = report.get("predictions") or {}
    y, p = oof.get("y") or [], oof.get("prediction") or []
    if y and len(y) == len(p):
        losses = row_loss(module, metric, np.asarray(y, dtype=float), np.asarray(p, dtype=float))
        losses = losses[np.isfinite(losses)]
        if losses.size >= 2:
            return metric, float(losses.mean()), float(losses.std(ddof=1)), "oof"
    values = [
        float(v)
        for f in report.get("folds") or []
        if isinstance(v := (f.get("metrics") or {}).get(metric), (int, float)) and math.isfinite(v)
    ]
    if values:
        return metric, sum(values) / len(values), None, "folds"
    return metric, None, None, "none"


def run_sequence(
    rows: list[tuple[str, float]],
    reference: float,
    sd: float | None,
    *,
    alpha: float,
    min_n: int,
    min_effect: float = 0.0,
) -> tuple[SequentialState, int | None, str | None]:
    """The decision rule: `rows` (row time, per-row loss), oldest first, one look per row
    date, against the backtest's mean loss `reference` (its per-row sd floors the variance).
    Returns (the sequence's state after the last look, labelled predictions at the first look
    that said worse, that look's date)."""
    import numpy as np

    from core.stats.sequential import MeanSequence

    sequence = MeanSequence(
        reference,
        alpha=alpha,
        min_n=min_n,
        direction="minimize",
        min_effect=min_effect,
        reference_sd=sd,
    )
    current = sequence.state()
    by_date: dict[str, list[float]] = {}
    for time, loss in rows:
        by_date.setdefault(time[:10], []).append(loss)
    seen = 0
    detected_after: int | None = None
    detected_at: str | None = None
    for day in sorted(by_date):
        values = by_date[day]
        seen += len(values)
        current = sequence.update(np.asarray(values, dtype=float))
        if current.verdict == "worse" and detected_after is None:
            detected_after, detected_at = seen, day
    return current, detected_after, detected_at


def window_of(time: str, days: int) -> str:
    """The `days`-long window (counted from 1970-01-01) holding `time`: `start/end` dates."""
    from datetime import date, timedelta

    day = date.fromisoformat(str(time)[:10])
    epoch = date(1970, 1, 1)
    start = epoch + timedelta(days=((day - epoch).days // days) * days)
    return f"{start.isoformat()}/{(start + timedelta(days=days - 1)).isoformat()}"


def check_degrading(ws: Workspace, model: str, run_id: str | None = None) -> DegradingResult:
    """See the module docstring. `run_id` is a resolved run id (default: the serving run)."""
    import numpy as np

    from core.operations.tier_state import read_tiers

    config = ws.model(model)
    feedback = ws.config.feedback
    tier: str | None
    if run_id is None:
        run_id, tier = _serving_run(ws, model)
    else:
        tiers = read_tiers(ws, model)
        tier = next((t for t in ("prod", "staging") if tiers.get(t) == run_id), None)
    report = load_run(ws, run_id)
    if report.get("model") != model:
        raise FactoryError(
            "model_mismatch",
            f"Run {run_id} is of model {report.get('model')!r}, not {model!r}",
        )
    metric, reference, sd, source = backtest_losses(ws, report, model)
    rows: list[tuple[str, float]] = []
    last_join = None
    for outcome in read_outcomes(ws, model):
        if outcome.get("run_id") != run_id:
            continue
        loss = outcome.get("loss")
        if isinstance(loss, (int, float)) and math.isfinite(loss) and outcome.get("time"):
            rows.append((str(outcome["time"]), float(loss)))
            last_join = outcome.get("join_id")
    rows.sort(key=lambda r: r[0])
    notes: list[str] = []
    alpha, min_n, min_effect = feedback.alpha, feedback.min_labelled, feedback.degrading_min_effect
    state: dict[str, Any] = {}
    detected_after: int | None = None
    detected_at: str | None = None
    live_mean = float(np.mean([r[1] for r in rows])) if rows else None
    looks = 0
    if reference is None:
        notes.append(f"{run_id}'s report has no backtest loss to compare with")
        verdict, reason = "insufficient", f"no backtest {metric or 'loss'} for {run_id}"
        low = high = estimate = p_value = None
    else:
        current, detected_after, detected_at = run_sequence(
            rows, reference, sd, alpha=alpha, min_n=min_n, min_effect=min_effect
        )
        state = current.to_dict()
        looks = current.looks
        low, high, estimate, p_value = current.low, current.high, current.estimate, current.p_value
        if len(rows) < min_n:
            verdict = "insufficient"
            reason = (
                f"{len(rows)} labelled predictions of {run_id}, fewer than the {min_n} a "
                "verdict needs (`factory feedback join` once newer data arrives)"
            )
        elif current.verdict == "worse":
            verdict = "degrading"
            reason = (
                f"live mean {metric} {live_mean:.4g} on {len(rows)} labelled predictions is "
                f"above the backtest's {reference:.4g} (difference {estimate:.4g}, always-valid "
                f"interval [{low:.4g}, {high:.4g}], alpha {alpha})"
            )
        else:
            verdict = "not_degrading"
            reason = (
                f"live mean {metric} {live_mean:.4g} on {len(rows)} labelled predictions is not "
                f"credibly above the backtest's {reference:.4g} (interval for the difference "
                f"[{_fmt(low)}, {_fmt(high)}], alpha {alpha})"
            )
    window = window_of(rows[-1][0], feedback.lookback_days) if rows else None
    inputs = {"run": run_id, "n": len(rows), "join": last_join, "reference": reference}
    check_id = "degrading-" + hash_inputs(inputs)
    ts = clock.iso()
    result = DegradingResult(
        model=model,
        run_id=run_id,
        tier=tier,
        verdict=verdict,
        degrading=verdict == "degrading",
        loss_metric=metric,
        labelled=len(rows),
        min_labelled=min_n,
        live_mean_loss=live_mean,
        backtest_mean_loss=reference,
        backtest_sd=sd,
        backtest_source=source,
        estimate=_finite(estimate),
        interval=[_finite(low), _finite(high)],
        p_value=_finite(p_value),
        alpha=alpha,
        min_effect=min_effect,
        looks=looks,
        detected_after=detected_after if verdict == "degrading" else None,
        detected_at=detected_at if verdict == "degrading" else None,
        window=window,
        reason=reason,
        verdict_file=f"reports/{check_id}.json",
        sequence=state,
        notes=notes,
    )
    alert_id, alert_new, retrain = None, False, None
    if result.degrading:
        alert_id, alert_new, retrain = _raise(ws, result, config.task)
    result = DegradingResult(
        **{**result.to_dict(), "alert_id": alert_id, "alert_new": alert_new, "retrain": retrain}
    )
    write_json(
        ws.reports_dir / f"{check_id}.json",
        {"schema": VERDICT_SCHEMA, "check_id": check_id, "checked_at": ts, **result.to_dict()},
    )
    from core.operations.feedback.live import summary_path

    write_json(
        summary_path(ws, model, "degrading"),
        {
            "schema": DEGRADING_SCHEMA,
            "model": model,
            "run_id": run_id,
            "verdict": verdict,
            "labelled": len(rows),
            "checked_at": ts,
            "alert_id": alert_id,
        },
    )
    emit(
        ws.events_dir,
        "feedback.degrading_checked",
        model=model,
        run_id=run_id,
        verdict=verdict,
        labelled=len(rows),
        alert_id=alert_id,
    )
    return result


def _raise(
    ws: Workspace, result: DegradingResult, task: str
) -> tuple[str, bool, dict[str, Any] | None]:
    from core.operations.alerts import raise_alert, run_command

    alert, new = raise_alert(
        ws,
        "degrading",
        f"{result.run_id}@{result.window}",
        f"{result.run_id} ({result.model}) is degrading: {result.reason}",
        model=result.model,
        details={
            "run_id": result.run_id,
            "tier": result.tier,
            "window": result.window,
            "labelled": result.labelled,
            "live_mean_loss": result.live_mean_loss,
            "backtest_mean_loss": result.backtest_mean_loss,
            "loss_metric": result.loss_metric,
            "task": task,
        },
    )
    retrain: dict[str, Any] | None = None
    command = ws.config.retrain.command
    if new and command:
        payload = json.dumps({"schema": "factory.alert/1", **alert.to_dict()}, default=str)
        problem = run_command(
            ws,
            command,
            payload,
            what="retrain command",
            after="the degradation is still recorded and alerted",
            event="retrain.failed",
            timeout_s=ws.config.retrain.timeout_s,
            model=result.model,
            run_id=result.run_id,
            alert_id=alert.alert_id,
        )
        retrain = {"command": command, "ran": True, "problem": problem}
        if problem is None:
            emit(
                ws.events_dir,
                "retrain.ran",
                model=result.model,
                run_id=result.run_id,
                alert_id=alert.alert_id,
                command=command,
            )
    return alert.alert_id, new, retrain


def _finite(value: Any) -> float | None:
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


def _fmt(value: float | None) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.4g}"


def latest_verdicts(ws: Workspace, model: str) -> dict[str, dict[str, Any]]:
    """run id -> its newest degrading verdict (plain json), for sunset candidates."""
    found: dict[str, dict[str, Any]] = {}
    if not ws.reports_dir.is_dir():
        return found
    for path in ws.reports_dir.glob("degrading-*.json"):
        try:
            raw = json.loads(path.read_bytes())
        except (OSError, ValueError):
            continue
        if not isinstance(raw, dict) or raw.get("model") != model:
            continue
        run_id = str(raw.get("run_id"))
        if str(raw.get("checked_at") or "") >= str(found.get(run_id, {}).get("checked_at") or ""):
            found[run_id] = raw
    return found
