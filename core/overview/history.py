"""`factory history`: what happened in a time range, grouped into work sessions.

A session is either a named one (`FACTORY_SESSION`, which an assistant sets per
conversation) or a *work session*: per-process events (`p-...` session ids, one per
command a person types) clustered while consecutive events are less than
`WORK_SESSION_GAP` apart (adrs/0006-work-sessions-from-events.md).

Reads only the date partitions the range touches, with plain `json` (measured faster than
DuckDB for this shape at 100,000 events: see bench/foundation.py and the ADR). The event log
is git-ignored, so the committed memory (run reports, cards, verdicts, ADRs:
`core.overview.memory`) fills in what no event tells: a fresh clone still knows what was
tried on which day, with which verdict.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.foundation import clock
from core.foundation.events import ID_KEYS, event_sources, read_events
from core.foundation.timeparse import TimeRange
from core.foundation.workspace import Workspace

if TYPE_CHECKING:
    from core.foundation.log_archive import LogSource

WORK_SESSION_GAP = timedelta(minutes=30)
PROCESS_PREFIX = "p-"
WORK_PREFIX = "w-"
MEMORY_PREFIX = "p-memory"
MAX_LINES_PER_SESSION = 200
_HIDDEN_FLAGS = {"--json", "--md"}
_FLAGS_WITH_VALUE = {"--workspace"}


@dataclass(frozen=True)
class HistoryLine:
    """One thing that happened: a short sentence, and the facts in it as fields."""

    ts: str
    event: str
    text: str
    ok: bool
    repeat: int = 1
    """How many identical consecutive lines this one stands for (`status` x 12)."""
    fields: dict[str, Any] = field(default_factory=dict)
    """The ids and values the sentence names (run_id, model, plan_id, gate_id, tier, passed,
    verdict, metric, value, ...), so an assistant never parses the text."""
    source: str = "events"
    """`events` (the event log) or `memory` (rebuilt from the committed files)."""


@dataclass(frozen=True)
class SessionHistory:
    session_id: str
    """The `FACTORY_SESSION` name, or `w-<start>` for a clustered work session."""
    kind: str
    """`named` or `work`."""
    started: str
    ended: str
    duration_s: float
    processes: int
    """Distinct processes that wrote events in this session."""
    events: int
    """Events shown (read-only commands excluded unless `--all`)."""
    hidden: int
    """Read-only command events left out."""
    failures: int
    """Commands that ended with an error."""
    counts: dict[str, int]
    """Shown events per event name."""
    commands: list[str]
    """Distinct commands shown (`data snapshot`, `train`), in order of first use."""
    lines: list[HistoryLine]
    lines_omitted: int = 0
    """Older lines left out beyond `MAX_LINES_PER_SESSION`."""


@dataclass(frozen=True)
class HistoryResult:
    range: TimeRange
    sessions: list[SessionHistory]
    """Newest session first."""
    total_sessions: int
    """Sessions in range before `--limit`."""
    events_in_range: int
    hidden: int
    partitions_read: int
    include_read_only: bool
    session_filter: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        from core.foundation.plain import to_plain

        return {
            "range": self.range.to_dict(),
            "session_filter": self.session_filter,
            "include_read_only": self.include_read_only,
            "total_sessions": self.total_sessions,
            "events_in_range": self.events_in_range,
            "hidden": self.hidden,
            "partitions_read": self.partitions_read,
            "sessions": to_plain(self.sessions),
            "notes": self.notes,
        }


def day_range(time_range: TimeRange) -> tuple[str | None, str | None]:
    """The first and last date partition (`YYYY-MM-DD`, UTC days) the range overlaps."""
    low = time_range.since.astimezone(UTC).strftime("%Y-%m-%d") if time_range.since else None
    high = None
    if time_range.until:
        # `until` is exclusive: an instant at midnight UTC does not reach into that day.
        high = (time_range.until.astimezone(UTC) - timedelta(microseconds=1)).strftime("%Y-%m-%d")
    return low, high


def partitions_in_range(events_dir: Path, time_range: TimeRange) -> list[Path]:
    """Date partitions (`date=YYYY-MM-DD`, UTC days) overlapping the range, oldest first;
    the others are never opened."""
    if not events_dir.is_dir():
        return []
    low, high = day_range(time_range)
    parts = []
    for part in events_dir.iterdir():
        if not part.name.startswith("date=") or not part.is_dir():
            continue
        day = part.name[5:]
        if (low and day < low) or (high and day > high):
            continue
        parts.append(part)
    return sorted(parts)


def _read(
    files: Iterable[Path | LogSource], since: str | None, until: str | None
) -> list[dict[str, Any]]:
    """Events in [since, until) from `files`; `read_events` skips torn or garbled lines.

    Timestamps are `core.foundation.clock.iso` strings, which sort as text, so the range test
    compares strings without parsing dates.
    """
    records = []
    for record in read_events(files):
        ts = record["ts"]
        if not isinstance(ts, str) or (since and ts < since) or (until and ts >= until):
            continue
        try:
            _parse_ts(ts)
        except ValueError:
            continue  # a hand-edited or foreign line: skip it like a torn one
        records.append(record)
    return records


def _is_read_only(record: dict[str, Any]) -> bool:
    data = record.get("data")
    return (
        record.get("event") == "command"
        and isinstance(data, dict)
        and data.get("mutating") is False
    )


def _command_words(argv: list[Any]) -> str:
    words: list[str] = []
    skip = False
    for item in argv:
        word = str(item)
        if skip:
            skip = False
            continue
        if word in _HIDDEN_FLAGS:
            continue
        if word in _FLAGS_WITH_VALUE:
            skip = True
            continue
        if any(word.startswith(flag + "=") for flag in _FLAGS_WITH_VALUE):
            continue
        words.append(word if word and " " not in word else json.dumps(word))
    return " ".join(words)


def describe(record: dict[str, Any]) -> str:
    """One short line for an event, e.g. `factory data snapshot --dataset weather` or
    `snapshot.created weather -> ds-3f2a (created)`."""
    raw = record.get("data")
    data: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if record.get("event") == "command":
        argv = data.get("argv")
        shown = _command_words(argv) if isinstance(argv, list) else ""
        text = "factory " + (shown or str(record.get("command") or ""))
        if data.get("ok") is False:
            text += (
                f"  -> failed ({data.get('error_code') or 'error'}, exit {data.get('exit_code')})"
            )
        return text
    parts = [str(record.get("event"))]
    subject = record.get("model") or data.get("dataset") or data.get("name")
    if subject:
        parts.append(str(subject))
    ids = [str(record[k]) for k in ID_KEYS if record.get(k) and record.get(k) != subject]
    if ids:
        parts.append("-> " + ", ".join(ids))
    extras = [
        f"{key}={value}"
        for key, value in data.items()
        if key in ("status", "tier", "verdict", "created", "reason", "metric", "value")
        and isinstance(value, (str, int, float, bool))
    ]
    primary = data.get("primary")
    if isinstance(primary, dict) and isinstance(primary.get("mean"), (int, float)):
        extras.insert(0, f"{primary.get('name')}={primary['mean']:.4g}")
    components = data.get("components")
    if record.get("event") == "run.started" and isinstance(components, dict):
        extras.insert(
            0, " ".join(f"{k}/{v}" for k, v in components.items() if k in ("features", "hparams"))
        )
    event = record.get("event")
    if event == "gate.evaluated" and "passed" in data:
        verdict = "pass" if data.get("passed") else "FAIL"
        failed = data.get("failed") or []
        extras.insert(
            0, f"{data.get('tier')} {verdict}" + (f": {', '.join(failed)}" if failed else "")
        )
    elif event == "plan.recorded":
        extras = [f"intent {data.get('intent')!r}", f"expect {data.get('expect')!r}"]
    elif event == "note.added" and data.get("text"):
        extras = [repr(str(data["text"])[:80])]
    elif event == "adr.written":
        extras = [f"ADR {data.get('number')}: {data.get('title')} ({data.get('status')})"]
    if event == "features.checked" and data.get("version"):
        verdict = "no leak found" if data.get("ok") else "LEAK"
        extras.insert(0, f"features/{data['version']} {verdict}")
    if extras:
        parts.append("(" + ", ".join(extras[:3]) + ")")
    return " ".join(parts)


def _work_id(first_ts: str) -> str:
    return WORK_PREFIX + first_ts[:19].replace("-", "").replace(":", "").lower()


def _parse_ts(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def group_sessions(records: list[dict[str, Any]]) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(session id, kind, events oldest first) per session: named sessions as they are,
    per-process events clustered into work sessions split at gaps of 30 minutes or more."""
    records.sort(key=lambda r: r["ts"])
    named: dict[str, list[dict[str, Any]]] = {}
    work: list[list[dict[str, Any]]] = []
    last: datetime | None = None
    for record in records:
        sid = str(record.get("session_id") or "")
        if not sid.startswith(PROCESS_PREFIX):
            named.setdefault(sid or "unknown", []).append(record)
            continue
        moment = _parse_ts(record["ts"])
        if last is None or moment - last >= WORK_SESSION_GAP:
            work.append([])
        work[-1].append(record)
        last = moment
    groups = [(sid, "named", events) for sid, events in named.items()]
    groups += [(_work_id(events[0]["ts"]), "work", events) for events in work]
    return _fold_memory(groups)


def _fold_memory(
    groups: list[tuple[str, str, list[dict[str, Any]]]],
) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """A record rebuilt from the committed memory that falls inside a session with events
    (from its first to its last event) belongs to that session: it was written then."""
    spans = [
        (_parse_ts(events[0]["ts"]), _parse_ts(events[-1]["ts"]), events)
        for _, _, events in groups
        if any(e.get("source") != "memory" for e in events)
    ]
    kept: list[tuple[str, str, list[dict[str, Any]]]] = []
    for sid, kind, events in groups:
        if any(e.get("source") != "memory" for e in events):
            kept.append((sid, kind, events))
            continue
        rest = []
        for record in events:
            moment = _parse_ts(record["ts"])
            home = next((e for start, end, e in spans if start <= moment <= end), None)
            if home is None:
                rest.append(record)
            else:
                home.append(record)
        if rest:
            kept.append((_work_id(rest[0]["ts"]), kind, rest))
    for _, _, events in kept:
        events.sort(key=lambda r: r["ts"])
    return kept


FIELD_KEYS = (
    "plan_id", "gate_id", "drift_id", "pit_id", "check_id", "note_id", "batch_id", "alert_id",
    "tier", "passed", "failed", "verdict", "ok", "version", "drift_detected", "reason",
    "previous_run_id", "number", "title", "status", "rows", "error_code", "exit_code",
    "command", "identical", "leaky",
)  # fmt: skip


def line_fields(record: dict[str, Any]) -> dict[str, Any]:
    """The facts of an event a line names, as plain fields."""
    data = record.get("data") if isinstance(record.get("data"), dict) else {}
    assert isinstance(data, dict)
    found: dict[str, Any] = {k: record[k] for k in ID_KEYS if record.get(k)}
    if record.get("command"):
        found["command"] = record["command"]
    for key in FIELD_KEYS:
        value = data.get(key)
        if value is not None and value != [] and key not in found:
            found[key] = value
    primary = data.get("primary")
    if isinstance(primary, dict) and primary.get("name"):
        found["metric"], found["value"] = primary.get("name"), primary.get("mean")
    components = data.get("components")
    if isinstance(components, dict):
        found["components"] = {str(k): str(v) for k, v in components.items()}
    return found


def _collapse(records: list[dict[str, Any]]) -> list[HistoryLine]:
    lines: list[HistoryLine] = []
    for record in records:
        text = describe(record)
        data = record.get("data") if isinstance(record.get("data"), dict) else {}
        ok = not (
            isinstance(data, dict) and (data.get("ok") is False or data.get("passed") is False)
        )
        if record.get("event") == "command":
            ok = not (isinstance(data, dict) and data.get("ok") is False)
        if lines and lines[-1].text == text and lines[-1].ok == ok:
            prev = lines[-1]
            lines[-1] = HistoryLine(
                prev.ts, prev.event, prev.text, prev.ok, prev.repeat + 1, prev.fields, prev.source
            )
            continue
        lines.append(
            HistoryLine(
                record["ts"],
                str(record["event"]),
                text,
                ok,
                fields=line_fields(record),
                source=str(record.get("source") or "events"),
            )
        )
    return lines


def _summarise(
    sid: str,
    kind: str,
    records: list[dict[str, Any]],
    include_read_only: bool,
    max_lines: int | None = None,
) -> SessionHistory:
    shown = [r for r in records if include_read_only or not _is_read_only(r)]
    lines = _collapse(shown)
    cap = min(max_lines or MAX_LINES_PER_SESSION, MAX_LINES_PER_SESSION)
    omitted = max(0, len(lines) - cap)
    started, ended = records[0]["ts"], records[-1]["ts"]
    return SessionHistory(
        session_id=sid,
        kind=kind,
        started=started,
        ended=ended,
        duration_s=round((_parse_ts(ended) - _parse_ts(started)).total_seconds(), 3),
        processes=len(
            {(r.get("session_id"), r.get("pid")) for r in records if r.get("source") != "memory"}
        ),
        events=len(shown),
        hidden=len(records) - len(shown),
        failures=sum(
            1
            for r in shown
            if r.get("event") == "command"
            and isinstance(r.get("data"), dict)
            and r["data"].get("ok") is False
        ),
        counts=dict(Counter(str(r["event"]) for r in shown).most_common()),
        commands=list(
            dict.fromkeys(
                str(r.get("command"))
                for r in shown
                if r.get("event") == "command" and r.get("command")
            )
        ),
        lines=lines[omitted:],
        lines_omitted=omitted,
    )


def history(
    ws: Workspace,
    time_range: TimeRange,
    *,
    session: str | None = None,
    include_read_only: bool = False,
    limit: int | None = 20,
    lines: int | None = None,
) -> HistoryResult:
    """Sessions with events in `time_range`, newest first.

    `session` keeps one session: a `FACTORY_SESSION` name, a work-session id (`w-...`,
    whose start widens the range so the whole session is found) or one process's id.
    """
    notes: list[str] = []
    if session and session.startswith(WORK_PREFIX):
        try:
            start = datetime.strptime(session[2:], "%Y%m%dt%H%M%S").replace(tzinfo=UTC)
        except ValueError:
            start = None
        if start is not None and (time_range.since is None or time_range.since > start):
            time_range = TimeRange(start, None)
            notes.append(f"range widened to the start of {session}")
    # The log's files in range, those `factory compact --prune` moved into Parquet included.
    files = event_sources(ws, *day_range(time_range))
    if session and not session.startswith((WORK_PREFIX, PROCESS_PREFIX)):
        # A named session writes only to files named after it.
        files = [f for f in files if f.name.split("~", 1)[0] == f"{session}.jsonl"]
    parts = sorted({f.date for f in files})
    since = clock.iso(time_range.since) if time_range.since else None
    until = clock.iso(time_range.until) if time_range.until else None
    records = _read(files, since, until)
    if not session or session.startswith((WORK_PREFIX, MEMORY_PREFIX)):
        from core.overview.memory import cover, memory_records

        records += cover(records, memory_records(ws, since, until))
    if session and session.startswith(PROCESS_PREFIX):
        records = [r for r in records if r.get("session_id") == session]
    groups = group_sessions(records)
    if session:
        groups = [g for g in groups if g[0] == session or session.startswith(PROCESS_PREFIX)]
    hidden_per_group = [
        0 if include_read_only else sum(1 for r in events if _is_read_only(r))
        for _, _, events in groups
    ]
    visible = [g for g, n in zip(groups, hidden_per_group, strict=True) if len(g[2]) > n]
    visible.sort(key=lambda g: g[2][-1]["ts"], reverse=True)
    if len(visible) < len(groups):
        notes.append(
            f"{len(groups) - len(visible)} session(s) with only read-only commands hidden; "
            "--all shows them"
        )
    # Only the sessions shown are described: describing is most of the cost at scale.
    shown = visible[:limit] if limit else visible
    summaries = [
        _summarise(sid, kind, events, include_read_only, lines) for sid, kind, events in shown
    ]
    return HistoryResult(
        range=time_range,
        sessions=summaries,
        total_sessions=len(visible),
        events_in_range=len(records),
        hidden=sum(hidden_per_group),
        partitions_read=len(parts),
        include_read_only=include_read_only,
        session_filter=session,
        notes=notes,
    )


def recent_sessions(ws: Workspace, count: int = 5, max_days: int = 14) -> list[SessionHistory]:
    """The newest `count` sessions with something besides read-only commands, as in
    `factory history`, reading date partitions newest first and stopping one partition
    after enough sessions are found (so a session crossing midnight is read whole), which
    keeps `factory status` fast however long the log grows."""
    floor = (clock.now() - timedelta(days=max_days)).strftime("%Y-%m-%d")
    by_day: dict[str, list[LogSource]] = {}
    for source in event_sources(ws, floor):  # listed, not opened: read day by day below
        by_day.setdefault(source.date, []).append(source)
    records: list[dict[str, Any]] = []
    enough_at: int | None = None
    for index, day in enumerate(sorted(by_day, reverse=True)):
        records.extend(_read(by_day[day], None, None))
        if enough_at is not None:
            break
        groups = group_sessions(records)
        visible = sum(1 for _, _, events in groups if any(not _is_read_only(r) for r in events))
        if visible >= count:
            enough_at = index
    groups = group_sessions(records)
    groups.sort(key=lambda g: g[2][-1]["ts"], reverse=True)
    newest = [g for g in groups if any(not _is_read_only(r) for r in g[2])][:count]
    return [_summarise(sid, kind, events, False) for sid, kind, events in newest]
