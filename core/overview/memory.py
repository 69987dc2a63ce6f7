"""What the committed memory says happened: event-shaped records rebuilt from the files a
`git clone` brings (run reports and the run index, model cards, gate, drift, leak-check and
new-data verdicts, ADRs), so `history` tells the story where `logs/` (git-ignored) is empty.

Each record has the shape of an event (`ts`, `event`, `session_id`, `run_id`, `model`,
`data`) with `source: "memory"`; its session id starts with `p-` so that `history` clusters
it into work sessions by time, as it does a person's commands. `cover` drops the records an
event already tells (same event and id, or the command that wrote a plan, note or ADR),
so a workspace with its logs shows each thing once.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from core.foundation.workspace import Workspace

MEMORY_SESSION = "p-memory"
COMMAND_SLACK = timedelta(seconds=10)
"""A plan, note or ADR within this much of its command's event is that command's doing."""


def _read(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def record_of(ts: Any, event: str, **fields: Any) -> dict[str, Any] | None:
    if not isinstance(ts, str) or len(ts) < 10:
        return None
    top: dict[str, Any] = {
        k: fields.pop(k) for k in ("run_id", "model", "dataset_id") if k in fields
    }
    return {
        "ts": ts if "T" in ts else f"{ts}T00:00:00.000Z",
        "event": event,
        "session_id": MEMORY_SESSION,
        "pid": 0,
        "source": "memory",
        **top,
        "data": {k: v for k, v in fields.items() if v is not None},
    }


def _runs(ws: Workspace) -> list[dict[str, Any] | None]:
    from core.experiments.index import read_summaries

    found = []
    for run in read_summaries(ws):
        primary = run.get("primary") or {}
        found.append(
            record_of(
                run.get("finished_at") or run.get("created_at"),
                "run.finished",
                run_id=run["run_id"],
                model=run.get("model"),
                dataset_id=run.get("snapshot_id"),
                plan_id=run.get("plan_id"),
                components=run.get("components"),
                primary={"name": primary.get("name"), "mean": primary.get("mean")},
                leaky=run.get("leaky") or None,
            )
        )
    return found


def _verdicts(ws: Workspace) -> list[dict[str, Any] | None]:
    found: list[dict[str, Any] | None] = []
    if not ws.reports_dir.is_dir():
        return found
    for path in sorted(ws.reports_dir.glob("gate-*.json")):
        raw = _read(path) or {}
        found.append(
            record_of(
                raw.get("created_at"), "gate.evaluated", run_id=raw.get("run_id"),
                model=raw.get("model"), gate_id=raw.get("gate_id"), tier=raw.get("tier"),
                passed=raw.get("passed"), failed=raw.get("failed"),
            )
        )  # fmt: skip
    for path in sorted(ws.reports_dir.glob("drift-*.json")):
        raw = _read(path) or {}
        found.append(
            record_of(
                raw.get("created_at"), "drift.checked", model=raw.get("model"),
                drift_id=raw.get("drift_id"), drift_detected=raw.get("drift_detected"),
                share=raw.get("share"),
            )
        )  # fmt: skip
    for path in sorted(ws.reports_dir.glob("pit-*.json")):
        raw = _read(path) or {}
        found.append(
            record_of(
                raw.get("checked_at") or raw.get("created_at"), "features.checked",
                model=raw.get("model"), dataset_id=raw.get("snapshot_id"),
                pit_id=raw.get("pit_id"), version=raw.get("version"), ok=raw.get("ok"),
            )
        )  # fmt: skip
    for path in sorted(ws.reports_dir.glob("newdata-*.json")):
        raw = _read(path) or {}
        found.append(
            record_of(
                raw.get("created_at"), "check.new_data", run_id=raw.get("champion"),
                model=raw.get("model"), check_id=raw.get("check_id"),
                verdict=raw.get("verdict"),
            )
        )  # fmt: skip
    return found


def _cards(ws: Workspace) -> list[dict[str, Any] | None]:
    from core.foundation.errors import FactoryError
    from core.foundation.ids import NAME_PATTERN
    from core.records.card_store import read_card

    found: list[dict[str, Any] | None] = []
    models = sorted(p.stem for p in ws.cards_dir.glob("*.md")) if ws.cards_dir.is_dir() else []
    for model in models:
        if not NAME_PATTERN.match(model):
            continue
        try:
            meta = read_card(ws, model).meta
        except FactoryError:
            continue  # a broken card is `factory card`'s to report
        for plan in meta.get("plans") or []:
            if isinstance(plan, dict):
                found.append(
                    record_of(
                        plan.get("created_at"), "plan.recorded", model=model,
                        plan_id=plan.get("plan_id"), intent=plan.get("intent"),
                        expect=plan.get("expect"),
                    )
                )  # fmt: skip
        for note in meta.get("notes") or []:
            if isinstance(note, dict):
                found.append(
                    record_of(
                        note.get("created_at"), "note.added", run_id=note.get("run_id"),
                        model=model, note_id=note.get("note_id"), text=note.get("text"),
                    )
                )  # fmt: skip
        for change in meta.get("tier_history") or []:
            if isinstance(change, dict):
                action = str(change.get("action") or "promote")
                name = {"override": "tier.overridden", "rollback": "tier.rolled_back"}.get(
                    action, "tier.promoted"
                )
                found.append(
                    record_of(
                        change.get("ts"), name, run_id=change.get("run_id"), model=model,
                        tier=change.get("tier"), reason=change.get("reason"),
                        gate_id=change.get("gate_id"),
                        previous_run_id=change.get("previous_run_id"),
                    )
                )  # fmt: skip
    return found


def _adrs(ws: Workspace) -> list[dict[str, Any] | None]:
    from core.records.adrs import list_adrs

    return [
        record_of(
            str(adr.date), "adr.written", number=adr.number, title=adr.title, status=adr.status
        )
        for adr in list_adrs(ws).adrs
        if adr.date
    ]


def memory_records(ws: Workspace, since: str | None, until: str | None) -> list[dict[str, Any]]:
    """Every record the committed memory holds with `since <= ts < until` (ISO text). An ADR
    knows only its day: it is placed at that day's last other record (the session it most
    likely came from), else at the day's start."""
    timed = [r for r in (*_runs(ws), *_verdicts(ws), *_cards(ws)) if r is not None]
    last_of_day: dict[str, str] = {}
    for r in timed:
        day = r["ts"][:10]
        last_of_day[day] = max(last_of_day.get(day, ""), r["ts"])
    adrs = [r for r in _adrs(ws) if r is not None]
    for r in adrs:
        r["ts"] = last_of_day.get(r["ts"][:10], r["ts"])
        r["data"]["time"] = "day only"
    records = [*timed, *adrs]
    return [
        r
        for r in records
        if r is not None
        and (since is None or r["ts"] >= since)
        and (until is None or r["ts"] < until)
    ]


KEY_OF = {
    "gate.evaluated": "gate_id",
    "drift.checked": "drift_id",
    "features.checked": "pit_id",
    "check.new_data": "check_id",
    "plan.recorded": "plan_id",
    "note.added": "note_id",
}
"""The id that says which thing an event of that name is about (run events: the run id)."""
COMMAND_OF = {"plan.recorded": "plan", "note.added": "note", "adr.written": "adr new"}


def _key(record: dict[str, Any]) -> tuple[str, str] | None:
    data = record.get("data") if isinstance(record.get("data"), dict) else {}
    assert isinstance(data, dict)
    event = str(record.get("event"))
    if event.startswith("tier."):
        return event, f"{record.get('run_id')}:{data.get('tier')}"
    name = KEY_OF.get(event)
    if name is not None:
        return (event, str(data[name])) if data.get(name) else None
    return (event, str(record["run_id"])) if record.get("run_id") else None


def cover(events: list[dict[str, Any]], memory: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The memory records no event tells already."""
    from datetime import datetime

    told = {key for e in events if (key := _key(e)) is not None}
    commands: dict[str, list[datetime]] = {}
    for e in events:
        if e.get("event") == "command" and e.get("command") in COMMAND_OF.values():
            commands.setdefault(str(e["command"]), []).append(_when(e["ts"]))
    kept = []
    for record in memory:
        key = _key(record)
        if key is not None and key in told:
            continue
        command = COMMAND_OF.get(str(record["event"]))
        if command and record["event"] != "adr.written":
            moment = _when(record["ts"])
            if any(abs(moment - at) <= COMMAND_SLACK for at in commands.get(command, [])):
                continue
        if record["event"] == "adr.written" and commands.get("adr new"):
            day = record["ts"][:10]
            if any(at.strftime("%Y-%m-%d") == day for at in commands["adr new"]):
                continue
        kept.append(record)
    return kept


def _when(ts: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(ts.replace("Z", "+00:00"))
