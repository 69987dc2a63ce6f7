"""When the work last moved, and what happened since a moment: the two lines that greet
someone back after three weeks away (`factory status`), from the event log and, where it is
empty or old, the committed memory (`core.overview.memory`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TypedDict

from core.foundation import clock
from core.foundation.workspace import Workspace


class LastActivityData(TypedDict):
    """`LastActivity.to_dict()`."""

    ts: str
    event: str
    text: str
    source: str
    days_ago: float


class SinceData(TypedDict):
    """`Since.to_dict()`."""

    since: str
    events: int
    counts: dict[str, int]
    runs: list[str]
    tier_changes: list[str]


@dataclass(frozen=True)
class LastActivity:
    ts: str
    event: str
    text: str
    """The history line for it (`history`'s wording)."""
    source: str
    """`events` or `memory`."""
    days_ago: float

    def to_dict(self) -> LastActivityData:
        return LastActivityData(
            ts=self.ts,
            event=self.event,
            text=self.text,
            source=self.source,
            days_ago=self.days_ago,
        )


@dataclass(frozen=True)
class Since:
    """What happened from `since` on: counts per kind, and the runs and tier changes."""

    since: str
    events: int
    counts: dict[str, int] = field(default_factory=dict)
    """Event name -> how many (read-only commands left out)."""
    runs: list[str] = field(default_factory=list)
    tier_changes: list[str] = field(default_factory=list)
    """`model tier <- run (action)` lines."""

    def to_dict(self) -> SinceData:
        return SinceData(
            since=self.since,
            events=self.events,
            counts=dict(self.counts),
            runs=list(self.runs),
            tier_changes=list(self.tier_changes),
        )


def _newest_event(ws: Workspace) -> dict[str, Any] | None:
    from core.foundation.events import event_sources, read_events
    from core.foundation.log_archive import log_dates

    for day in reversed(log_dates(ws, "events", ws.events_dir)):
        records = [
            r
            for r in read_events(event_sources(ws, day, day))
            if isinstance(r.get("ts"), str)
            and not (r.get("event") == "command" and (r.get("data") or {}).get("mutating") is False)
        ]
        if records:
            return max(records, key=lambda r: str(r["ts"]))
    return None


def _newest_memory(ws: Workspace) -> list[dict[str, Any]]:
    """The newest record of each cheap source `status` reads anyway: each model's last run
    (the index's manifest), the gate and drift verdicts, the cards' newest ideas."""
    from core.experiments.index import model_stats
    from core.overview.memory import record_of
    from core.overview.operations_section import verdict_files
    from core.records.summary import card_summary

    found: list[dict[str, Any] | None] = []
    for model in ws.config.models:
        last = model_stats(ws, model).get("last")
        if isinstance(last, dict):
            primary = last.get("primary") or {}
            found.append(
                record_of(
                    last.get("finished_at") or last.get("created_at"), "run.finished",
                    run_id=last.get("run_id"), model=model,
                    primary={"name": primary.get("name"), "mean": primary.get("mean")},
                )
            )  # fmt: skip
        for idea in card_summary(ws, model).next_ideas[:1]:
            found.append(
                record_of(
                    idea.get("created_at"),
                    "note.added",
                    run_id=idea.get("run_id"),
                    model=model,
                    text=idea.get("idea"),
                )
            )
    for kind, event in (("gate", "gate.evaluated"), ("drift", "drift.checked")):
        for raw in verdict_files(ws, kind)[-1:]:
            found.append(
                record_of(
                    raw.get("created_at"),
                    event,
                    run_id=raw.get("run_id"),
                    model=raw.get("model"),
                    tier=raw.get("tier"),
                    passed=raw.get("passed"),
                    drift_id=raw.get("drift_id"),
                )
            )
    return [r for r in found if r is not None]


def last_activity(ws: Workspace) -> LastActivity | None:
    """The newest thing that changed the workspace (a read-only command is not activity),
    from what `status` reads anyway, so it stays fast at 10,000 runs."""
    from core.overview.history import describe

    candidates = _newest_memory(ws)
    newest = _newest_event(ws)
    if newest is not None:
        candidates.append(newest)
    if not candidates:
        return None
    record = max(candidates, key=lambda r: str(r["ts"]))
    days = (clock.now() - clock.parse_iso(str(record["ts"]))).total_seconds() / 86400
    return LastActivity(
        ts=str(record["ts"]),
        event=str(record["event"]),
        text=describe(record),
        source=str(record.get("source") or "events"),
        days_ago=round(days, 1),
    )


def since(ws: Workspace, moment: str) -> Since:
    """What happened from `moment` (ISO) until now."""
    from core.foundation.timeparse import TimeRange
    from core.overview.history import history

    when = clock.parse_iso(moment)
    found = history(ws, TimeRange(when, None), limit=None)
    lines = sorted((line for s in found.sessions for line in s.lines), key=lambda x: x.ts)
    counts = Counter(line.event for line in lines)
    runs = sorted({str(line.fields["run_id"]) for line in lines if line.event == "run.finished"})
    changes = [
        f"{line.fields.get('model')} {line.fields.get('tier')} <- {line.fields.get('run_id')} "
        f"({line.event.split('.', 1)[1]})"
        for line in lines
        if line.event.startswith("tier.") and line.event != "tier.refused"
    ]
    return Since(moment, len(lines), dict(counts.most_common()), runs, changes)
