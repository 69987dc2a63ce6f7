"""Fixtures for the dashboard: a stable workspace built by the real core functions, with the
clock, session ids, paths and cursor blink pinned so screens and snapshots are repeatable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.foundation.workspace import Workspace

PINNED_NOW = "2026-11-20T09:30:00Z"
SESSIONS = ("chat-2026-11-18", "chat-2026-11-19")


def _emit_session(ws: Workspace, session: str, when: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.foundation import events

    monkeypatch.setenv("FACTORY_SESSION", session)
    monkeypatch.setenv("FACTORY_NOW", when)
    events.emit(ws.events_dir, "command", command="status", mutating=False, exit_code=0, ok=True)
    events.emit(
        ws.events_dir, "command", command="data snapshot", mutating=True, exit_code=0, ok=True
    )
    events.emit(ws.events_dir, "note.added", model="rain", text="try more lags")


TINY_HPARAMS = {
    "t1": "# Tiny and shallow, for tests.\niterations = 15\nlearning_rate = 0.2\ndepth = 3\n",
    "t2": "# Tiny and a bit deeper, for tests.\niterations = 15\nlearning_rate = 0.2\ndepth = 4\n",
}
RUN_T1 = "run t1"
RUN_T2 = "run t2"


def _pin_volatile(ws: Workspace) -> None:
    """Pin what a CPU, a clock or a machine changes from one build to the next (timings,
    cost, latency, host facts), in the report and its index summary, so screens and
    snapshots are repeatable. Everything else is as training wrote it."""
    import json

    from core.experiments.index import write_summary
    from core.foundation.atomic import write_json

    for path in sorted(ws.reports_dir.glob("r-*.json")):
        report = json.loads(path.read_text(encoding="utf-8"))
        report["timings"] = {key: 0.25 for key in report.get("timings", {})}
        report["cost"] = {
            **report.get("cost", {}),
            "cpu_seconds": 1.5,
            "cost": 2.1e-05,
            "per_1000_predictions": 6.0e-06,
        }
        report["latency"] = {
            **report.get("latency", {}),
            "mean_ms": 0.4,
            "p50_ms": 0.38,
            "p95_ms": 0.52,
        }
        report["reproducibility"] = {
            **report.get("reproducibility", {}),
            "cpu": "test cpu",
            "cpu_count": 2,
            "executable": "/usr/bin/python3",
            "platform": "Linux-test",
            "git": {"commit": "0123456789ab", "dirty": False},
            "libraries": {"catboost": "1.2.10", "textual": "8.2.8"},
        }
        write_json(path, report)
        write_summary(ws, report)


def build_workspace(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Workspace, dict[str, str]]:
    """A workspace as a user has it after two sessions, all made by the real core functions:
    `factory init`, a snapshot, two tiny walk-forward runs of `rain`, a note, a plan, two
    ADRs and a few events. Returns it and the run ids (`RUN_T1`, `RUN_T2`)."""
    from core.data.snapshots import create_snapshot
    from core.flows.training import train_run
    from core.foundation.workspace_init import init_workspace
    from core.records.adrs import new_adr
    from core.records.notes import add_note
    from core.records.plans import record_plan

    init_workspace(root)
    config = root / "factory.toml"
    config.write_text(
        config.read_text().replace("seed = 42", "seed = 42\nleak_check_budget_s = 1.0")
    )
    ws = Workspace(root)
    for name, text in TINY_HPARAMS.items():
        path = ws.components_dir / "hparams" / f"{name}.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    _emit_session(ws, SESSIONS[0], "2026-11-18T10:00:00Z", monkeypatch)
    monkeypatch.setenv("FACTORY_SESSION", SESSIONS[1])
    monkeypatch.setenv("FACTORY_NOW", "2026-11-19T16:40:00Z")
    create_snapshot(ws, "weather")
    monkeypatch.setenv("FACTORY_NOW", "2026-11-19T16:41:00Z")
    first = train_run(ws, "rain", hparams="t1", thread_count=2).run_id
    monkeypatch.setenv("FACTORY_NOW", "2026-11-19T16:42:00Z")
    second = train_run(ws, "rain", hparams="t2", thread_count=2).run_id
    monkeypatch.setenv("FACTORY_NOW", "2026-11-19T16:44:00Z")
    add_note(ws, first, "depth 3 underfits", next_idea="try depth 5")
    _emit_session(ws, SESSIONS[1], "2026-11-19T16:45:00Z", monkeypatch)
    new_adr(
        ws, "Count folds in calendar days", status="accepted", context="Several rows share a date."
    )
    new_adr(ws, "Keep the TUI free of computation")
    record_plan(
        ws, "rain", {"features": "weather_v1"}, "do same-day values suffice?", "auc >= 0.70"
    )
    _pin_volatile(ws)
    return ws, {RUN_T1: first, RUN_T2: second}


@pytest.fixture(scope="session")
def built_workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """Built once per session (training takes seconds); each test gets a copy."""
    patch = pytest.MonkeyPatch()
    try:
        patch.setenv("FACTORY_THREADS", "2")
        ws, runs = build_workspace(tmp_path_factory.mktemp("tui-built") / "ws", patch)
    finally:
        patch.undo()
    return ws.root, runs


@pytest.fixture
def tui_ws(
    built_workspace: tuple[Path, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Workspace]:
    import shutil

    monkeypatch.delenv("FACTORY_WORKSPACE", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FACTORY_NOW", PINNED_NOW)
    monkeypatch.setenv("FACTORY_SESSION", "tui-tests")
    monkeypatch.setenv("FACTORY_THREADS", "2")
    root = tmp_path / "ws"
    shutil.copytree(built_workspace[0], root, symlinks=True)
    yield Workspace(root)


@pytest.fixture
def run_ids(built_workspace: tuple[Path, dict[str, str]]) -> dict[str, str]:
    return built_workspace[1]


@pytest.fixture
def make_app(tui_ws: Workspace) -> Any:
    """`make_app(poll_seconds=...)`: a FactoryApp on the stable workspace."""
    from tui.app import FactoryApp

    def make(**options: Any) -> FactoryApp:
        options.setdefault("poll_seconds", None)
        options.setdefault("cursor_blink", False)
        return FactoryApp(Workspace(tui_ws.root), **options)

    return make


def screen_text(app: Any) -> str:
    """The text on screen, one line per terminal row (what a person reads)."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(
        width=width, height=height, file=io.StringIO(), record=True, legacy_windows=False
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text().rstrip("\n")


def tables_measured(app: Any) -> bool:
    """Every table has measured its columns: DataTable does that when its message queue
    runs dry, which on a loaded CI machine once came after the screenshot (columns cut to
    their labels' width)."""
    from textual.widgets import DataTable

    return not any(t._require_update_dimensions or t._new_rows for t in app.screen.query(DataTable))


LIVE_S = 10.0
"""How long a live-refresh test waits: generous, since the poll runs every second or less and
a loaded CI machine is slow; the latency itself is a benchmark number."""


async def wait_for(pilot: Any, predicate: Any, timeout: float = 5.0, step: float = 0.05) -> None:
    """Let workers finish until `predicate()` holds (fails the test after `timeout`)."""
    waited = 0.0
    while not predicate():
        if waited >= timeout:
            raise AssertionError(f"condition not met within {timeout}s")
        await pilot.pause(step)
        waited += step
