"""The event log: concurrent appends, torn lines, sessions, one `command` event per call."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path
from typing import Any

import pytest

from core.foundation.events import emit, event_files, read_events
from tests.conftest import run_factory

WRITERS = 4
PER_WRITER = 1500
# Lines well past 4 KiB: a torn or interleaved write would show at this size if appends
# were not single O_APPEND writes.
PAD = "x" * 6000


def _writer(events_dir: str, writer: int, go: Any) -> None:
    os.environ["FACTORY_SESSION"] = "shared"
    go.wait()
    for index in range(PER_WRITER):
        emit(Path(events_dir), "test.append", writer=writer, index=index, pad=PAD)


def test_concurrent_appends_lose_and_mix_no_lines(tmp_path: Path) -> None:
    events_dir = tmp_path / "logs" / "events"
    ctx = multiprocessing.get_context("fork")
    go = ctx.Event()
    procs = [ctx.Process(target=_writer, args=(str(events_dir), w, go)) for w in range(WRITERS)]
    for proc in procs:
        proc.start()
    go.set()
    for proc in procs:
        proc.join(timeout=120)
        assert proc.exitcode == 0
    files = list(events_dir.glob("date=*/shared.jsonl"))
    assert files, "writers wrote nowhere"
    seen: list[tuple[int, int]] = []
    pids = set()
    for path in files:
        raw = path.read_bytes()
        assert raw.endswith(b"\n")
        for line in raw.decode("utf-8").splitlines():
            record = json.loads(line)  # a mixed line would not parse
            assert record["data"]["pad"] == PAD
            seen.append((record["data"]["writer"], record["data"]["index"]))
            pids.add(record["pid"])
    assert len(seen) == WRITERS * PER_WRITER
    assert set(seen) == {(w, i) for w in range(WRITERS) for i in range(PER_WRITER)}
    assert len(pids) == WRITERS
    # Each writer's own lines stay in its order.
    for writer in range(WRITERS):
        own = [i for w, i in seen if w == writer]
        assert own == sorted(own)


def _torn_log(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FACTORY_SESSION", "torn")
    monkeypatch.setenv("FACTORY_NOW", "2026-11-21T10:00:00Z")
    events_dir = workspace / "logs" / "events"
    emit(events_dir, "test.one", run_id="r-1")
    emit(events_dir, "test.two", model="rain")
    path = events_dir / "date=2026-11-21" / "torn.jsonl"
    with open(path, "a", encoding="utf-8") as handle:
        # A line cut by a crash mid-write, with a newline written after it by a later
        # writer, then a last line with no newline at all.
        handle.write('{"ts":"2026-11-21T10:00:01.000Z","session_id":"torn","ev\n')
        handle.write('{"ts":"2026-11-21T10:00:02.000Z","session_id":"torn","event":"test.half"')
    return path


def test_torn_lines_are_skipped_by_read_events(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _torn_log(workspace, monkeypatch)
    events = list(read_events(event_files(workspace / "logs" / "events")))
    assert [e["event"] for e in events] == ["test.one", "test.two"]


def test_torn_lines_are_skipped_by_the_events_view(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _torn_log(workspace, monkeypatch)
    monkeypatch.delenv("FACTORY_SESSION")
    ran = run_factory(
        "query",
        "SELECT event, run_id, model FROM events WHERE session_id = 'torn' ORDER BY ts",
        "--json",
        cwd=workspace,
    )
    assert ran.code == 0, ran.stdout + ran.stderr
    rows = ran.doc["data"]["rows"]
    assert rows == [
        {"event": "test.one", "run_id": "r-1", "model": None},
        {"event": "test.two", "run_id": None, "model": "rain"},
    ]
    nulls = run_factory(
        "query", "SELECT count(*) AS n FROM events WHERE event IS NULL", "--json", cwd=workspace
    )
    assert nulls.doc["data"]["rows"] == [{"n": 0}]


def _command_events(workspace: Path) -> list[dict[str, Any]]:
    events = read_events(event_files(workspace / "logs" / "events"))
    return [e for e in events if e["event"] == "command"]


def test_factory_session_names_the_file(workspace: Path) -> None:
    ran = run_factory("status", "--json", cwd=workspace, env={"FACTORY_SESSION": "chat-42"})
    assert ran.code == 0, ran.stderr
    files = list((workspace / "logs" / "events").glob("date=*/*.jsonl"))
    assert [f.name for f in files] == ["chat-42.jsonl"]
    [event] = _command_events(workspace)
    assert event["session_id"] == "chat-42" and event["command"] == "status"


def test_without_factory_session_each_process_gets_its_own(workspace: Path) -> None:
    for _ in range(2):
        assert run_factory("status", "--json", cwd=workspace).code == 0
    sessions = [e["session_id"] for e in _command_events(workspace)]
    assert len(set(sessions)) == 2
    assert all(s.startswith("p-") for s in sessions)


@pytest.mark.parametrize("bad", ["../escape", "Has Space", "UPPER", "a/b", "x" * 200])
def test_invalid_factory_session_is_refused(workspace: Path, bad: str) -> None:
    ran = run_factory("status", "--json", cwd=workspace, env={"FACTORY_SESSION": bad})
    assert ran.code == 2
    assert ran.doc["error"]["code"] == "invalid_session"
    assert "FACTORY_SESSION" in ran.doc["error"]["message"]
    assert not list(workspace.rglob("*.jsonl")), "a refused session must log nothing"
    assert not (workspace.parent / "escape.jsonl").exists()


def test_every_command_appends_one_command_event(workspace: Path) -> None:
    calls = [
        (["status", "--json"], "status", False, 0),
        (["history", "--json"], "history", False, 0),
        (["query", "--tables", "--json"], "query", False, 0),
        (["query", "DROP TABLE events", "--json"], "query", False, 2),
        (["init", str(workspace), "--json"], "init", True, 0),
        (["history", "--since", "nonsense", "--json"], "history", False, 2),
    ]
    for argv, *_ in calls:
        run_factory(*argv, cwd=workspace)
    events = sorted(_command_events(workspace), key=lambda e: e["ts"])
    assert len(events) == len(calls)
    for event, (argv, name, mutating, code) in zip(events, calls, strict=True):
        assert event["command"] == name
        assert event["data"]["mutating"] is mutating
        assert event["data"]["exit_code"] == code
        assert event["data"]["ok"] is (code == 0)
        assert event["data"]["argv"] == argv
        assert event["data"]["duration_ms"] >= 0
    assert events[3]["data"]["error_code"] == "read_only"
