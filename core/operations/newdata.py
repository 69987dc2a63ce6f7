"""`factory check new-data MODEL --snapshot NEW`: does more data alone help the champion?

The champion (prod, else staging, else the best run) was trained on an older snapshot. Its
recipe (the same components, hyperparameters and seed) is retrained on the newer snapshot's
rows up to `gap_days` before an evaluation window, and both models score that window:
the newest days, which only the new snapshot covers. The window is at most `test_days`
long and at most half of the new days after the gap, so the retrained model always sees
new rows the champion never saw. The window is cut into four blocks for a paired view.

Verdict, from the one statistics module on the window's rows (`core.verdicts.pairs`: the two
models' per-row losses, or DeLong for AUC): `helps` when the retrained model is better by more
than the staging gate's `min_delta` with 95% confidence; `does_not_help` when the whole
interval of its improvement lies at or below `min_delta` (the model is not short of data; its
features or architecture need work); otherwise `inconclusive`, which is also the answer on
fewer than `MIN_WINDOW_ROWS` rows or too few dates for the test. Recorded in
`reports/newdata-<id>.json`, with the id hashed from the inputs. `does_not_help` raises the
`new_data_no_help` alert ("new data alone doesn't help": the features or architecture need
work), once per champion and window (`raise_no_help`); after a degradation-triggered retrain
its message says the champion was found degrading.
"""

from __future__ import annotations

import math
from contextlib import suppress
from dataclasses import dataclass, field, replace
from typing import Any

from core.foundation.atomic import write_json
from core.foundation.errors import FactoryError
from core.foundation.ids import hash_inputs
from core.foundation.workspace import Workspace
from core.operations.common import load_run, model_config, read_json
from core.stats.decide import DecisionData

NEWDATA_SCHEMA = "factory.check.new_data/2"
MIN_WINDOW_DAYS = 7
MIN_WINDOW_ROWS = 30
"""Fewer scored rows than this is never a verdict."""
BLOCKS = 4
"""The window is cut into this many blocks of whole days (at least a week each)."""


@dataclass(frozen=True)
class NewDataResult:
    check_id: str
    model: str
    champion: str
    champion_tier: str
    """prod, staging or best (no tier held)."""
    old_snapshot: str
    new_snapshot: str
    verdict: str
    """helps, does_not_help or inconclusive."""
    reason: str
    metric: str
    direction: str
    window: list[str] | None
    """[first, last] day scored by both models."""
    window_rows: int
    train_end: str | None
    """Last day the retrained model learned from."""
    new_training_rows: int
    """Rows the retrained model saw that the champion did not."""
    champion_score: float | None
    retrained_score: float | None
    improvement: float | None
    """Oriented so that positive means the retrained model is better."""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    wins: int = 0
    next: list[str] = field(default_factory=list)
    report_path: str = ""
    reused: bool = False
    decision: DecisionData | None = None
    """The paired decision on the window's rows (`core.stats.decide`)."""
    alert_id: str | None = None
    """The `new_data_no_help` alert of a `does_not_help` verdict (None otherwise)."""
    alert_new: bool = False
    """Whether this check raised that alert (False: it was raised before, in this window)."""

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _champion(ws: Workspace, model: str) -> tuple[str, str]:
    from core.experiments.index import best_run
    from core.operations.tier_state import read_tiers

    tiers = read_tiers(ws, model)
    for tier in ("prod", "staging"):
        if tiers.get(tier):
            return str(tiers[tier]), tier
    best = best_run(ws, model)
    if best is None:
        raise FactoryError(
            "no_run",
            f"{model} has no run yet: nothing to retrain",
            hint=f"Train one with `factory train {model}`.",
        )
    return best.run_id, "best"


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def check_new_data(ws: Workspace, model: str, new_snapshot: str) -> NewDataResult:
    """See the module docstring."""
    from core.data.snapshots import get_manifest

    config = model_config(ws, model)
    champion_id, champion_tier = _champion(ws, model)
    report = load_run(ws, champion_id)
    old_snapshot = str(report["snapshot_id"])
    manifest = get_manifest(ws, new_snapshot)
    if manifest.get("dataset") != config.dataset:
        raise FactoryError(
            "snapshot_mismatch",
            f"Snapshot {new_snapshot} is of dataset {manifest.get('dataset')!r}; {model} uses {config.dataset!r}",
            hint=f"List snapshots with `factory data list --dataset {config.dataset}`.",
        )
    validation = ws.config.validation
    min_delta = ws.config.gates["staging"].min_delta
    inputs = {
        "model": model,
        "champion": champion_id,
        "new_snapshot": new_snapshot,
        "validation": [validation.gap_days, validation.test_days, validation.seed],
        "min_delta": min_delta,
        "components": {
            k: (v or {}).get("hash") for k, v in (report.get("components") or {}).items()
        },
    }
    check_id = "newdata-" + hash_inputs(inputs)
    path = ws.reports_dir / f"{check_id}.json"
    existing = read_json(path)
    if isinstance(existing, dict) and existing.get("check_id") == check_id:
        names = NewDataResult.__dataclass_fields__
        reused = NewDataResult(
            **{**{k: v for k, v in existing.items() if k in names}, "reused": True}
        )
        # Raised again (a no-op when it exists): a kill between the verdict and its alert
        # must not leave a "doesn't help" that never alerted.
        return replace(reused, **_alert_fields(raise_no_help(ws, reused)))

    primary = report.get("primary_metric") or {}
    metric, direction = str(primary.get("name")), str(primary.get("direction") or config.direction)
    base = {
        "check_id": check_id,
        "model": model,
        "champion": champion_id,
        "champion_tier": champion_tier,
        "old_snapshot": old_snapshot,
        "new_snapshot": new_snapshot,
        "metric": metric,
        "direction": direction,
        "report_path": f"reports/{check_id}.json",
    }
    old_end = str((get_manifest(ws, old_snapshot).get("time_range") or [None, None])[1])
    new_end = str((manifest.get("time_range") or [None, None])[1])
    result = _evaluate(ws, model, report, new_snapshot, old_end, new_end, base, min_delta)
    result = replace(result, **_alert_fields(raise_no_help(ws, result)))
    write_json(path, {"schema": NEWDATA_SCHEMA, **result.to_dict()})
    from core.foundation.events import emit

    emit(
        ws.events_dir,
        "check.new_data",
        run_id=champion_id,
        model=model,
        dataset_id=new_snapshot,
        check_id=check_id,
        verdict=result.verdict,
        improvement=result.improvement,
    )
    return result


def _alert_fields(raised: tuple[str, bool] | None) -> dict[str, Any]:
    if raised is None:
        return {"alert_id": None, "alert_new": False}
    return {"alert_id": raised[0], "alert_new": raised[1]}


def raise_no_help(ws: Workspace, result: NewDataResult) -> tuple[str, bool] | None:
    """The rule: a `does_not_help` verdict raises the `new_data_no_help` alert (through
    `core.operations.alerts`: its file, the `alert.raised` event, `[alerts] command`), once
    per champion and window, like the `degrading` alert: the windows are `[feedback]
    lookback_days` long calendar blocks (`feedback.degrading.window_of`) holding the newest
    day scored, so checking again, or on a slightly newer snapshot in the same window,
    raises nothing new. Any other verdict raises nothing. Returns (alert id, newly raised),
    or None when no alert applies."""
    if result.verdict != "does_not_help":
        return None
    from core.operations.alerts import raise_alert
    from core.operations.feedback.degrading import latest_verdicts, window_of

    window = result.check_id  # no day scored to place it by: one alert per check
    if result.window:
        with suppress(ValueError):
            window = window_of(str(result.window[-1]), ws.config.feedback.lookback_days)
    degrading = latest_verdicts(ws, result.model).get(result.champion) or {}
    after = (
        f" after {result.champion} was found degrading ({degrading.get('check_id')})"
        if degrading.get("verdict") == "degrading"
        else ""
    )
    alert, new = raise_alert(
        ws,
        "new_data_no_help",
        f"{result.champion}@{window}",
        f"{result.model}: new data alone doesn't help{after}: the features or architecture "
        f"need work (retraining {result.champion}'s recipe on {result.new_snapshot}: "
        f"{result.reason})",
        model=result.model,
        details={
            "check_id": result.check_id,
            "run_id": result.champion,
            "tier": result.champion_tier,
            "new_snapshot": result.new_snapshot,
            "window": window,
            "improvement": result.improvement,
            "metric": result.metric,
            "degrading": degrading.get("verdict"),
        },
    )
    return alert.alert_id, new


def _inconclusive(base: dict[str, Any], reason: str, model: str, **more: Any) -> NewDataResult:
    values: dict[str, Any] = {
        "window": None,
        "window_rows": 0,
        "train_end": None,
        "new_training_rows": 0,
        "champion_score": None,
        "retrained_score": None,
        "improvement": None,
    }
    values.update(more)
    return NewDataResult(
        **base,
        **values,
        verdict="inconclusive",
        reason=reason,
        next=["factory data list", f"factory runs {model}"],
    )


def _evaluate(
    ws: Workspace,
    model: str,
    report: dict[str, Any],
    new_snapshot: str,
    old_end: str,
    new_end: str,
    base: dict[str, Any],
    min_delta: float,
) -> NewDataResult:
    import numpy as np
    import pandas as pd

    from core.data.snapshots import load_snapshot
    from core.experiments.training.inputs import resolve_inputs
    from core.experiments.training.matrix import build_matrix, checked_module
    from core.operations.artifacts import load_model
    from core.stats.rows import decide_rows

    validation = ws.config.validation
    old_last = pd.Timestamp(old_end).normalize()
    new_last = pd.Timestamp(new_end).normalize()
    new_days = int((new_last - old_last).days)
    gap = validation.gap_days
    length = min(validation.test_days, (new_days - gap) // 2)
    if length < MIN_WINDOW_DAYS:
        return _inconclusive(
            base,
            f"{new_snapshot} adds {max(new_days, 0)} days after {old_last.date()}; the check needs at least "
            f"{2 * MIN_WINDOW_DAYS + gap} ({MIN_WINDOW_DAYS} to learn from, a {gap}-day gap, "
            f"{MIN_WINDOW_DAYS} to score)",
            model,
        )
    window_start = new_last - pd.Timedelta(days=length - 1)
    train_end = window_start - pd.Timedelta(days=gap + 1)
    components = {k: (v or {}).get("version") for k, v in (report.get("components") or {}).items()}
    inputs = resolve_inputs(
        ws,
        model,
        features=components.get("features"),
        labels=components.get("labels"),
        hparams=components.get("hparams"),
        arch=components.get("arch"),
        snapshot=new_snapshot,
    )
    frame = load_snapshot(ws, new_snapshot)
    frame = frame.sort_values(inputs.time_column, kind="mergesort").reset_index(drop=True)
    modules = {
        k: checked_module(inputs.components[k]) for k in ("features", "labels", "arch", "metrics")
    }
    features, labels, categorical = build_matrix(
        inputs, frame, modules["features"], modules["labels"]
    )
    days = frame[inputs.time_column].dt.normalize()
    labelled = labels.notna().to_numpy()
    in_window = ((days >= window_start) & (days <= new_last)).to_numpy() & labelled
    in_train = (days <= train_end).to_numpy() & labelled
    new_rows = int(((days > old_last) & (days <= train_end)).to_numpy().sum())
    if in_window.sum() < MIN_WINDOW_ROWS:
        return _inconclusive(
            base,
            f"{int(in_window.sum())} labelled rows in the newest window; a verdict needs at "
            f"least {MIN_WINDOW_ROWS}",
            model,
        )

    champion, meta, champion_arch = load_model(ws, report)
    names = list(meta.get("feature_names") or features.columns)
    x_window = features.loc[in_window, names]
    y_window = labels[in_window].to_numpy()
    champion_pred = np.asarray(
        champion_arch.predict(champion, x_window, report.get("task")), dtype=float
    )

    arch = modules["arch"]
    threads = 2
    params = dict(inputs.hparams)
    trees = (report.get("artifact") or {}).get("final_trees")
    if isinstance(trees, int) and trees > 0:
        params["iterations"] = trees  # the champion's own number of trees: one procedure
    challenger = arch.make_model(inputs.model.task, params, inputs.seed, threads)
    x_train = features.loc[in_train, names]
    challenger.fit(x_train, labels[in_train], cat_features=[c for c in categorical if c in names])
    challenger_pred = np.asarray(arch.predict(challenger, x_window, inputs.model.task), dtype=float)

    compute = modules["metrics"].compute
    metric, direction = base["metric"], base["direction"]
    sign = 1.0 if direction == "maximize" else -1.0
    champion_score = _finite(compute(y_window, champion_pred).get(metric))
    retrained_score = _finite(compute(y_window, challenger_pred).get(metric))
    improvement = (
        sign * (retrained_score - champion_score)
        if champion_score is not None and retrained_score is not None
        else None
    )
    window_days = days[in_window].to_numpy()
    block_days = max(MIN_WINDOW_DAYS, length // BLOCKS)
    block_of = (
        (window_days - np.datetime64(window_start)) // np.timedelta64(block_days, "D")
    ).astype(int)
    block_of = np.minimum(block_of, BLOCKS - 1)
    blocks: list[dict[str, Any]] = []
    for block in sorted(set(block_of.tolist())):
        mask = block_of == block
        a = _finite(compute(y_window[mask], champion_pred[mask]).get(metric))
        b = _finite(compute(y_window[mask], challenger_pred[mask]).get(metric))
        delta = sign * (b - a) if a is not None and b is not None else None
        first = window_start + pd.Timedelta(days=block_days * block)
        blocks.append(
            {
                "block": int(block),
                "start": str(first.date()),
                "rows": int(mask.sum()),
                "champion": a,
                "retrained": b,
                "improvement": delta,
            }
        )
    scored = [b for b in blocks if b["improvement"] is not None]
    wins = sum(1 for b in scored if b["improvement"] > 0)
    decision = decide_rows(
        metric,
        direction,
        y_window.astype(float),
        champion_pred,
        challenger_pred,
        np.asarray([str(d)[:10] for d in window_days]),
        block_of,
        1,
        max(min_delta, 0.0),
    )
    if decision is None:
        verdict, reason, decided = (
            "inconclusive",
            f"{metric} has no row-level paired test; this check needs one (mae, rmse, "
            "logloss, brier or auc)",
            None,
        )
    else:
        decided = decision.to_dict()
        enough = decision.n >= decision.min_n
        verdict = new_data_verdict(
            decision.verdict,
            decision.improvement_high if enough else None,
            max(min_delta, 0.0),
        )
        reason = f"{decision.reason}; better in {wins} of {len(scored)} blocks"
        if verdict == "does_not_help":
            reason += ": the model is not short of data; its features or architecture need work"
    next_commands = (
        [f"factory train {model} --snapshot {new_snapshot}"]
        if verdict == "helps"
        else [f"factory effects {model}", "factory components --kind features"]
    )
    return NewDataResult(
        **base,
        verdict=verdict,
        reason=reason,
        window=[str(window_start.date()), str(new_last.date())],
        window_rows=int(in_window.sum()),
        train_end=str(train_end.date()),
        new_training_rows=new_rows,
        champion_score=champion_score,
        retrained_score=retrained_score,
        improvement=improvement,
        blocks=blocks,
        wins=wins,
        next=next_commands,
        decision=decided,
    )


def new_data_verdict(verdict: str, improvement_high: float | None, min_delta: float) -> str:
    """helps on `better`; does_not_help when even the top of the improvement's interval is
    at or below `min_delta` (more data cannot buy what matters); else inconclusive."""
    if verdict == "better":
        return "helps"
    if improvement_high is not None and improvement_high <= min_delta:
        return "does_not_help"
    return "inconclusive"
