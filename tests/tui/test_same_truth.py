"""Same truth: each screen shows the numbers the matching `--json` command prints.

The TUI runs first and the CLI second, because every CLI call appends its own `command`
event after answering, which the TUI would otherwise count.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import DataTable, Input

from core.foundation.workspace import Workspace
from tests.conftest import run_factory
from tests.tui.conftest import screen_text, tables_measured, wait_for


async def open_screen(app: Any, pilot: Any, key: str, mode: str) -> None:
    await wait_for(pilot, lambda: "overview" in app.timings)
    if mode != "overview":
        await pilot.press(key)
    await wait_for(pilot, lambda: app.current_mode == mode and app.screen.shown is not None)
    await wait_for(pilot, lambda: tables_measured(app))
    await pilot.pause()


async def test_overview_shows_what_status_json_says(make_app: Any, tui_ws: Workspace) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_screen(app, pilot, "o", "overview")
        shown = app.screen.shown
        text = screen_text(app)
        app.screen.query_one("#overview").scroll_end(animate=False)
        await pilot.pause(0.2)
        text += screen_text(app)
    doc = run_factory("status", "--json", cwd=tui_ws.root).doc
    assert doc["ok"]
    assert {k: v for k, v in shown.items() if k != "next"} == doc["data"]
    assert shown["next"] == doc["next"]
    for model in doc["data"]["models"]:
        assert model["name"] in text and model["metric"] in text
    for dataset in doc["data"]["datasets"]:
        assert dataset["source"] in text
    assert len(doc["data"]["recent_sessions"]) == 2
    for session in doc["data"]["recent_sessions"]:
        row = next(line for line in text.splitlines() if session["session_id"] in line)
        assert f" {session['event_count']} " in row
    for step in doc["next"]:
        assert step["command"] in text


async def test_history_shows_what_history_json_says(make_app: Any, tui_ws: Workspace) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_screen(app, pilot, "h", "history")
        shown = app.screen.shown
        text = screen_text(app)
    doc = run_factory("history", "--json", cwd=tui_ws.root).doc
    assert doc["ok"]
    assert shown == doc["data"]
    assert [s["session_id"] for s in doc["data"]["sessions"]] == [
        "chat-2026-11-19",
        "chat-2026-11-18",
    ]
    for session in doc["data"]["sessions"]:
        assert f"{session['events']} events" in text
        for line in session["lines"]:
            assert line["text"] in text


async def test_sql_shows_what_query_json_returns(make_app: Any, tui_ws: Workspace) -> None:
    sql = "SELECT session_id, event, count(*) AS n FROM events GROUP BY ALL ORDER BY ALL"
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_screen(app, pilot, "s", "sql")
        screen = app.screen
        screen.query_one("#sql-input", Input).value = sql
        await pilot.press("slash", "enter")
        await wait_for(
            pilot, lambda: isinstance(screen.shown, dict) and screen.shown.get("sql") == sql
        )
        await pilot.pause()
        table = screen.query_one("#sql-results", DataTable)
        cells = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        headers = [str(c.label) for c in table.columns.values()]
    doc = run_factory("query", sql, "--json", cwd=tui_ws.root).doc
    assert doc["ok"]
    assert headers == doc["data"]["columns"]
    assert cells == [[str(row[c]) for c in doc["data"]["columns"]] for row in doc["data"]["rows"]]
    assert len(cells) >= 4


@pytest.mark.slow
async def test_cards_show_what_card_json_says(make_app: Any, tui_ws: Workspace) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_screen(app, pilot, "k", "cards")
        shown = app.screen.shown
        text = screen_text(app)
    listed = run_factory("cards", "--json", cwd=tui_ws.root).doc
    card = run_factory("card", "rain", "--json", cwd=tui_ws.root).doc
    assert listed["ok"] and card["ok"]
    assert shown["summaries"] == listed["data"]["cards"]
    assert shown["model"] == "rain"
    assert shown["card"] == card["data"]
    assert "Model card: rain" in text and "Plans and expectations" in text
    assert f"rain  {card['data']['entries']} runs" in text
    assert "temp  (no card yet)" in text


async def test_adrs_show_what_adr_json_says(make_app: Any, tui_ws: Workspace) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_screen(app, pilot, "a", "adrs")
        shown = app.screen.shown
        text = screen_text(app)
        await pilot.press("up")
        await wait_for(pilot, lambda: app.screen.shown["ref"] == "1")
        first = app.screen.shown["adr"]
        first_text = screen_text(app)
    listed = run_factory("adr", "list", "--json", cwd=tui_ws.root).doc
    newest = run_factory("adr", "show", "2", "--json", cwd=tui_ws.root).doc
    oldest = run_factory("adr", "show", "1", "--json", cwd=tui_ws.root).doc
    assert shown["adrs"] == listed["data"]["adrs"]
    assert shown["adr"] == newest["data"]
    assert first == oldest["data"]
    assert "0002 [proposed] Keep the" in text
    assert "0002. Keep the TUI free of computation" in text
    assert "accepted" in first_text and "Several rows share a date." in first_text


async def test_runs_table_shows_what_runs_json_says(make_app: Any, tui_ws: Workspace) -> None:
    from tui import format as fmt

    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await open_screen(app, pilot, "r", "runs")
        table = app.screen.query_one("RunsTable")
        await wait_for(pilot, lambda: not table.filling)
        shown = app.screen.shown
        cells = table.visible_rows()
    doc = run_factory("runs", "--json", cwd=tui_ws.root).doc
    assert doc["ok"]
    assert shown == doc["data"]
    assert len(cells) == doc["data"]["count"] == 2
    by_id = {row[0]: row for row in cells}
    for run in doc["data"]["runs"]:
        row = by_id[run["run_id"]]
        primary = run["primary_metric"]
        assert row[3:6] == (
            primary["name"],
            fmt.number(primary["mean"]),
            fmt.number(primary["std"]),
        )
        baseline = run["baseline"]
        assert row[6] == f"{fmt.number(baseline['skill'], 3)} {baseline['verdict']}"
        assert f"hparams:{run['components']['hparams']}" in row[8]
        assert (row[1] == "★") == (doc["data"]["best"][run["model"]] == run["run_id"])


@pytest.mark.slow
async def test_run_detail_shows_what_show_and_curves_json_say(
    make_app: Any, tui_ws: Workspace, run_ids: dict[str, str]
) -> None:
    from tests.tui.conftest import RUN_T1
    from tui import format as fmt

    run_id = run_ids[RUN_T1]
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_screen(app, pilot, "r", "runs")
        table = app.screen.query_one("RunsTable")
        await wait_for(pilot, lambda: not table.filling)
        table.move_cursor(row=table.get_row_index(run_id))
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.current_mode == "detail" and app.screen.shown is not None)
        await pilot.pause()
        shown = app.screen.shown
        texts = []
        scroller = app.screen.query_one("#detail")
        for _ in range(12):
            texts.append(screen_text(app))
            scroller.scroll_page_down(animate=False)
            await pilot.pause(0.05)
        text = "\n".join(texts)
    show = run_factory("show", run_id, "--full", "--json", cwd=tui_ws.root).doc
    curves = run_factory("curves", run_id, "--full", "--json", cwd=tui_ws.root).doc
    assert shown["report"] == show["data"]
    assert shown["curves"] == curves["data"]
    assert [n["text"] for n in shown["notes"]] == ["depth 3 underfits"]
    for fold in show["data"]["folds"]:
        row = next(line for line in text.splitlines() if fold["test"]["start"] in line)
        for value in fold["metrics"].values():
            assert fmt.number(value) in row
    for name, agg in show["data"]["metrics"]["aggregate"].items():
        row = next(
            line
            for line in text.splitlines()
            if f" {name} " in line and fmt.number(agg["mean"]) in line
        )
        assert fmt.number(agg["std"]) in row
    assert "depth 3 underfits" in text and "try depth 5" in text
    assert "loss per iteration" in text


async def test_compare_shows_what_compare_json_says(
    make_app: Any, tui_ws: Workspace, run_ids: dict[str, str]
) -> None:
    from tests.tui.conftest import RUN_T1, RUN_T2
    from tui import format as fmt

    run_a, run_b = run_ids[RUN_T1], run_ids[RUN_T2]
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "overview" in app.timings)
        await pilot.press("c")
        await wait_for(pilot, lambda: "compare" in app.timings)
        await pilot.press("slash")
        app.screen.query_one("#run-a").value = run_a
        await pilot.press("enter")
        app.screen.query_one("#run-b").value = run_b
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(app.screen.shown))
        await pilot.pause()
        shown = app.screen.shown
        text = screen_text(app)
    doc = run_factory("compare", run_a, run_b, "--json", cwd=tui_ws.root).doc
    assert doc["ok"]
    assert shown == doc["data"]
    assert doc["data"]["verdict"].upper() in text
    assert fmt.signed(doc["data"]["mean_delta"]) in text
    for fold in doc["data"]["folds"]:
        row = next(line for line in text.splitlines() if f"│ {fold['fold']} " in line)
        assert fmt.number(fold["a"]) in row and fmt.number(fold["b"]) in row
        assert fmt.signed(fold["delta"]) in row


@pytest.mark.slow
async def test_overview_shows_gates_tiers_and_drift_as_status_json(
    make_app: Any, tui_ws: Workspace
) -> None:
    """After a real gate, promotion and drift check, the Overview says them in words (not
    as raw dicts) with the ids and verdicts `factory status --json` holds."""
    runs = run_factory("runs", "rain", "--json", cwd=tui_ws.root).doc["data"]["runs"]
    run_id = runs[-1]["run_id"]
    gate = run_factory("gate", run_id, "--to", "staging", "--json", cwd=tui_ws.root)
    assert gate.doc["data"]["passed"], gate.stdout
    assert run_factory("promote", run_id, "--to", "staging", cwd=tui_ws.root).code == 0
    drift = run_factory(
        "drift", "rain", "--reference", run_id, "--last", "90d", "--json", cwd=tui_ws.root
    )
    assert drift.code in (0, 1), drift.stdout
    doc = run_factory("status", "--json", cwd=tui_ws.root).doc
    rain = next(m for m in doc["data"]["models"] if m["name"] == "rain")
    app = make_app()
    async with app.run_test(size=(160, 60)) as pilot:
        await open_screen(app, pilot, "o", "overview")
        text = screen_text(app)
    assert f"staging {run_id}" in text
    gate_line = next(
        line for line in text.splitlines() if rain["gates"]["staging"]["gate_id"] in line
    )
    assert f"staging: pass for {run_id}" in gate_line
    drift_line = next(line for line in text.splitlines() if rain["drift"]["drift_id"] in line)
    verdict = "DRIFT" if rain["drift"]["drift_detected"] else "no drift"
    assert verdict in drift_line
    assert f"{rain['drift']['drifted_count']}/{rain['drift']['column_count']} columns" in drift_line
    assert "gate_id=" not in text and "drift_id=" not in text
