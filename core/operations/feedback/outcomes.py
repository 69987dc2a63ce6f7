"""Outcome files: what happened, one line per prediction joined to its label.

    logs/outcomes/date=YYYY-MM-DD/<join_id>.jsonl

Like the inference log (adrs/0015): a file per join, written whole and atomically, its
first line a record (`"kind": "join"`: model, source, snapshot or file, labels version),
then one line per joined prediction with everything a reader needs on the line itself
(`request_id`, `run_id`, `model`, `tier`, `arm`, `rollout_id`, `mode`, `time`, `entity`,
`prediction`, `label`, `loss`, `loss_metric`, `labels`, `source`, `join_id`, `ts`).
A prediction is keyed by (request_id, run_id): a shadow run scores the same request as the
stable run, and each gets its own outcome. Writers take the model's lock, read the keys
already joined and write only new ones, so a rerun adds nothing; a writer killed before its
rename leaves a hidden temporary file that no reader opens.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from core.foundation import clock
from core.foundation.atomic import atomic_path
from core.foundation.faults import crash_point
from core.foundation.workspace import Workspace

if TYPE_CHECKING:
    import numpy as np

OUTCOME_SCHEMA = 1


def outcomes_dir(ws: Workspace) -> Path:
    return ws.logs_dir / "outcomes"


def lock_path(ws: Workspace, model: str) -> Path:
    return ws.state_dir / "locks" / f"outcomes-{model}.lock"


def outcome_files(ws: Workspace) -> list[Path]:
    folder = outcomes_dir(ws)
    if not folder.is_dir():
        return []
    return [p for p in sorted(folder.glob("date=*/*.jsonl")) if not p.name.startswith(".")]


def read_outcomes(ws: Workspace, model: str | None = None) -> Iterator[dict[str, Any]]:
    """Every outcome line (of `model`), oldest file first; a torn last line is skipped."""
    for path in outcome_files(ws):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        for raw in data.splitlines(keepends=True):
            if not raw.endswith(b"\n"):
                break
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(line, dict) or line.get("kind") is not None:
                continue
            if model is None or line.get("model") == model:
                yield line


def joined_keys(ws: Workspace, model: str) -> set[tuple[str, str]]:
    """(request_id, run_id) of every outcome of `model` already recorded."""
    return {(str(o.get("request_id")), str(o.get("run_id"))) for o in read_outcomes(ws, model)}


def losses_by_request(ws: Workspace, model: str) -> dict[tuple[str, str], float]:
    """(request_id, run_id) -> per-row loss of every joined prediction: the hook a
    rollout's quality criterion reads."""
    out: dict[tuple[str, str], float] = {}
    for line in read_outcomes(ws, model):
        loss = line.get("loss")
        if isinstance(loss, (int, float)) and math.isfinite(loss):
            out[(str(line.get("request_id")), str(line.get("run_id")))] = float(loss)
    return out


def write_outcomes(ws: Workspace, record: dict[str, Any], lines: list[dict[str, Any]]) -> Path:
    """Write a join's file (record first) atomically; the caller holds the model's lock."""
    ts = str(record["ts"])
    target = outcomes_dir(ws) / f"date={ts[:10]}" / f"{record['join_id']}.jsonl"
    body = bytearray()
    body += (json.dumps(record, separators=(",", ":"), default=str) + "\n").encode()
    for line in lines:
        body += (
            json.dumps(line, separators=(",", ":"), default=str, allow_nan=False) + "\n"
        ).encode()
    with atomic_path(target) as tmp:
        tmp.write_bytes(bytes(body))
        crash_point("outcomes.before_rename", str(target))
    return target


# ------------------------------------------------------------------ per-row losses


def loss_metric(module: ModuleType, primary: str) -> str | None:
    """The metric whose per-row loss an outcome records: the primary metric when it is a
    mean over rows, else the first such metric of the metrics version (auc -> logloss)."""
    from core.stats.losses import ROW_MEAN_METRICS

    own = getattr(module, "ROW_LOSSES", None) or {}
    metrics = getattr(module, "METRICS", {}) or {}
    if primary in own or primary in ROW_MEAN_METRICS:
        return primary
    for name, direction in metrics.items():
        if direction == "minimize" and (name in own or name in ROW_MEAN_METRICS):
            return str(name)
    return None


def row_loss(module: ModuleType, metric: str, y: Any, prediction: Any) -> np.ndarray:
    """Per-row loss by the metrics version's own `ROW_LOSSES[metric]` when it has one, else
    the standard one (`core.stats.losses`)."""
    import numpy as np

    from core.stats.losses import row_losses

    own = getattr(module, "ROW_LOSSES", None) or {}
    if metric in own:
        return np.asarray(own[metric](y, prediction), dtype=float).reshape(-1)
    values = row_losses(metric, y, prediction)
    if values is None:
        raise ValueError(f"{metric} has no per-row loss")
    return values


def now_iso() -> str:
    return clock.iso()
