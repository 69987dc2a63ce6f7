"""Has a run passed a rollout? The one question retirement asks of rollouts.

A run may replace an incumbent only after it was rolled out (shadow, canary or A/B) and the
rollout ended `passed` or `promoted`. The rollouts package answers that itself when it offers
`passed_rollout(ws, run_id, model)`; until then this reads its verdict files
(`reports/rollout-<id>.json`, schema `factory.rollout-verdict/1`, written by
`core.operations.rollouts.store.write_verdict`), which name the model, the challenger run and
how the rollout ended (`decision`: promoted, passed, aborted, cancelled; `passed`).
"""

from __future__ import annotations

import json
from typing import Any

from core.foundation.workspace import Workspace

PASSED = ("passed", "promoted")
"""How a rollout ends when its challenger may replace the stable run."""


def passed_rollout(ws: Workspace, run_id: str, model: str) -> dict[str, Any] | None:
    """The newest rollout verdict in which `run_id` (a run of `model`) was the challenger
    and the rollout passed or promoted it: `{rollout_id, status, ended_at, mode}`, or None."""
    from core.operations import rollouts

    answer = getattr(rollouts, "passed_rollout", None)
    if callable(answer):
        found = answer(ws, run_id, model)
        if found is None:
            return None
        if isinstance(found, dict):
            return found
        return {"rollout_id": str(found), "status": "passed"}
    return _from_verdicts(ws, run_id, model)


def _from_verdicts(ws: Workspace, run_id: str, model: str) -> dict[str, Any] | None:
    folder = ws.reports_dir
    if not folder.is_dir():
        return None
    best: dict[str, Any] | None = None
    for path in folder.glob("rollout-*.json"):
        try:
            raw = json.loads(path.read_bytes())
        except (OSError, ValueError):
            continue
        if not isinstance(raw, dict) or not str(raw.get("schema", "")).startswith(
            "factory.rollout-verdict/"
        ):
            continue
        spec = raw["spec"] if isinstance(raw.get("spec"), dict) else {}
        challenger = raw.get("challenger") or spec.get("challenger")
        owner = raw.get("model") or spec.get("model")
        status = raw.get("decision") or raw.get("status") or raw.get("outcome")
        if raw.get("passed") is True and status not in PASSED:
            status = "passed"
        if challenger != run_id or owner != model or status not in PASSED:
            continue
        found = {
            "rollout_id": raw.get("rollout_id") or path.stem,
            "status": status,
            "ended_at": raw.get("ended_at") or raw.get("finished_at"),
            "mode": raw.get("mode") or spec.get("mode"),
        }
        if best is None or str(found["ended_at"] or "") > str(best["ended_at"] or ""):
            best = found
    return best


def running_rollout_runs(ws: Workspace) -> dict[str, str]:
    """run id -> rollout id, for every run taking part in a rollout that still routes
    traffic (its stable and challenger runs)."""
    folder = ws.logs_dir / "rollouts"
    found: dict[str, str] = {}
    if not folder.is_dir():
        return found
    for state_path in folder.glob("*/rollout-*/state.json"):
        try:
            state = json.loads(state_path.read_bytes())
            spec = json.loads((state_path.parent / "spec.json").read_bytes())
        except (OSError, ValueError):
            continue
        if not isinstance(state, dict) or not isinstance(spec, dict):
            continue
        if state.get("status") in ("running", "paused", "aborting", "promoting"):
            for key in ("stable", "challenger"):
                if spec.get(key):
                    found[str(spec[key])] = state_path.parent.name
    return found


def rollout_files(ws: Workspace, run_id: str) -> list[tuple[str, Any]]:
    """(workspace-relative path, Path) of every rollout file naming `run_id`: spec, state,
    analyses of each rollout it took part in, and their verdicts in reports/."""
    from pathlib import Path

    out: list[tuple[str, Path]] = []
    folder = ws.logs_dir / "rollouts"
    ids: set[str] = set()
    if folder.is_dir():
        for spec_path in sorted(folder.glob("*/rollout-*/spec.json")):
            try:
                spec = json.loads(spec_path.read_bytes())
            except (OSError, ValueError):
                continue
            if isinstance(spec, dict) and run_id in (spec.get("stable"), spec.get("challenger")):
                ids.add(spec_path.parent.name)
                for child in sorted(spec_path.parent.iterdir()):
                    if child.is_file() and not child.name.startswith("."):
                        out.append((child.relative_to(ws.root).as_posix(), child))
    if ws.reports_dir.is_dir():
        for path in sorted(ws.reports_dir.glob("rollout-*.json")):
            if path.stem in ids:
                out.append((path.relative_to(ws.root).as_posix(), path))
                continue
            try:
                raw = json.loads(path.read_bytes())
            except (OSError, ValueError):
                continue
            if not isinstance(raw, dict):
                continue
            spec = raw["spec"] if isinstance(raw.get("spec"), dict) else {}
            named = (
                raw.get("stable"),
                raw.get("challenger"),
                spec.get("stable"),
                spec.get("challenger"),
            )
            if run_id in named:
                out.append((path.relative_to(ws.root).as_posix(), path))
    return out
