"""The benchmark runner and its event-log generator work (numbers are not asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.foundation import build_event_log
from core.foundation.events import event_files, read_events
from core.foundation.timeparse import resolve_range
from core.foundation.workspace import Workspace
from core.overview.history import history
from tests.conftest import REPO


def test_generated_log_is_complete_and_readable(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    assert build_event_log(root, events=400, days=3) == 400
    assert "FACTORY_NOW" not in os.environ
    records = list(read_events(event_files(root / "logs" / "events")))
    assert len(records) == 400
    result = history(Workspace(root), resolve_range("7d", None, None), limit=None)
    assert result.events_in_range == 400
    assert result.total_sessions > 1


def test_runner_refuses_an_unknown_benchmark() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "no-such-bench"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "foundation" in proc.stderr


@pytest.mark.slow
async def test_live_refresh_bench_sees_each_event_and_restores_the_session(
    tmp_path: Path, monkeypatch: Any
) -> None:
    from bench.tui import build, live_refresh

    monkeypatch.setenv("FACTORY_SESSION", "smoke-own")
    monkeypatch.setenv("FACTORY_NOW", "2026-11-26T12:00:00Z")
    ws = build(tmp_path / "ws", runs=20)
    # More rounds than the Overview lists recent sessions (5): each new one must still show.
    seconds = await live_refresh(ws, rounds=6, rest_s=0.1)
    assert len(seconds) == 6 and min(seconds) > 0
    assert os.environ["FACTORY_SESSION"] == "smoke-own"
    assert os.environ["FACTORY_NOW"] == "2026-11-26T12:00:00Z"
    sessions = {r.get("session_id") for r in read_events(event_files(ws.events_dir))}
    assert {f"bench-live-{n}" for n in range(6)} <= sessions
