"""Runs screen: sort, filter, open, compare; and a run trained while the app is open."""

from __future__ import annotations

from typing import Any

import pytest

from core.foundation.workspace import Workspace
from tests.tui.conftest import LIVE_S, RUN_T1, RUN_T2, screen_text, tables_measured, wait_for


async def open_runs(app: Any, pilot: Any) -> Any:
    await wait_for(pilot, lambda: "overview" in app.timings)
    await pilot.press("r")
    await wait_for(pilot, lambda: app.current_mode == "runs" and app.screen.shown is not None)
    table = app.screen.query_one("RunsTable")
    await wait_for(pilot, lambda: not table.filling and tables_measured(app))
    return table


async def test_sort_cycles_columns_and_reverses(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        table = await open_runs(app, pilot)
        means = lambda: [row[4] for row in table.visible_rows()]  # noqa: E731
        while table.sort_column != "mean":
            await pilot.press("S")
        assert table.sort_reverse and means() == sorted(means(), reverse=True)
        app.screen.sort_by("mean")
        await pilot.pause()
        assert not table.sort_reverse and means() == sorted(means())
        assert "sorted by mean asc" in screen_text(app)


async def test_filter_by_model_and_component(make_app: Any, run_ids: dict[str, str]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        table = await open_runs(app, pilot)
        assert table.row_count == 2
        await pilot.press("slash", *"hparams:t2")
        await pilot.pause()
        assert [row[0] for row in table.visible_rows()] == [run_ids[RUN_T2]]
        assert "1 of 2 runs" in screen_text(app)
        filter_box = app.screen.query_one("#filter")
        filter_box.value = "model=temp"
        await pilot.pause()
        assert table.row_count == 0
        filter_box.value = "model=rain features:weather_v2"
        await pilot.pause()
        assert table.row_count == 2
        await pilot.press("escape")
        assert table.has_focus


async def test_enter_opens_the_run_and_marking_two_compares_them(
    make_app: Any, run_ids: dict[str, str]
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        table = await open_runs(app, pilot)
        table.move_cursor(row=table.get_row_index(run_ids[RUN_T2]))
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.current_mode == "detail" and app.screen.shown is not None)
        assert app.screen.shown["report"]["run_id"] == run_ids[RUN_T2]
        assert run_ids[RUN_T2] in screen_text(app)
        await pilot.press("r")
        await pilot.pause()
        table.move_cursor(row=table.get_row_index(run_ids[RUN_T1]))
        await pilot.press("x")
        table.move_cursor(row=table.get_row_index(run_ids[RUN_T2]))
        await pilot.press("x")
        assert "marked:" in screen_text(app)
        await pilot.press("c")
        await wait_for(pilot, lambda: app.current_mode == "compare" and bool(app.screen.shown))
        assert app.screen.shown["run_a"] == run_ids[RUN_T1]
        assert app.screen.shown["run_b"] == run_ids[RUN_T2]
        assert "Verdict:" in screen_text(app)


async def test_compare_of_unknown_run_shows_the_error_inline(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "overview" in app.timings)
        await pilot.press("c", "slash")
        app.screen.query_one("#run-a").value = "r-doesnotexist"
        await pilot.press("enter")
        app.screen.query_one("#run-b").value = "r-neither"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.query_one("#banner").display)
        assert "r-doesnotexist" in screen_text(app)
        assert "factory runs" in screen_text(app)  # core's hint, shown with the error


@pytest.mark.slow
async def test_a_run_trained_while_the_app_is_open_appears(
    make_app: Any, tui_ws: Workspace
) -> None:
    """`factory train` in another process (as in another tmux pane) while the app polls:
    it is never blocked by the app, and the run shows on Runs and Overview without a restart
    (how soon is measured by `bench/tui.py`, not timed here)."""
    import asyncio

    from tests.conftest import run_factory

    app = make_app(poll_seconds=1.0)
    async with app.run_test(size=(120, 40)) as pilot:
        table = await open_runs(app, pilot)
        assert table.row_count == 2
        ran = await asyncio.to_thread(
            run_factory,
            "train", "rain", "--hparams", "t1", "--features", "weather_v1", "--json",
            cwd=tui_ws.root, env={"FACTORY_THREADS": "2"}, timeout=120,
        )  # fmt: skip
        assert ran.code == 0, ran.stderr
        run_id = ran.doc["data"]["run_id"]
        assert not ran.doc["data"]["reused"]
        await wait_for(pilot, lambda: run_id in table.rows_by_id, timeout=LIVE_S)
        assert table.row_count == 3
        await pilot.pause()
        assert run_id in screen_text(app)
        await pilot.press("o")
        await wait_for(
            pilot,
            lambda: (
                next(m for m in app.screen.shown["models"] if m["name"] == "rain")["run_count"] == 3
            ),
        )
