"""Runs: every run as a table; sort by any column, filter by model and component."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Input, Static

from tui import data
from tui.messages import CompareRuns, OpenRun
from tui.screens.base import Banner, FactoryScreen
from tui.widgets.runs_table import COLUMNS, RunRow, RunsTable


class RunsScreen(FactoryScreen):
    MODE = "runs"
    AUTO_FOCUS = "RunsTable"
    AREAS: ClassVar[frozenset[str]] = frozenset({"reports", "index", "config"})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("escape", "focus_table", "Table", show=False),
        Binding("S", "cycle_sort", "Sort"),
        Binding("x", "mark", "Mark"),
        Binding("C", "compare_marked", "Compare marked", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.all_rows: list[RunRow] = []
        self.filtered = 0
        self.marked: list[str] = []

    def compose_body(self) -> ComposeResult:
        yield Input(
            placeholder="filter: model=rain features:weather_v2 text… (/ to focus, esc to leave)",
            id="filter",
        )
        yield Banner(id="banner")
        yield RunsTable(id="runs-table")
        yield Static(id="runs-summary")

    def fetch(self, key: str) -> Any:
        return self.factory.take_runs_prefetch() or data.runs(self.ws)

    def show_data(self, result: dict[str, Any]) -> None:
        best = {run_id for run_id in result.get("best", {}).values() if run_id}
        self.all_rows = [RunRow.of(run, run["run_id"] in best) for run in result["runs"]]
        banner = self.query_one("#banner", Banner)
        if result.get("running"):
            banner.show(
                "  ".join(
                    f"{m['state']}: {m['run_id']} ({m.get('model', '?')})"
                    for m in result["running"]
                )
                + (
                    "  · factory train finishes an interrupted run"
                    if any(m["state"] == "interrupted" for m in result["running"])
                    else ""
                )
            )
        elif not result["runs"]:
            models = " / ".join(self.ws.config.models) or "MODEL"
            banner.show(f"No runs yet. Train one: factory train {models}")
        self._apply_filter()

    def _apply_filter(self) -> None:
        words = self.query_one("#filter", Input).value.split()
        rows = [row for row in self.all_rows if row.matches(words)] if words else self.all_rows
        self.filtered = len(rows)
        self.query_one(RunsTable).sync(rows)
        self._summarise()

    def _summarise(self) -> None:
        table = self.query_one(RunsTable)
        label = dict(COLUMNS)[table.sort_column]
        order = "desc" if table.sort_reverse else "asc"
        marked = f"  marked: {', '.join(self.marked)}" if self.marked else ""
        self.query_one("#runs-summary", Static).update(
            f"{self.filtered} of {len(self.all_rows)} runs · sorted by {label} {order}{marked}"
        )

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter" and self.shown is not None:
            self._apply_filter()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_focus_table()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.post_message(OpenRun(event.row_key.value))

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_focus_table(self) -> None:
        self.query_one(RunsTable).focus()

    def action_cycle_sort(self) -> None:
        table = self.query_one(RunsTable)
        keys = [key for key, _ in COLUMNS]
        table.sort_by(keys[(keys.index(table.sort_column) + 1) % len(keys)])
        self._summarise()

    def sort_by(self, column: str) -> None:
        self.query_one(RunsTable).sort_by(column)
        self._summarise()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        self.sort_by(str(event.column_key.value))

    def action_mark(self) -> None:
        """Mark up to two runs; with two marked, `C` (or the Compare screen) compares them."""
        run_id = self.query_one(RunsTable).cursor_run()
        if run_id is None:
            return
        if run_id in self.marked:
            self.marked.remove(run_id)
        else:
            self.marked = [*self.marked[-1:], run_id]
        if len(self.marked) == 2:
            self.factory.compare_pair = (self.marked[0], self.marked[1])
        self._summarise()

    def action_compare_marked(self) -> None:
        if len(self.marked) == 2:
            self.post_message(CompareRuns(self.marked[0], self.marked[1]))
        else:
            self.notify("Mark two runs with x first.", severity="warning")
