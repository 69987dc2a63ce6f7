"""SQL: a query box over the same read-only views as `factory query`; errors inline."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Input, Static

from tui import data
from tui import format as fmt
from tui.screens.base import Banner, FactoryScreen
from tui.widgets.settled_table import SettledTable

DEFAULT_SQL = "SELECT event, count(*) AS n FROM events GROUP BY event ORDER BY n DESC"
ROW_LIMIT = 1000


class SqlScreen(FactoryScreen):
    MODE = "sql"
    AUTO_FOCUS = "#sql-results"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_query", "Edit query"),
        Binding("escape", "focus_results", "Results"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.sql = ""

    def compose_body(self) -> ComposeResult:
        yield Input(value=DEFAULT_SQL, placeholder="SELECT … (Enter runs it)", id="sql-input")
        yield Banner(id="banner")
        yield SettledTable(id="sql-results", cursor_type="row", zebra_stripes=True)
        yield Static(id="sql-status")

    def load_key(self) -> str:
        return self.sql

    def fetch(self, key: str) -> Any:
        if not key:
            return {"tables": data.tables(self.ws)}
        return data.query(self.ws, key, limit=ROW_LIMIT)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.sql = event.value.strip()
        self.query_one("#sql-status", Static).update("running…")
        self.reload()

    def show_error(self, message: str) -> None:
        super().show_error(message)
        self.query_one("#sql-status", Static).update("query failed: fix it above and press Enter")

    def show_data(self, result: dict[str, Any]) -> None:
        table = self.query_one("#sql-results", DataTable)
        with self.app.batch_update():
            table.clear(columns=True)
            if "tables" in result:
                table.add_columns("view", "columns", "what")
                for t in result["tables"]:
                    table.add_row(
                        t["name"], ", ".join(c["name"] for c in t["columns"]), t["description"]
                    )
                self.query_one("#sql-status", Static).update(
                    f"{len(result['tables'])} view(s). Press / to write a SELECT, Enter runs it."
                )
                return
            table.add_columns(*result["columns"])
            for row in result["rows"]:
                table.add_row(*(fmt.value(row.get(c)) for c in result["columns"]))
        more = " (more rows matched: add LIMIT or narrow the query)" if result["truncated"] else ""
        self.query_one("#sql-status", Static).update(
            f"{result['row_count']} rows in {result['elapsed_ms']} ms{more}"
        )

    def action_focus_query(self) -> None:
        self.query_one("#sql-input", Input).focus()

    def action_focus_results(self) -> None:
        self.query_one("#sql-results", DataTable).focus()
