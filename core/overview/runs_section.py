"""The experiments part of `factory status`: per model the best run, the last experiment,
interrupted runs, the run count, and what to run next. Plain json on the run index only."""

from __future__ import annotations

from typing import Any

from core.experiments import index
from core.foundation.workspace import Workspace


def _brief(summary: dict[str, Any]) -> dict[str, Any]:
    primary = summary.get("primary") or {}
    return {
        "run_id": summary["run_id"],
        "created_at": summary.get("created_at"),
        "components": summary.get("components") or {},
        "metric": primary.get("name"),
        "mean": primary.get("mean"),
        "std": primary.get("std"),
        "baseline": summary.get("baselines"),
    }


def experiments_section(ws: Workspace, model: str) -> tuple[dict[str, Any], list[str]]:
    stats = index.model_stats(ws, model)
    best, last = stats.get("best"), stats.get("last")
    markers = index.running_markers(ws, model)
    interrupted = [m for m in markers if m["state"] == "interrupted"]
    running = [m for m in markers if m["state"] == "running"]
    fields = {
        "runs": stats.get("runs", 0),
        "leaky_runs": stats.get("leaky", 0),
        "best_run": _brief(best) if best else None,
        "last_run": _brief(last) if last else None,
        "running": [{"run_id": m["run_id"], "started_at": m.get("started_at")} for m in running],
        "interrupted": [
            {"run_id": m["run_id"], "started_at": m.get("started_at"), "pid": m.get("pid")}
            for m in interrupted
        ],
    }
    next_commands: list[str] = []
    for marker in interrupted:
        comps = (marker.get("inputs") or {}).get("components") or {}
        flags = " ".join(
            f"--{kind} {value[0]}"
            for kind, value in sorted(comps.items())
            if kind in ("features", "labels", "hparams", "arch") and isinstance(value, list)
        )
        snapshot = (marker.get("inputs") or {}).get("snapshot_id")
        plan = f" --plan {marker['plan_id']}" if marker.get("plan_id") else ""
        extra = f" --snapshot {snapshot}" if snapshot else ""
        next_commands.append(f"factory train {model} {flags}{extra}{plan}".replace("  ", " "))
    if not stats.get("runs"):
        next_commands.append(f"factory train {model}")
    elif best and last and best["run_id"] != last["run_id"]:
        next_commands.append(f"factory compare {best['run_id']} {last['run_id']}")
    elif last:
        next_commands.append(f"factory show {last['run_id']}")
    return fields, next_commands
