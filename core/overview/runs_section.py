"""The experiments part of `factory status`: per model the best run, the last experiment,
interrupted runs, the run count, and what to run next. Plain json on the run index only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.experiments import index
from core.experiments.report_json import primary_metric_json
from core.foundation.suggest import Next, factory, high, low
from core.foundation.workspace import Workspace

if TYPE_CHECKING:
    from core.overview.status import RunBrief, StatusBaseline


def _brief(summary: dict[str, Any]) -> RunBrief:
    return {
        "run_id": summary["run_id"],
        "created_at": summary.get("created_at"),
        "components": summary.get("components") or {},
        "primary_metric": primary_metric_json(summary.get("primary")),
        "baseline": _baseline(summary.get("baselines")),
    }


def _baseline(brief: Any) -> StatusBaseline | None:
    if not isinstance(brief, dict):
        return None
    return {
        "best": brief.get("best"),
        "skill": brief.get("skill"),
        "verdict": brief.get("verdict"),
        "improvement": brief.get("improvement"),
        "method": brief.get("method"),
    }


def experiments_section(ws: Workspace, model: str) -> tuple[dict[str, Any], list[Next]]:
    stats = index.model_stats(ws, model)
    best, last = stats.get("best"), stats.get("last")
    markers = index.running_markers(ws, model)
    interrupted = [m for m in markers if m["state"] == "interrupted"]
    running = [m for m in markers if m["state"] == "running"]
    fields = {
        "run_count": stats.get("runs", 0),
        "leaky_run_count": stats.get("leaky", 0),
        "best_run": _brief(best) if best else None,
        "last_run": _brief(last) if last else None,
        "running": [{"run_id": m["run_id"], "started_at": m.get("started_at")} for m in running],
        "interrupted": [
            {"run_id": m["run_id"], "started_at": m.get("started_at"), "pid": m.get("pid")}
            for m in interrupted
        ],
    }
    next_commands: list[Next] = []
    for marker in interrupted:
        comps = (marker.get("inputs") or {}).get("components") or {}
        words = [
            word
            for kind, value in sorted(comps.items())
            if kind in ("features", "labels", "hparams", "arch") and isinstance(value, list)
            for word in (f"--{kind}", str(value[0]))
        ]
        snapshot = (marker.get("inputs") or {}).get("snapshot_id")
        words += ["--snapshot", str(snapshot)] if snapshot else []
        words += ["--plan", str(marker["plan_id"])] if marker.get("plan_id") else []
        next_commands.append(
            high(
                factory("train", model, *words),
                f"run {marker['run_id']} stopped before it finished: the same inputs train "
                "it again from the start",
            )
        )
    if not stats.get("runs"):
        next_commands.append(
            Next(
                factory("train", model),
                f"{model} has no run yet: trains its factory.toml components walk-forward on "
                "the newest snapshot",
            )
        )
    elif best and last and best["run_id"] != last["run_id"]:
        # The incumbent first: `compare A B` says how B does against A.
        next_commands.append(
            Next(
                factory("compare", best["run_id"], last["run_id"]),
                f"is the newest run {last['run_id']} better than the best {best['run_id']}? "
                "a paired test on the same test rows",
            )
        )
    elif last:
        next_commands.append(
            low(
                factory("show", last["run_id"]),
                f"{last['run_id']} is {model}'s newest and best run: its metrics against "
                "the naive baselines",
            )
        )
    return fields, next_commands
