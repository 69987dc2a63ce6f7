"""How a model's `status` reads for a person: one wording for every face (the dashboard's
Overview, `factory status --md` and the Rich status view's notes), so they never say the
same state two ways. Each value inside is worded by `core.render.text`."""

from __future__ import annotations

from typing import Any

from core.render.text import NOTHING, number, percent, value, when


def run_brief(run: dict[str, Any]) -> str:
    """`r-bae63f9bddec  auc 0.7154 ± 0.0404  features weather_v2 · hparams t2  2026-11-26 19:34`"""
    comps = run.get("components") or {}
    shown = " · ".join(f"{k} {comps[k]}" for k in ("features", "hparams") if k in comps)
    baseline = run.get("baseline") or {}
    skill = (
        f"  skill {number(baseline.get('skill'), 3)} over {baseline['best']} "
        f"({baseline.get('verdict') or 'no verdict'})"
        if baseline.get("best")
        else ""
    )
    primary = run.get("primary_metric") or {}
    return (
        f"{run['run_id']}  {primary.get('name') or ''} {number(primary.get('mean'))}"
        f" ± {number(primary.get('std'))}{skill}  {shown}  {when(run.get('created_at'))}"
    )


def status_field(key: str, field: Any) -> str:
    """A model's status section said briefly (several lines for lists); `-` when it holds
    nothing; unknown fields fall back to `k=v`."""
    if field is None or field == [] or field == {}:
        return NOTHING
    if key in ("best_run", "last_run") and isinstance(field, dict):
        return run_brief(field)
    if key in ("running", "interrupted") and isinstance(field, list):
        return ", ".join(f"{m['run_id']} since {when(m.get('started_at'))}" for m in field)
    if key == "open_plans" and isinstance(field, list):
        return "\n".join(
            f"{p['plan_id']}  {p.get('intent', '')}"
            + (f"  (expect {p['expect']})" if p.get("expect") else "")
            for p in field
        )
    if key == "next_ideas" and isinstance(field, list):
        return "\n".join(f"{i['idea']}  (from {i.get('run_id') or NOTHING})" for i in field)
    if key == "tiers" and isinstance(field, dict):
        return _tiers(field)
    if key == "gates" and isinstance(field, dict):
        return (
            "\n".join(
                f"{tier}: {'pass' if gate.get('passed') else 'FAIL'} for {gate.get('run_id')}"
                f"  {gate.get('gate_id')}  {when(gate.get('at'))}"
                + (f"  failed: {', '.join(gate['failed'])}" if gate.get("failed") else "")
                for tier, gate in field.items()
                if isinstance(gate, dict)
            )
            or NOTHING
        )
    if key == "drift" and isinstance(field, dict):
        if not field.get("drift_id"):
            return "not checked yet"
        verdict = "DRIFT" if field.get("drift_detected") else "no drift"
        share = f"{field.get('drifted_count')}/{field.get('column_count')} columns"
        return f"{verdict}  {share}  {field['drift_id']}  {when(field.get('at'))}"
    if key == "leaky_run_count":
        return f"{field} trained on leaky features (never best)" if field else NOTHING
    if key == "open_alerts" and isinstance(field, list):
        return "\n".join(
            f"{a.get('alert_id')}  {a.get('kind', '')}  {a.get('message', '')}" for a in field
        )
    if key == "rollout" and isinstance(field, dict):
        return _rollout(field)
    if key == "live" and isinstance(field, dict):
        return live(field)
    if key == "card" and isinstance(field, dict):
        if field.get("error"):
            return f"BROKEN: {field['error']}"
        entries = field.get("run_count", 0)
        if not field.get("exists"):
            return "not written yet"
        return f"{entries} {'entry' if entries == 1 else 'entries'}"
    return value(field)


def _rollout(rollout: dict[str, Any]) -> str:
    """The newest rollout: what it tries, where it stands, each criterion's verdict, and the
    next step (the dashboard and `status --md` say the same)."""
    status = str(rollout.get("status") or NOTHING)
    head = (
        f"{rollout.get('rollout_id')}  {rollout.get('mode')} {status}  challenger "
        f"{rollout.get('challenger')} against {rollout.get('stable')}"
    )
    if status in ("running", "paused"):
        share = rollout.get("share")
        head += f"  share {number(share)}%" if share is not None else ""
        head += (
            f"  requests {rollout.get('challenger_request_count', 0)}"
            f"/{rollout.get('min_requests') or NOTHING}"
        )
    criteria = [
        f"{c.get('name')} {c.get('verdict') or NOTHING}"
        for c in rollout.get("criteria") or []
        if isinstance(c, dict)
    ]
    lines = [head]
    if criteria:
        lines.append("criteria: " + ", ".join(criteria))
    if status in ("running", "paused") and rollout.get("next_step"):
        lines.append(f"next: {rollout['next_step']}")
    elif rollout.get("reason"):
        lines.append(f"{rollout.get('decision') or status}: {rollout['reason']}")
    return "\n".join(lines)


POSITIONS = {
    "below_range": "below its backtest range",
    "within_range": "within its backtest range",
    "above_range": "above its backtest range",
}


def live(brief: dict[str, Any]) -> str:
    """The serving run on real traffic: realised metric beside its backtest range, labelled
    n, degrading, sunset candidate and why (`status`'s `live`)."""
    run = brief.get("run_id") or NOTHING
    tier = brief.get("tier")
    head = f"{run} ({tier})" if tier else f"{run} (no tier)"
    low, high = [*(brief.get("interval") or []), None, None][:2]
    shown = number(brief.get("value"))
    if low is not None and high is not None:
        shown += f" [{number(low)}, {number(high)}]"
    back = [*(brief.get("backtest") or []), None, None]
    labelled = brief.get("labelled_count") or 0
    coverage = brief.get("coverage")
    lines = [
        f"{head}  {brief.get('metric') or ''} {shown} on {labelled} labelled"
        + (f" ({percent(coverage)} of {brief.get('logged_count')} logged)" if coverage else "")
        + f"  backtest {number(back[0])} to {number(back[1])}: "
        + POSITIONS.get(str(brief.get("position")), "no backtest range to compare")
    ]
    degrading = brief.get("degrading")
    verdict = (
        "not checked"
        if degrading is None
        else f"{degrading} (on {brief.get('degrading_labelled_count')} labelled, "
        f"{when(brief.get('degrading_checked_at'))})"
    )
    candidate = brief.get("sunset_candidate")
    sunset = "not considered" if candidate is None else ("YES" if candidate else "no")
    lines.append(f"degrading: {verdict} · sunset candidate: {sunset}")
    lines.extend(f"sunset: {reason}" for reason in brief.get("sunset_reasons") or [])
    return "\n".join(lines)


def _tiers(tiers: dict[str, Any]) -> str:
    if not any(tiers.get(tier) for tier in ("staging", "prod")):
        return NOTHING
    held = [f"{tier} {tiers.get(tier) or NOTHING}" for tier in ("staging", "prod")]
    previous = tiers.get("previous") or {}
    before = [f"{t} {r}" for t, r in previous.items() if r] if isinstance(previous, dict) else []
    return " · ".join(held) + (f"  (before: {', '.join(before)})" if before else "")


MODEL_CONTRACT = ("name", "dataset", "task", "metric", "direction")


def model_fields(
    model: dict[str, Any],
) -> tuple[list[tuple[str, str]], tuple[str, str] | None]:
    """A model's status sections that hold something, worded, in the JSON's order; and, when
    it has no runs yet, what to say and the command to run. An empty field says nothing at
    80x24, nor to an assistant."""
    skipped: tuple[str, ...] = MODEL_CONTRACT
    # The count says no more than the list of open alerts beside it, unless the list is cut.
    if model.get("open_alert_count") == len(model.get("open_alerts") or []):
        skipped += ("open_alert_count",)
    fields = [
        (k, text)
        for k, v in model.items()
        if k not in skipped and (text := status_field(k, v)) != NOTHING
    ]
    best, last = model.get("best_run") or {}, model.get("last_run") or {}
    if best.get("run_id") and best.get("run_id") == last.get("run_id"):
        fields = [(k, "the best run" if k == "last_run" else t) for k, t in fields]
    if model.get("run_count"):
        return fields, None
    fields = [(k, text) for k, text in fields if k not in ("run_count", "drift", "card")]
    return fields, ("no runs yet", f"factory train {model.get('name')}")
