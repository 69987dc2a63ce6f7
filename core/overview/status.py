"""`factory status`: where are we, and what should we do next?

Reads small files with plain `json` (no DuckDB, pandas, catboost, evidently or textual):
it is the command an assistant runs first in every session, so it must stay fast. A model's
status is one typed record (`ModelStatus`) filled by three sections, each owning its own
fields: runs (experiments), tiers, gates, drift and alerts (operations), plans and ideas (the
card).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any

from core.foundation.workspace import Workspace

RECENT_SESSION_DAYS = 14
MAX_RECENT_SESSIONS = 5


@dataclass(frozen=True)
class DatasetStatus:
    name: str
    source: str
    schema: str | None
    snapshots: int
    latest_snapshot: str | None
    latest_rows: int | None
    latest_time_range: list[str] | None


@dataclass(frozen=True)
class SessionSummary:
    session_id: str
    started: str
    ended: str
    events: int
    commands: list[str]
    """Distinct workspace-changing commands, in order of first use."""
    kind: str = "work"
    """`named` (FACTORY_SESSION) or `work` (commands clustered by time, adrs/0006)."""


@dataclass(frozen=True)
class ModelStatus:
    name: str
    dataset: str
    task: str
    primary_metric: str
    direction: str
    runs: int = 0
    leaky_runs: int = 0
    """Runs trained on features that failed the leak check (never best)."""
    best_run: dict[str, Any] | None = None
    """The best run of the cohort the workspace points at: id, metric, baseline skill."""
    last_run: dict[str, Any] | None = None
    running: list[dict[str, Any]] = field(default_factory=list)
    interrupted: list[dict[str, Any]] = field(default_factory=list)
    tiers: dict[str, Any] = field(default_factory=dict)
    """`{staging, prod, previous: {staging, prod}}`, from the card."""
    gates: dict[str, Any] = field(default_factory=dict)
    """Tier -> the last gate verdict for it."""
    drift: dict[str, Any] = field(default_factory=dict)
    open_alerts: list[dict[str, Any]] = field(default_factory=list)
    open_alert_count: int = 0
    open_plans: list[dict[str, Any]] = field(default_factory=list)
    next_ideas: list[dict[str, Any]] = field(default_factory=list)
    card: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from core.foundation.plain import to_plain

        return {f.name: to_plain(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True)
class StatusResult:
    workspace: str
    name: str
    datasets: list[DatasetStatus]
    models: list[ModelStatus]
    recent_sessions: list[SessionSummary]
    next: list[str]
    last_activity: dict[str, Any] | None = None
    """The newest change to the workspace (event or committed memory), however old."""
    since: dict[str, Any] | None = None
    """With `--since WHEN`: what happened from then on."""

    def to_dict(self) -> dict[str, Any]:
        from core.foundation.plain import to_plain

        return {
            "workspace": self.workspace,
            "name": self.name,
            "datasets": to_plain(self.datasets),
            "models": [m.to_dict() for m in self.models],
            "recent_sessions": to_plain(self.recent_sessions),
            "last_activity": self.last_activity,
            **({"since": self.since} if self.since is not None else {}),
        }


def snapshot_manifests(ws: Workspace) -> list[dict[str, Any]]:
    """Every snapshot manifest, oldest first by creation time."""
    manifests = []
    folder = ws.snapshots_dir
    if folder.is_dir():
        for path in folder.glob("ds-*/manifest.json"):
            try:
                manifests.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, json.JSONDecodeError):
                continue
    manifests.sort(key=lambda m: (m.get("created_at") or "", m.get("id") or ""))
    return manifests


def recent_sessions(ws: Workspace, days: int = RECENT_SESSION_DAYS) -> list[SessionSummary]:
    """The newest sessions as `factory history` groups them (work sessions, read-only
    commands hidden), reading only the newest partitions needed."""
    from core.overview.history import recent_sessions as newest

    return [
        SessionSummary(s.session_id, s.started, s.ended, s.events, s.commands, s.kind)
        for s in newest(ws, count=MAX_RECENT_SESSIONS, max_days=days)
    ]


def workspace_status(ws: Workspace, since: str | None = None) -> StatusResult:
    """Where are we and what next; with `since` (ISO), also what happened from then on."""
    from core.overview.activity import last_activity
    from core.overview.activity import since as happened_since
    from core.overview.cards_section import cards_section
    from core.overview.operations_section import operations_section
    from core.overview.runs_section import experiments_section

    config = ws.config
    manifests = snapshot_manifests(ws)
    datasets = []
    suggestions: list[str] = []
    for name, ds in config.datasets.items():
        own = [m for m in manifests if m.get("dataset") == name]
        latest = own[-1] if own else None
        datasets.append(
            DatasetStatus(
                name=name,
                source=ds.source,
                schema=ds.schema,
                snapshots=len(own),
                latest_snapshot=latest.get("id") if latest else None,
                latest_rows=latest.get("rows") if latest else None,
                latest_time_range=latest.get("time_range") if latest else None,
            )
        )
        if not own:
            suggestions.append(f"factory data snapshot --dataset {name}")
    models = []
    for name, model in config.models.items():
        parts: dict[str, Any] = {}
        for section in (experiments_section, operations_section, cards_section):
            written, more = section(ws, name)
            clash = set(written) & set(parts)
            if clash:  # each field has one owner
                raise RuntimeError(f"status fields {sorted(clash)} written by two sections")
            parts.update(written)
            suggestions.extend(more)
        models.append(
            ModelStatus(
                name=name,
                dataset=model.dataset,
                task=model.task,
                primary_metric=model.primary_metric,
                direction=model.direction,
                **parts,
            )
        )
    if not config.models:
        suggestions.append("edit factory.toml: add a [models.NAME] table")
    suggestions.append("factory history --since 7d")
    unique = list(dict.fromkeys(suggestions))
    return StatusResult(
        workspace=str(ws.root),
        name=config.name,
        datasets=datasets,
        models=models,
        recent_sessions=recent_sessions(ws),
        next=unique,
        last_activity=moved.to_dict() if (moved := last_activity(ws)) is not None else None,
        since=happened_since(ws, since).to_dict() if since is not None else None,
    )
