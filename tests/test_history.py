"""`--since/--until/--on` parsing and `factory history` grouping."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import core.foundation.events as events_module
from core.foundation.errors import UsageError
from core.foundation.timeparse import parse_when, resolve_range
from core.foundation.workspace import Workspace
from core.overview.history import history, recent_sessions
from tests.conftest import run_factory

NOW = "2026-11-26T15:00:00Z"  # a Thursday


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@pytest.fixture(autouse=True)
def local_tz() -> Iterator[Callable[[str], None]]:
    """Pin the process time zone (UTC unless a test picks another) and restore it after."""
    original = os.environ.get("TZ")

    def set_zone(zone: str) -> None:
        os.environ["TZ"] = zone
        time.tzset()

    set_zone("UTC")
    yield set_zone
    if original is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = original
    time.tzset()


@pytest.fixture(autouse=True)
def pinned_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACTORY_NOW", NOW)


# --- time parsing -----------------------------------------------------------------------


def test_weekday_is_the_most_recent_before_today_in_local_time(
    local_tz: Callable[[str], None],
) -> None:
    local_tz("Europe/Berlin")
    assert parse_when("saturday") == utc("2026-11-20T23:00:00Z")
    assert parse_when("last sat") == utc("2026-11-20T23:00:00Z")
    assert parse_when("thursday") == utc("2026-11-18T23:00:00Z")  # today is Thursday: a week ago
    on = resolve_range(None, None, "saturday")
    assert (on.since, on.until) == (utc("2026-11-20T23:00:00Z"), utc("2026-11-21T23:00:00Z"))
    same = resolve_range("saturday", "saturday", None)
    assert (same.since, same.until) == (on.since, on.until)


def test_dates_days_and_relative_forms(local_tz: Callable[[str], None]) -> None:
    local_tz("UTC")
    assert parse_when("today") == utc("2026-11-26T00:00:00Z")
    assert parse_when("yesterday") == utc("2026-11-25T00:00:00Z")
    assert parse_when("today", end_of_day=True) == utc("2026-11-27T00:00:00Z")
    assert parse_when("2026-11-21", end_of_day=True) == utc("2026-11-22T00:00:00Z")
    assert parse_when("7d") == utc("2026-11-19T15:00:00Z")
    assert parse_when("7 days ago") == utc("2026-11-19T15:00:00Z")
    assert parse_when("12h") == utc("2026-11-26T03:00:00Z")
    assert parse_when("30m") == utc("2026-11-26T14:30:00Z")
    assert parse_when("2w") == utc("2026-11-12T15:00:00Z")
    assert parse_when("now") == utc(NOW)
    assert parse_when("2026-11-21T14:30:00+02:00") == utc("2026-11-21T12:30:00Z")
    assert parse_when("2026-11-21T14:30Z") == utc("2026-11-21T14:30:00Z")


def test_naive_times_are_local_and_dst_is_respected(local_tz: Callable[[str], None]) -> None:
    local_tz("America/New_York")
    assert parse_when("2026-11-21T09:00") == utc("2026-11-21T14:00:00Z")
    # Clocks move forward on 2026-03-08: that day starts at UTC-5, the next at UTC-4.
    day = resolve_range(None, None, "2026-03-08")
    assert (day.since, day.until) == (utc("2026-03-08T05:00:00Z"), utc("2026-03-09T04:00:00Z"))


@pytest.mark.parametrize("bad", ["", "soon", "7x", "2026-13-01", "last fortnight", "-3d"])
def test_nonsense_is_a_usage_error_with_examples(bad: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_when(bad)
    assert "7d" in (caught.value.hint or "") and "saturday" in (caught.value.hint or "")


def test_range_conflicts_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="not before"):
        resolve_range("today", "7d", None)
    with pytest.raises(UsageError, match="--on"):
        resolve_range("7d", None, "saturday")
    with pytest.raises(UsageError, match="not a day"):
        resolve_range(None, None, "7d")


# --- history ----------------------------------------------------------------------------


def put(
    monkeypatch: pytest.MonkeyPatch,
    ws: Path,
    ts: str,
    event: str = "command",
    *,
    session: str | None = None,
    process: str = "p-a",
    **fields: Any,
) -> None:
    """Write one event with the real writer at time `ts`, as a named session or process."""
    monkeypatch.setenv("FACTORY_NOW", ts)
    if session:
        monkeypatch.setenv("FACTORY_SESSION", session)
    else:
        monkeypatch.delenv("FACTORY_SESSION", raising=False)
        monkeypatch.setattr(events_module, "_process_session", process)
    if event == "command":
        name = fields.pop("name", "train")
        fields.setdefault("mutating", name not in ("status", "query", "history"))
        fields.setdefault("ok", True)
        fields.setdefault("argv", [*name.split(), "--json"])
        fields["command"] = name
    events_module.emit(ws / "logs" / "events", event, **fields)


@pytest.fixture
def log(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """Saturday: a person types commands 09:00-09:50 (gaps under 30 min), again at 14:00
    (a new work session); an assistant session runs alongside. Tuesday: one status check
    only. And an event long ago in another partition."""
    put(monkeypatch, workspace, "2026-11-02T10:00:00.000Z", process="p-old")
    for minute, process in ((0, "p-1"), (20, "p-2"), (45, "p-3")):
        put(
            monkeypatch,
            workspace,
            f"2026-11-21T09:{minute:02d}:00.000Z",
            process=process,
            name="data snapshot",
            argv=["data", "snapshot", "--dataset", "weather"],
        )
    put(
        monkeypatch,
        workspace,
        "2026-11-21T09:45:01.000Z",
        "snapshot.created",
        process="p-3",
        dataset_id="ds-abc",
        dataset="weather",
        created=True,
    )
    put(monkeypatch, workspace, "2026-11-21T09:50:00.000Z", process="p-4", name="status")
    put(
        monkeypatch,
        workspace,
        "2026-11-21T14:00:00.000Z",
        process="p-5",
        name="train",
        argv=["train", "rain"],
        ok=False,
        exit_code=3,
        error_code="no_snapshot",
    )
    put(monkeypatch, workspace, "2026-11-21T09:30:00.000Z", session="chat-7", name="train")
    put(
        monkeypatch,
        workspace,
        "2026-11-21T09:31:00.000Z",
        "run.finished",
        session="chat-7",
        run_id="r-123",
        model="rain",
        status="finished",
    )
    put(monkeypatch, workspace, "2026-11-24T08:00:00.000Z", process="p-6", name="status")
    monkeypatch.setenv("FACTORY_NOW", NOW)
    monkeypatch.delenv("FACTORY_SESSION", raising=False)
    return Workspace(workspace)


def test_on_saturday_groups_work_and_named_sessions(
    log: Workspace, local_tz: Callable[[str], None]
) -> None:
    local_tz("UTC")
    result = history(log, resolve_range(None, None, "saturday"))
    assert result.partitions_read == 1
    ids = [s.session_id for s in result.sessions]
    assert ids == ["w-20261121t140000", "w-20261121t090000", "chat-7"]
    morning = result.sessions[1]
    assert (morning.started, morning.ended) == (
        "2026-11-21T09:00:00.000Z",
        "2026-11-21T09:50:00.000Z",
    )
    assert morning.processes == 4 and morning.events == 4 and morning.hidden == 1
    assert [(line.text, line.repeat) for line in morning.lines] == [
        ("factory data snapshot --dataset weather", 3),
        ("snapshot.created weather -> ds-abc (created=True)", 1),
    ]
    afternoon = result.sessions[0]
    assert afternoon.failures == 1
    assert afternoon.lines[0].text == "factory train rain  -> failed (no_snapshot, exit 3)"
    chat = result.sessions[2]
    assert chat.kind == "named" and chat.events == 2
    assert chat.lines[1].text == "run.finished rain -> r-123 (status=finished)"


def test_thirty_minute_gap_splits_work_sessions(log: Workspace) -> None:
    result = history(log, resolve_range("2026-11-21T09:00Z", "2026-11-21T09:46Z", None))
    # 09:00, 09:20, 09:45: gaps of 20 and 25 minutes keep one session.
    assert [s.session_id for s in result.sessions if s.kind == "work"] == ["w-20261121t090000"]


def test_read_only_only_sessions_are_hidden_unless_all(log: Workspace) -> None:
    default = history(log, resolve_range("2026-11-24", "2026-11-24", None))
    assert default.sessions == [] and default.hidden == 1
    assert any("--all" in note for note in default.notes)
    everything = history(
        log, resolve_range("2026-11-24", "2026-11-24", None), include_read_only=True
    )
    assert [line.text for line in everything.sessions[0].lines] == ["factory status"]


def test_only_partitions_in_range_are_read(log: Workspace) -> None:
    assert history(log, resolve_range("2026-11-20", "2026-11-22", None)).partitions_read == 1
    assert (
        history(log, resolve_range(None, None, None), include_read_only=True).partitions_read == 3
    )
    old = history(log, resolve_range("2026-11-01", "2026-11-03", None))
    assert [s.session_id for s in old.sessions] == ["w-20261102t100000"]


def test_session_filter_and_limit(log: Workspace) -> None:
    everything = resolve_range(None, None, None)
    named = history(log, everything, session="chat-7")
    assert [s.session_id for s in named.sessions] == ["chat-7"]
    # A work-session id finds its session even when the range given starts later.
    work = history(log, resolve_range("2d", None, None), session="w-20261121t090000")
    assert [s.session_id for s in work.sessions] == ["w-20261121t090000"]
    assert work.sessions[0].events == 4
    one_process = history(log, everything, session="p-2")
    assert one_process.events_in_range == 1
    limited = history(log, everything, limit=2)
    assert len(limited.sessions) == 2 and limited.total_sessions == 4


def test_recent_sessions_for_status(log: Workspace) -> None:
    recent = recent_sessions(log, count=2)
    assert [s.session_id for s in recent] == ["w-20261121t140000", "w-20261121t090000"]


def test_torn_line_is_skipped_by_history(log: Workspace) -> None:
    path = log.events_dir / "date=2026-11-21" / "chat-7.jsonl"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"ts":"2026-11-21T09:40:00.000Z","session_id":"chat-7","event":"run.st')
    result = history(log, resolve_range(None, None, "2026-11-21"), session="chat-7")
    assert result.sessions[0].events == 2


def test_history_command_json_rich_and_markdown(log: Workspace) -> None:
    env = {"FACTORY_NOW": NOW, "TZ": "UTC", "COLUMNS": "80"}
    ran = run_factory("history", "--on", "saturday", "--json", cwd=log.root, env=env)
    assert ran.code == 0, ran.stderr
    doc = ran.doc
    assert doc["schema"] == "factory.history/1"
    assert doc["data"]["range"] == {
        "since": "2026-11-21T00:00:00.000Z",
        "until": "2026-11-22T00:00:00.000Z",
    }
    assert "factory history --session w-20261121t140000" in [n["command"] for n in doc["next"]]
    rich = run_factory("history", "--on", "saturday", cwd=log.root, env=env)
    assert rich.code == 0
    assert max(len(line) for line in rich.stdout.splitlines()) <= 80
    assert "w-20261121t090000" in rich.stdout and "data snapshot --dataset weather" in rich.stdout
    assert "x3" in rich.stdout
    md = run_factory("history", "--on", "saturday", "--md", cwd=log.root, env=env)
    assert md.code == 0
    assert "## w-20261121t090000" in md.stdout
    bad = run_factory("history", "--since", "someday", "--json", cwd=log.root, env=env)
    assert bad.code == 2 and bad.doc["error"]["code"] == "usage"


def test_lines_with_bad_timestamps_are_skipped(log: Workspace) -> None:
    path = log.events_dir / "date=2026-11-21" / "chat-7.jsonl"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"ts":"2026-11-21Tnonsense","session_id":"chat-7","event":"x"}\n')
        handle.write('{"ts":12,"session_id":"chat-7","event":"x"}\n')
        handle.write("[1, 2]\n")
    result = history(log, resolve_range(None, None, "2026-11-21"), session="chat-7")
    assert result.sessions[0].events == 2
