"""Where a rollout lives on disk, and reading and writing it.

    logs/rollouts/<model>/current.json                 {"rollout_id": ...}: the newest rollout
    logs/rollouts/<model>/<rollout_id>/spec.json       the spec (its hash is the id)
    logs/rollouts/<model>/<rollout_id>/state.json      status, step, counters, looks
    logs/rollouts/<model>/<rollout_id>/analyses.jsonl  one line per analysis
    reports/<rollout_id>.json                          the verdict, once it ended (committed)

Spec and state are operational files beside the inference log they are analysed from (not
committed, like `logs/`); the verdict is durable memory in `reports/`, like a gate's, and the
card's `rollouts` list and tier history name it. Writes are atomic; analyses are whole
appended lines (a reader keeps the last line per look).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.foundation.atomic import append_line, write_json
from core.foundation.errors import FactoryError
from core.foundation.ids import validate_name
from core.foundation.workspace import Workspace
from core.operations.rollouts.spec import ROLLOUT_ID, RolloutSpec

STATE_SCHEMA = "factory.rollout-state/1"
VERDICT_SCHEMA = "factory.rollout-verdict/1"
ACTIVE = ("running", "paused", "aborting", "promoting")
"""Statuses in which the rollout routes traffic (or is finishing)."""
ENDED = ("promoted", "aborted", "passed", "cancelled")


def model_dir(ws: Workspace, model: str) -> Path:
    return ws.logs_dir / "rollouts" / validate_name(model, "model")


def rollout_dir(ws: Workspace, model: str, rollout_id: str) -> Path:
    if not ROLLOUT_ID.match(rollout_id):
        raise FactoryError(
            "rollout_state_invalid",
            f"{rollout_id!r} is not a rollout id (rollout- and 12 hex digits)",
        )
    return model_dir(ws, model) / rollout_id


def current_path(ws: Workspace, model: str) -> Path:
    return model_dir(ws, model) / "current.json"


def spec_path(ws: Workspace, model: str, rollout_id: str) -> Path:
    return rollout_dir(ws, model, rollout_id) / "spec.json"


def state_path(ws: Workspace, model: str, rollout_id: str) -> Path:
    return rollout_dir(ws, model, rollout_id) / "state.json"


def analyses_path(ws: Workspace, model: str, rollout_id: str) -> Path:
    return rollout_dir(ws, model, rollout_id) / "analyses.jsonl"


def verdict_path(ws: Workspace, rollout_id: str) -> Path:
    return ws.reports_dir / f"{rollout_id}.json"


def lock_path(ws: Workspace, model: str) -> Path:
    return ws.state_dir / "locks" / f"rollout-{validate_name(model, 'model')}.lock"


def _load(path: Path) -> dict[str, Any] | None:
    try:
        raw = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise FactoryError(
            "rollout_state_invalid",
            f"{path} is not readable JSON ({exc})",
            hint="Restore it from a backup or abort the rollout; factory writes it atomically, "
            "so it was edited or damaged by hand.",
            details={"path": str(path)},
        ) from None
    if not isinstance(raw, dict):
        raise FactoryError(
            "rollout_state_invalid",
            f"{path} does not hold a JSON object",
            details={"path": str(path)},
        )
    return raw


def current_id(ws: Workspace, model: str) -> str | None:
    raw = _load(current_path(ws, model))
    rollout_id = raw.get("rollout_id") if raw else None
    return str(rollout_id) if isinstance(rollout_id, str) and ROLLOUT_ID.match(rollout_id) else None


def set_current(ws: Workspace, model: str, rollout_id: str) -> None:
    write_json(current_path(ws, model), {"rollout_id": rollout_id})


def read_spec(ws: Workspace, model: str, rollout_id: str) -> RolloutSpec | None:
    raw = _load(spec_path(ws, model, rollout_id))
    if raw is None:
        return None
    try:
        spec = RolloutSpec.from_dict(raw)
    except (TypeError, ValueError, FactoryError) as exc:
        raise FactoryError(
            "rollout_state_invalid",
            f"{spec_path(ws, model, rollout_id)} is not a rollout spec ({exc})",
            details={"path": str(spec_path(ws, model, rollout_id))},
        ) from None
    if spec.rollout_id != rollout_id:
        raise FactoryError(
            "rollout_state_invalid",
            f"{spec_path(ws, model, rollout_id)} was edited: its content hashes to "
            f"{spec.rollout_id}, not {rollout_id}",
            hint="A spec is never edited in place: abort the rollout and start a new one.",
            details={"path": str(spec_path(ws, model, rollout_id))},
        )
    return spec


def write_spec(ws: Workspace, spec: RolloutSpec) -> None:
    write_json(spec_path(ws, spec.model, spec.rollout_id), spec.to_dict())


def read_state(ws: Workspace, model: str, rollout_id: str) -> dict[str, Any] | None:
    return _load(state_path(ws, model, rollout_id))


def write_state(ws: Workspace, model: str, state: dict[str, Any]) -> None:
    write_json(state_path(ws, model, str(state["rollout_id"])), state)


def append_analysis(ws: Workspace, model: str, rollout_id: str, record: dict[str, Any]) -> None:
    line = json.dumps(record, separators=(",", ":"), default=str, allow_nan=False)
    append_line(analyses_path(ws, model, rollout_id), line)


def read_analyses(ws: Workspace, model: str, rollout_id: str) -> list[dict[str, Any]]:
    """Every analysis in look order (the last line of a look wins: a tick killed after its
    line but before its state may have written a look twice)."""
    path = analyses_path(ws, model, rollout_id)
    by_look: dict[int, dict[str, Any]] = {}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    for line in text.splitlines(keepends=True):
        if not line.endswith("\n"):
            continue  # torn last line
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("look"), int):
            by_look[record["look"]] = record
    return [by_look[k] for k in sorted(by_look)]


def rollout_ids(ws: Workspace, model: str) -> list[str]:
    """Every rollout of the model on disk, oldest first (by start)."""
    folder = model_dir(ws, model)
    if not folder.is_dir():
        return []
    found = []
    for child in folder.iterdir():
        if child.is_dir() and ROLLOUT_ID.match(child.name):
            state = read_state(ws, model, child.name) or {}
            found.append((str(state.get("started_at") or ""), child.name))
    return [rollout_id for _, rollout_id in sorted(found)]


def write_verdict(ws: Workspace, rollout_id: str, verdict: dict[str, Any]) -> Path:
    path = verdict_path(ws, rollout_id)
    write_json(path, {"schema": VERDICT_SCHEMA, **verdict})
    return path
