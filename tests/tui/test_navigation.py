"""Pilot tests: every screen by its key and from the palette, theme toggle, errors inline."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import DataTable, Input

from tests.tui.conftest import screen_text, wait_for
from tui.nav import SCREENS
from tui.screens.base import TYPING


@pytest.mark.slow
async def test_every_screen_has_a_key_and_shows_it_in_the_footer(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "overview" in app.timings)
        for mode, key, label, _ in SCREENS:
            await pilot.press(key)
            await pilot.pause()
            assert app.current_mode == mode
            text = screen_text(app)
            # The key and label are on the bottom lines, even at 80 columns.
            assert f"{key} {label}" in "\n".join(text.splitlines()[-3:]), (mode, text[-400:])


async def test_palette_lists_and_opens_every_screen(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"history")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.current_mode == "history"
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for _, key, label, _ in SCREENS:
            assert f"{label} ({key})" in titles


async def test_theme_toggles_between_light_and_dark(make_app: Any) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        assert app.theme == "textual-dark"
        await pilot.press("t")
        assert app.theme == "textual-light"
        await pilot.press("t")
        assert app.theme == "textual-dark"


async def test_letter_keys_type_into_inputs_instead_of_switching(make_app: Any) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("slash")
        box = app.screen.query_one("#sql-input", Input)
        assert box.has_focus
        assert box.border_subtitle == TYPING  # the visible sign that keys are text now
        box.value = ""
        await pilot.press(*"select 1")
        assert box.value == "select 1"
        assert app.current_mode == "sql"
        await pilot.press("escape")
        assert not box.has_focus and box.border_subtitle == ""
        await pilot.press("o")
        assert app.current_mode == "overview"


async def test_sql_errors_show_inline_and_keep_the_app_usable(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s")
        await pilot.pause()
        screen = app.screen
        box = screen.query_one("#sql-input", Input)
        await pilot.press("slash")
        box.value = "SELECT nope FROM events"
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.query_one("#banner").display)
        assert "nope" in screen_text(app)
        # A write is refused by core's read-only check, shown the same way.
        box.value = "DELETE FROM events"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "read-only" in screen_text(app))
        box.value = "SELECT count(*) AS n FROM events"
        await pilot.press("enter")
        await wait_for(pilot, lambda: not screen.query_one("#banner").display)
        table = screen.query_one("#sql-results", DataTable)
        assert table.row_count == 1
        from core.lens.store import run_query

        expected = run_query(app.workspace, "SELECT count(*) FROM events").rows[0][0]
        assert expected > 0
        assert table.get_row_at(0) == [str(expected)]


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
async def test_overview_fits_small_and_large_terminals(
    make_app: Any, size: tuple[int, int]
) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: "overview" in app.timings)
        await pilot.pause()
        text = screen_text(app)
        assert "rain" in text and "Models" in text
        assert len(text.splitlines()) == size[1]


async def test_no_color_renders_without_colour(
    make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "overview" in app.timings)
        await pilot.pause()
        assert app.no_color
        update = app.screen._compositor.render_update(full=True)
        colours = {
            colour
            for line in update.strips
            for strip in line
            for segment in strip
            if segment.style is not None
            for colour in (segment.style.color, segment.style.bgcolor)
            if colour is not None
        }
        assert colours  # the check below looks at real colours
        for colour in colours:
            # Textual's NO_COLOR filter leaves only greys.
            r, g, b = colour.get_truecolor()
            assert r == g == b, colour
