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
from typing import Any, NotRequired, TypedDict

from core.experiments.report_json import BaselineBrief, PrimaryMetricData
from core.foundation.suggest import Next, factory, high, low, ordered
from core.foundation.workspace import Workspace
from core.overview.activity import LastActivityData, SinceData
from core.overview.live_section import LiveBrief
from core.records.summary import NextIdea, OpenPlan

RECENT_SESSION_DAYS = 14
MAX_RECENT_SESSIONS = 5


class StatusBaseline(BaselineBrief):
    """`BaselineBrief`, plus the paired test's effect and method."""

    improvement: float | None
    """How much better the run is than the baseline on the primary metric (positive: better)."""
    method: str | None
    """The paired test (`diebold-mariano`, `delong-folds`, ...)."""


class RunBrief(TypedDict):
    """A model's best or last run as `status` shows it."""

    run_id: str
    created_at: str | None
    components: dict[str, str]
    """Kind -> version."""
    primary_metric: PrimaryMetricData | None
    baseline: StatusBaseline | None


class RunMarker(TypedDict):
    """A run in progress (`running`) or one whose process died (`interrupted`, with `pid`)."""

    run_id: str
    started_at: str | None
    pid: NotRequired[int | None]


class TierSlots(TypedDict):
    staging: str | None
    """The run id in staging (None when empty)."""
    prod: str | None
    previous: NotRequired[dict[str, str | None]]
    """Tier -> the run it held before (what `rollback` restores)."""


class GateBrief(TypedDict):
    gate_id: str | None
    run_id: str | None
    passed: bool | None
    failed: list[str]
    """Names of the criteria that failed."""
    at: str | None


class DriftBrief(TypedDict):
    drift_id: str | None
    """The newest drift check (None: never checked; the other keys are then absent)."""
    drift_detected: NotRequired[bool | None]
    share: NotRequired[float | None]
    drifted_count: NotRequired[int | None]
    column_count: NotRequired[int | None]
    current_id: NotRequired[str | None]
    """What was compared with the reference: a snapshot or run id."""
    at: NotRequired[str | None]


class AlertBrief(TypedDict):
    alert_id: str
    kind: str
    message: str


class CardState(TypedDict):
    exists: bool
    run_count: int
    """Runs the model had when the card was last written."""
    error: str | None
    """Why the card could not be read, else None."""


@dataclass(frozen=True)
class DatasetStatus:
    name: str
    source: str
    schema: str | None
    snapshot_count: int
    latest_snapshot_id: str | None
    latest_rows: int | None
    latest_time_range: list[str] | None


@dataclass(frozen=True)
class SessionSummary:
    session_id: str
    started: str
    ended: str
    event_count: int
    commands: list[str]
    """Distinct workspace-changing commands, in order of first use."""
    kind: str = "work"
    """`named` (FACTORY_SESSION) or `work` (commands clustered by time, adrs/0006)."""


@dataclass(frozen=True)
class ModelStatus:
    name: str
    dataset: str
    task: str
    metric: str
    """The model's primary metric (factory.toml)."""
    direction: str
    """`maximize` or `minimize`."""
    run_count: int = 0
    leaky_run_count: int = 0
    """Runs trained on features that failed the leak check (never best)."""
    best_run: RunBrief | None = None
    """The best run of the cohort the workspace points at: id, metric, baseline skill."""
    last_run: RunBrief | None = None
    running: list[RunMarker] = field(default_factory=list)
    interrupted: list[RunMarker] = field(default_factory=list)
    tiers: TierSlots = field(default_factory=lambda: TierSlots(staging=None, prod=None))
    """`{staging, prod, previous: {staging, prod}}`, from the card."""
    gates: dict[str, GateBrief] = field(default_factory=dict)
    """Tier -> the last gate verdict for it."""
    drift: DriftBrief = field(default_factory=lambda: DriftBrief(drift_id=None))
    open_alerts: list[AlertBrief] = field(default_factory=list)
    open_alert_count: int = 0
    open_plans: list[OpenPlan] = field(default_factory=list)
    next_ideas: list[NextIdea] = field(default_factory=list)
    card: CardState = field(
        default_factory=lambda: CardState(exists=False, run_count=0, error=None)
    )
    rollout: dict[str, Any] | None = None
    """The newest rollout (`core.operations.rollouts.actions.summary`): mode, status,
    share, criteria of its last analysis, next step; None when there never was one."""
    live: LiveBrief | None = None
    """The serving run on real traffic (`core.overview.live_section`): labelled n, realised
    metric beside its backtest range, degrading yes / no / inconclusive, sunset candidate
    and why; None while no outcome of the model is joined."""

    def to_dict(self) -> dict[str, Any]:
        from core.foundation.plain import to_plain

        return {f.name: to_plain(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True)
class StatusResult:
    """`factory status`: where the workspace stands, per dataset and model."""

    workspace: str
    """The workspace root (absolute; every other path is relative to it)."""
    name: str
    datasets: list[DatasetStatus]
    models: list[ModelStatus]
    recent_sessions: list[SessionSummary]
    next: list[Next] = field(metadata={"json": False})
    """What to run now, most urgent first (the envelope's `next`, not part of `data`)."""
    last_activity: LastActivityData | None = None
    """The newest change to the workspace (event or committed memory), however old."""
    since: SinceData | None = field(default=None, metadata={"required": False})
    """With `--since WHEN` only (the key is absent otherwise): what happened from then on."""

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
    from core.overview.live_section import live_section
    from core.overview.operations_section import operations_section
    from core.overview.rollouts_section import rollouts_section
    from core.overview.runs_section import experiments_section

    config = ws.config
    manifests = snapshot_manifests(ws)
    datasets = []
    suggestions: list[Next] = []
    for name, ds in config.datasets.items():
        own = [m for m in manifests if m.get("dataset") == name]
        latest = own[-1] if own else None
        datasets.append(
            DatasetStatus(
                name=name,
                source=ds.source,
                schema=ds.schema,
                snapshot_count=len(own),
                latest_snapshot_id=latest.get("id") if latest else None,
                latest_rows=latest.get("rows") if latest else None,
                latest_time_range=latest.get("time_range") if latest else None,
            )
        )
        if not own:
            suggestions.append(
                high(
                    factory("data", "snapshot", "--dataset", name),
                    f"no snapshot of {name} yet: stores a checked, immutable copy of "
                    f"{ds.source} for runs to train on",
                )
            )
    models = []
    for name, model in config.models.items():
        parts: dict[str, Any] = {}
        sections = (
            experiments_section, operations_section, cards_section, rollouts_section, live_section
        )  # fmt: skip
        for section in sections:
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
                metric=model.primary_metric,
                direction=model.direction,
                **parts,
            )
        )
    suggestions.append(
        low(
            factory("history", "--since", "7d"),
            "what was done in the last 7 days, session by session",
        )
    )
    unique = ordered(suggestions)
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
