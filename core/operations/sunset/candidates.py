"""`factory sunset candidates [MODEL]`: which runs should leave service, each with its numbers.

The runs considered are a model's runs that have not retired and that serve or served: they
hold a tier, or they logged predictions. Four rules, each a check with value, threshold and
pass / fail / n/a (thresholds in `[sunset]`); a run is a candidate when any check fails:

- `below_worst_fold`: the realised primary metric over the trailing
  `below_worst_fold_days` days of its labelled predictions is worse than its worst
  walk-forward fold, and its labelled predictions reach back at least that far (the time
  condition) with at least `min_labelled` of them in the window;
- `beaten_by_champion`: on requests both it and the prod run scored (a shadow), with at
  least `min_labelled` of them labelled, the prod run's per-row loss is better (Diebold-
  Mariano on the row losses, grouped by row date, `core.stats.decide.compare_losses`); the
  prod run itself is never beaten by itself;
- `idle`: no prediction logged for `idle_days` days (for a run holding a tier that never
  predicted, counted from when it finished training);
- `degrading_no_help`: its newest `check degrading` says degrading, and the model's newest
  `check new-data` for it says new data does not help: retraining alone will not fix it.

Read only: it decides nothing, `sunset retire` acts.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core.foundation import clock
from core.foundation.errors import FactoryError
from core.foundation.workspace import Workspace
from core.operations.common import read_json

CANDIDATES_SCHEMA = "factory.sunset.candidates/1"
RULES = ("below_worst_fold", "beaten_by_champion", "idle", "degrading_no_help")


@dataclass(frozen=True)
class Check:
    rule: str
    status: str
    """fail (the rule makes it a candidate), pass, or n/a (not enough to tell)."""
    value: Any
    threshold: Any
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class Candidate:
    run_id: str
    model: str
    tiers: list[str]
    candidate: bool
    reasons: list[str]
    """The rules that failed."""
    checks: list[Check]

    def to_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["checks"] = [c.to_dict() for c in self.checks]
        return out


@dataclass(frozen=True)
class CandidatesResult:
    models: list[str]
    runs: list[Candidate]
    candidates: list[str]
    """Run ids that are candidates."""
    thresholds: dict[str, Any]
    as_of: str
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["runs"] = [r.to_dict() for r in self.runs]
        return out


def _parse(ts: Any) -> datetime | None:
    if not isinstance(ts, str) or not ts:
        return None
    try:
        found = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return None
    return found.replace(tzinfo=None)


def _tiers(ws: Workspace, model: str) -> dict[str, Any]:
    from core.operations.tier_state import read_tiers

    try:
        return read_tiers(ws, model)
    except FactoryError:
        return {}


def _worse(value: float, bound: float, direction: str) -> bool:
    return value < bound if direction == "maximize" else value > bound


def _below_worst_fold(
    ws: Workspace, model: str, run_id: str, outcomes: list[dict[str, Any]]
) -> Check:
    import numpy as np

    from core.components.registry import get_component, load_module
    from core.operations.feedback.live import backtest_of

    days = ws.config.sunset.below_worst_fold_days
    need = ws.config.sunset.min_labelled
    config = ws.model(model)
    report = read_json(ws.reports_dir / f"{run_id}.json")
    report = report if isinstance(report, dict) else {}
    primary = report.get("primary_metric") or {}
    metric = str(primary.get("name") or config.primary_metric)
    direction = str(primary.get("direction") or config.direction)
    backtest, _ = backtest_of(report, metric)
    worst = backtest.get("min") if direction == "maximize" else backtest.get("max")
    rule = "below_worst_fold"
    timed = [(t, o) for o in outcomes if (t := _parse(o.get("time"))) is not None]
    if worst is None or not timed:
        return Check(rule, "n/a", None, worst, f"no labelled predictions of {run_id} yet")
    newest = max(t for t, _ in timed)
    start = newest - timedelta(days=days)
    oldest = min(t for t, _ in timed)
    window = [o for t, o in timed if t > start]
    if oldest > start:
        span = (newest - oldest).days
        return Check(
            rule, "n/a", None, worst,
            f"labelled predictions span {span} days, fewer than the {days} the rule needs",
        )  # fmt: skip
    if len(window) < need:
        return Check(
            rule, "n/a", None, worst,
            f"{len(window)} labelled predictions in the last {days} days, fewer than {need}",
        )  # fmt: skip
    version = ((report.get("components") or {}).get("metrics") or {}).get("version")
    module = load_module(get_component(ws, "metrics", str(version or config.metrics)))
    y = np.array([float(o["label"]) for o in window], dtype=float)
    p = np.array([float(o["prediction"]) for o in window], dtype=float)
    raw = module.compute(y, p).get(metric)
    value = float(raw) if isinstance(raw, (int, float)) and math.isfinite(raw) else None
    if value is None:
        return Check(rule, "n/a", None, worst, f"{metric} cannot be computed on the window")
    bad = _worse(value, float(worst), direction)
    return Check(
        rule,
        "fail" if bad else "pass",
        value,
        worst,
        f"live {metric} {value:.4g} over the last {days} days ({len(window)} labelled) is "
        + ("worse than" if bad else "no worse than")
        + f" the worst walk-forward fold {float(worst):.4g}",
    )


def _beaten(
    ws: Workspace, model: str, run_id: str, champion: str | None, by_run: dict[str, Any]
) -> Check:
    import numpy as np

    from core.stats.decide import compare_losses

    rule = "beaten_by_champion"
    if champion is None or champion == run_id:
        why = "nothing serves prod" if champion is None else "it is the champion"
        return Check(rule, "n/a", None, None, why)
    mine = {str(o.get("request_id")): o for o in by_run.get(run_id, [])}
    theirs = {str(o.get("request_id")): o for o in by_run.get(champion, [])}
    shared = sorted(set(mine) & set(theirs))
    need = ws.config.sunset.min_labelled
    if len(shared) < need:
        return Check(
            rule, "n/a", len(shared), need,
            f"{len(shared)} labelled requests shared with {champion}, fewer than {need}",
        )  # fmt: skip
    metric = mine[shared[0]].get("loss_metric") or theirs[shared[0]].get("loss_metric")
    if not metric:
        return Check(rule, "n/a", len(shared), need, "the outcomes carry no per-row loss")
    y = np.array([float(mine[r]["label"]) for r in shared], dtype=float)
    a = np.array([float(mine[r]["prediction"]) for r in shared], dtype=float)
    b = np.array([float(theirs[r]["prediction"]) for r in shared], dtype=float)
    groups = [str(mine[r].get("time"))[:10] for r in shared]
    try:
        decision = compare_losses(str(metric), "minimize", y, a, b, groups=groups, unit="dates")
    except ValueError as exc:
        return Check(rule, "n/a", len(shared), need, f"no comparison on {metric}: {exc}")
    beaten = decision.verdict == "better"
    return Check(
        rule,
        "fail" if beaten else "pass",
        {
            "shared": len(shared),
            "metric": metric,
            "estimate": decision.estimate,
            "interval": [decision.low, decision.high],
            "verdict": decision.verdict,
        },
        {"min_labelled": need, "alpha": 0.05},
        f"on {len(shared)} shared labelled requests {champion} is {decision.verdict} than "
        f"{run_id}: {decision.reason}",
    )


def _idle(
    ws: Workspace, run_id: str, last_logged: datetime | None, finished: datetime | None
) -> Check:
    days = ws.config.sunset.idle_days
    now = _parse(clock.iso())
    since = last_logged or finished
    if now is None or since is None:
        return Check("idle", "n/a", None, days, "no time to count from")
    idle = (now - since).total_seconds() / 86400.0
    what = (
        "since its last logged prediction"
        if last_logged
        else "since it trained (no prediction yet)"
    )
    return Check(
        "idle",
        "fail" if idle >= days else "pass",
        round(idle, 2),
        days,
        f"{idle:.1f} days {what}; the rule is {days} days",
    )


def _newdata_no_help(ws: Workspace, model: str, run_id: str) -> dict[str, Any] | None:
    newest: dict[str, Any] | None = None
    if not ws.reports_dir.is_dir():
        return None
    for path in ws.reports_dir.glob("newdata-*.json"):
        try:
            raw = json.loads(path.read_bytes())
        except (OSError, ValueError):
            continue
        if not isinstance(raw, dict) or raw.get("model") != model:
            continue
        champion = raw.get("champion")
        if isinstance(champion, dict):
            champion = champion.get("run_id")
        if champion != run_id:
            continue
        when = path.stat().st_mtime  # the verdict carries no time of its own
        if newest is None or when >= float(newest["_when"]):
            newest = {**raw, "_when": when, "_path": path.name}
    return newest


def _degrading_no_help(ws: Workspace, model: str, run_id: str, verdicts: dict[str, Any]) -> Check:
    rule = "degrading_no_help"
    degrading = verdicts.get(run_id)
    if degrading is None:
        return Check(rule, "n/a", None, None, f"no `check degrading` of {run_id} yet")
    if degrading.get("verdict") != "degrading":
        return Check(
            rule, "pass", {"degrading": degrading.get("verdict")}, None,
            f"its newest degrading check says {degrading.get('verdict')}",
        )  # fmt: skip
    newdata = _newdata_no_help(ws, model, run_id)
    value = {"degrading": "degrading", "new_data": newdata.get("verdict") if newdata else None}
    if newdata is None:
        return Check(
            rule, "n/a", value, None,
            f"{run_id} is degrading; no `check new-data` says yet whether new data helps",
        )  # fmt: skip
    if newdata.get("verdict") == "does_not_help":
        return Check(
            rule, "fail", value, None,
            f"{run_id} is degrading and new data alone does not help ({newdata['_path']}): "
            "the features or architecture need work",
        )  # fmt: skip
    return Check(
        rule, "pass", value, None,
        f"{run_id} is degrading, but new data says {newdata.get('verdict')}: retrain first",
    )  # fmt: skip


def sunset_candidates(ws: Workspace, model: str | None = None) -> CandidatesResult:
    """See the module docstring."""
    from core.experiments.index import list_runs
    from core.operations.feedback.degrading import latest_verdicts
    from core.operations.feedback.inference_log import logged_times
    from core.operations.feedback.outcomes import read_outcomes
    from core.operations.sunset.retire import retired_runs

    if model is not None:
        ws.model(model)
    models = [model] if model else sorted(ws.config.models)
    found: list[Candidate] = []
    notes: list[str] = []
    for name in models:
        tiers = _tiers(ws, name)
        held: dict[str, list[str]] = {}
        for tier in ("staging", "prod"):
            if tiers.get(tier):
                held.setdefault(str(tiers[tier]), []).append(tier)
        last_logged: dict[str, datetime] = {}
        for run_id, ts in logged_times(ws, name):
            when = _parse(ts)
            if when is not None and (run_id not in last_logged or when > last_logged[run_id]):
                last_logged[run_id] = when
        by_run: dict[str, list[dict[str, Any]]] = {}
        for outcome in read_outcomes(ws, name):
            by_run.setdefault(str(outcome.get("run_id")), []).append(outcome)
        retired = retired_runs(ws, name)
        verdicts = latest_verdicts(ws, name)
        finished = {r.run_id: _parse(r.finished_at) for r in list_runs(ws, name)}
        considered = sorted((set(held) | set(last_logged)) - set(retired))
        champion = str(tiers["prod"]) if tiers.get("prod") else None
        for run_id in considered:
            checks = [
                _below_worst_fold(ws, name, run_id, by_run.get(run_id, [])),
                _beaten(ws, name, run_id, champion, by_run),
                _idle(ws, run_id, last_logged.get(run_id), finished.get(run_id)),
                _degrading_no_help(ws, name, run_id, verdicts),
            ]
            reasons = [c.rule for c in checks if c.status == "fail"]
            found.append(
                Candidate(run_id, name, held.get(run_id, []), bool(reasons), reasons, checks)
            )
        if not considered:
            notes.append(f"{name}: no run serves or has served (no tier, no logged prediction)")
    sunset = ws.config.sunset
    return CandidatesResult(
        models=models,
        runs=found,
        candidates=[c.run_id for c in found if c.candidate],
        thresholds={
            "below_worst_fold_days": sunset.below_worst_fold_days,
            "idle_days": sunset.idle_days,
            "min_labelled": sunset.min_labelled,
        },
        as_of=clock.iso(),
        notes=notes,
    )
