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


def operations_section(ws: Workspace, model: str) -> tuple[dict[str, Any], list[str]]:
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
            "drifted": last_drift.get("drifted_count"),
            "columns": last_drift.get("column_count"),
            "current": (last_drift.get("current") or {}).get("id"),
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
) -> list[str]:
    out: list[str] = []
    for alert in open_alerts[:1]:
        out.append(f"factory alerts ack {alert.alert_id}")
    staging_gate = last_gates.get("staging") or {}
    if staging_gate.get("passed") and staging_gate.get("run_id") not in (
        tiers.get("staging"),
        tiers.get("prod"),
    ):
        out.append(f"factory promote {staging_gate['run_id']} --to staging")
    prod_gate = last_gates.get("prod") or {}
    if tiers.get("staging") and not (
        prod_gate.get("passed") and prod_gate.get("run_id") == tiers.get("staging")
    ):
        out.append(f"factory gate {tiers['staging']} --to prod")
    elif prod_gate.get("passed") and prod_gate.get("run_id") == tiers.get("staging"):
        out.append(f"factory promote {tiers['staging']} --to prod")
    best = _best_run(ws, model)
    if (
        best
        and best not in (tiers.get("staging"), tiers.get("prod"))
        and staging_gate.get("run_id") != best
    ):
        out.append(f"factory gate {best} --to staging")
    champion = tiers.get("prod") or tiers.get("staging")
    if champion and drift_state.get("drift_id") is None:
        out.append(f"factory drift {model} --reference {champion} --last 90d")
    return out


def _best_run(ws: Workspace, model: str) -> str | None:
    from core.experiments.index import best_run

    best = best_run(ws, model)
    return best.run_id if best else None
