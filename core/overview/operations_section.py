"""`factory status` per model: tiers, last gate verdicts, drift state, open alerts, and the
commands that make sense next.

Plain `json` over small files only (no pandas, evidently or DuckDB): the tiers come from the
card's cached summary when the cards module provides one; gate and drift verdicts are found
by name in `reports/` (`gate-*.json`, `drift-*.json`, a few per model).
"""

from __future__ import annotations

import json
import os
from typing import Any

from core.foundation.suggest import Next, factory, high, low
from core.foundation.workspace import Workspace

_VERDICTS: dict[tuple[str, str], tuple[float, list[dict[str, Any]]]] = {}


def verdict_files(ws: Workspace, prefix: str) -> list[dict[str, Any]]:
    """Every `prefix-*.json` report's small fields, cached per folder mtime in this process."""
    folder = ws.reports_dir
    try:
        stamp = folder.stat().st_mtime
    except OSError:
        return []
    key = (str(folder), prefix)
    cached = _VERDICTS.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    found = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if not (entry.name.startswith(prefix + "-") and entry.name.endswith(".json")):
                continue
            try:
                with open(entry.path, "rb") as handle:
                    raw = json.loads(handle.read())
            except (OSError, ValueError):
                continue
            if not isinstance(raw, dict):
                continue
            found.append(
                {
                    k: raw.get(k)
                    for k in (
                        "gate_id", "drift_id", "run_id", "model", "tier", "passed", "created_at",
                        "drift_detected", "share", "drifted_count", "column_count", "current", "reference",
                    )
                    if k in raw
                }
                | ({"failed": raw.get("failed")} if "failed" in raw else {})
            )  # fmt: skip
    found.sort(key=lambda r: str(r.get("created_at") or ""))
    _VERDICTS[key] = (stamp, found)
    return found


def _tiers(ws: Workspace, model: str) -> dict[str, Any]:
    from core.records.summary import card_summary

    tiers = card_summary(ws, model).tiers or {}
    return tiers if isinstance(tiers, dict) else {}


def operations_section(ws: Workspace, model: str) -> tuple[dict[str, Any], list[Next]]:
    tiers = _tiers(ws, model)
    gates = [g for g in verdict_files(ws, "gate") if g.get("model") == model]
    drifts = [d for d in verdict_files(ws, "drift") if d.get("model") == model]
    last_gates: dict[str, Any] = {}
    for verdict in gates:
        last_gates[str(verdict.get("tier"))] = {
            "gate_id": verdict.get("gate_id"),
            "run_id": verdict.get("run_id"),
            "passed": verdict.get("passed"),
            "failed": verdict.get("failed") or [],
            "at": verdict.get("created_at"),
        }
    last_drift = drifts[-1] if drifts else None
    drift_state: dict[str, Any] = (
        {
            "drift_id": last_drift.get("drift_id"),
            "drift_detected": last_drift.get("drift_detected"),
            "share": last_drift.get("share"),
            "drifted_count": last_drift.get("drifted_count"),
            "column_count": last_drift.get("column_count"),
            "current_id": (last_drift.get("current") or {}).get("id"),
            "at": last_drift.get("created_at"),
        }
        if last_drift
        else {"drift_id": None}
    )
    from core.operations.alerts import list_alerts

    open_alerts = list_alerts(ws, model=model).alerts
    fields = {
        "tiers": {
            "staging": tiers.get("staging"),
            "prod": tiers.get("prod"),
            "previous": {
                "staging": (tiers.get("previous") or {}).get("staging"),
                "prod": (tiers.get("previous") or {}).get("prod"),
            },
        },
        "gates": last_gates,
        "drift": drift_state,
        "open_alerts": [
            {"alert_id": a.alert_id, "kind": a.kind, "message": a.message} for a in open_alerts[:5]
        ],
        "open_alert_count": len(open_alerts),
    }
    next_commands = _next(ws, model, tiers, last_gates, drift_state, open_alerts)
    return fields, next_commands


def _next(
    ws: Workspace,
    model: str,
    tiers: dict[str, Any],
    last_gates: dict[str, Any],
    drift_state: dict[str, Any],
    open_alerts: list[Any],
) -> list[Next]:
    """Investigate open alerts first; then promote what a current gate passed, gate what
    could move up, and check drift of the serving run once. Promotion is offered only on a
    passing verdict that still holds (`gates.current_gate`), so `promote` runs as offered."""
    out: list[Next] = []
    for alert in open_alerts[:2]:
        out += alert_steps(alert)
    staging, prod = tiers.get("staging"), tiers.get("prod")
    best = _best_run(ws, model)
    candidates = [(last_gates.get("staging") or {}).get("run_id"), best]
    for run in dict.fromkeys(r for r in candidates if r and r not in (staging, prod)):
        verdict = _current_gate(ws, str(run), "staging", tiers)
        if verdict is not None and verdict.passed:
            out.append(
                high(
                    factory("promote", str(run), "--to", "staging"),
                    f"gate {verdict.gate_id} passed {run} for staging and still holds "
                    "(same incumbent, settings and data): promote it",
                )
            )
        elif verdict is not None and run == best:
            out.append(
                low(
                    factory("show", str(verdict.gate_id)),
                    f"{run}, {model}'s best run, failed its staging gate: which criteria, "
                    "by how much",
                )
            )
        elif verdict is None and run == best:
            holder = staging or prod
            against = f"does it beat {holder}?" if holder else "staging is empty"
            out.append(
                Next(
                    factory("gate", str(run), "--to", "staging"),
                    f"{run} is {model}'s best run and holds no tier: the gate says whether it "
                    f"may move to staging ({against})",
                )
            )
    if staging and staging != prod:
        verdict = _current_gate(ws, str(staging), "prod", tiers)
        if verdict is not None and verdict.passed:
            out.append(
                high(
                    factory("promote", str(staging), "--to", "prod"),
                    f"gate {verdict.gate_id} passed staging's {staging} for prod and still "
                    "holds: promote it",
                )
            )
        elif verdict is None:
            replaced = f"prod's {prod}" if prod else "an empty prod"
            out.append(
                Next(
                    factory("gate", str(staging), "--to", "prod"),
                    f"staging's {staging} has no current prod gate verdict: the gate says "
                    f"whether it may replace {replaced}",
                )
            )
    champion = prod or staging
    if champion and drift_state.get("drift_id") is None:
        out.append(
            Next(
                factory("drift", model, "--reference", str(champion), "--last", "90d"),
                f"no drift check of {model} yet: is the newest 90 days of data still like "
                f"what the serving run {champion} trained on?",
                "low",
            )
        )
    return out


def alert_steps(alert: Any) -> list[Next]:
    """The command that shows what an open alert is about (high: read it before acting on
    it or acknowledging it); none for a kind with nothing more to show."""
    details = alert.details or {}
    about = f"open {alert.kind} alert {alert.alert_id}"
    if alert.kind == "drift" and str(alert.source).startswith("drift-"):
        return [
            high(
                factory("show", str(alert.source)),
                f"{about}: the drift verdict says which columns moved, how far, against "
                "which reference",
            )
        ]
    if alert.kind == "gate_failed" and str(details.get("gate_id") or "").startswith("gate-"):
        return [
            high(
                factory("show", str(details["gate_id"])),
                f"{about}: a promotion was refused; the gate verdict shows which criteria failed",
            )
        ]
    check = str(details.get("check_id") or alert.source)  # older alerts: the check's id
    if alert.kind == "new_data_no_help" and check.startswith("newdata-"):
        return [
            high(
                factory("show", check),
                f"{about}: the check shows the retrained and champion scores on the newest window",
            )
        ]
    if alert.kind == "degrading" and alert.model:
        return [
            high(
                factory("live", str(alert.model)),
                f"{about}: {details.get('run_id') or 'the serving run'}'s live loss is above its "
                "backtest; live shows the realised metric beside the walk-forward range",
            )
        ]
    if alert.kind == "rollback" and alert.model:
        return [
            high(
                factory("tiers", str(alert.model)),
                f"{about}: {details.get('tier') or 'a tier'} was rolled back to "
                f"{details.get('to') or 'its previous champion'}; tiers shows who holds what now",
            )
        ]
    return []


def _current_gate(ws: Workspace, run_id: str, tier: str, tiers: dict[str, Any]) -> Any:
    """The gate verdict for `run_id` and `tier` that still holds today, or None.

    A current verdict is a `gate-*.json` file of this run and tier (its id hashes both), so
    with none on disk the answer is None without hashing the run's inputs: that is the
    gates module, the code hashes and the newest snapshot, which most sittings never need."""
    if not any(
        g.get("run_id") == run_id and g.get("tier") == tier for g in verdict_files(ws, "gate")
    ):
        return None
    from core.foundation.errors import FactoryError
    from core.operations.common import load_run
    from core.operations.gates import current_gate

    try:
        return current_gate(ws, load_run(ws, run_id), tier, tiers)
    except FactoryError:
        return None


def _best_run(ws: Workspace, model: str) -> str | None:
    from core.experiments.index import best_run

    best = best_run(ws, model)
    return best.run_id if best else None
