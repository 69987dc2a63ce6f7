"""The benchmark runner and its event-log generator work (numbers are not asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.foundation import build_event_log
from core.events import event_files, read_events
from core.history import history
from core.timeparse import resolve_range
from core.workspace import Workspace
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
