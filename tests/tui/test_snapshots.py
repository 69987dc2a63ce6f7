"""The look of every screen at 80x24 and 120x40, pinned with pytest-textual-snapshot.

Regenerate after an intended change: `.venv/bin/pytest tests/tui/test_snapshots.py
--snapshot-update`, then review the SVGs in the diff.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.tui.conftest import RUN_T1, RUN_T2, tables_measured, wait_for
from tui.nav import SCREENS

SIZES = [(80, 24), (120, 40)]


def loaded(mode: str, runs: dict[str, str] | None = None) -> Any:
    async def run_before(pilot: Any) -> None:
        app = pilot.app
        await wait_for(pilot, lambda: "overview" in app.timings)
        if runs:
            # Detail shows the first run; Compare pits the second against the first.
            app.selected_run = runs[RUN_T1]
            app.compare_pair = (runs[RUN_T1], runs[RUN_T2])
        key = next(k for m, k, _, _ in SCREENS if m == mode)
        await pilot.press(key)
        await wait_for(pilot, lambda: app.current_mode == mode and mode in app.timings)
        table = app.screen.query("RunsTable")
        await wait_for(pilot, lambda: not (table and table.first().filling))
        await wait_for(pilot, lambda: tables_measured(app))
        await pilot.pause(0.3)

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("mode", [m for m, _, _, _ in SCREENS])
def test_screen_snapshot(
    snap_compare: Any, make_app: Any, mode: str, size: tuple[int, int]
) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=loaded(mode))


def test_light_theme_snapshot(snap_compare: Any, make_app: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await loaded("overview")(pilot)
        await pilot.press("t")
        await pilot.pause(0.2)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)
