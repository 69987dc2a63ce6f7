"""Rich rendering for people: the same data as `--json`, as tables and panels.

Generic by shape like the Markdown renderer; commands may register a custom renderable
per schema in `RENDERERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

Renderer = Callable[[dict[str, Any]], RenderableType]
RENDERERS: dict[str, Renderer] = {}
RENDERER_MODULES = [
    "core.render.rich_views",
    "core.render.records_rich",
    "core.render.experiments_rich",
    "core.render.operations_rich",
]
"""Modules that fill `RENDERERS` when imported; loaded only when Rich output is printed."""
WIDE_TABLE_COLUMNS = 6
"""Records with more keys than this render as one key/value card each, not a table that
would wrap every cell at 80 columns."""


def _load_custom() -> None:
    # Imported for their registrations; the render layer's explicit catalog replaces this.
    from core.render import experiments_rich, operations_rich, records_rich, rich_views  # noqa: F401


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, dict) for v in value):
            return "\n".join(_compact(v) for v in value)
        return ", ".join(cell(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={cell(v)}" for k, v in value.items())
    return str(value)


def _compact(record: dict[str, Any]) -> str:
    """A record inside a cell: `ts TIMESTAMP` for a name/value pair, else `k=v, ...`."""
    if len(record) <= 2:
        return " ".join(cell(v) for v in record.values())
    return ", ".join(f"{k}={cell(v)}" for k, v in record.items())


def records_cards(
    rows: list[dict[str, Any]], columns: list[str], title: str | None
) -> RenderableType:
    cards: list[RenderableType] = [Text(title, style="bold")] if title else []
    for row in rows:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        for key in columns[1:]:
            grid.add_row(key, cell(row.get(key)))
        cards.append(Panel(grid, title=cell(row.get(columns[0])), title_align="left"))
    return Group(*cards)


def records_table(rows: list[dict[str, Any]], title: str | None = None) -> RenderableType:
    columns: list[str] = []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    if len(columns) > WIDE_TABLE_COLUMNS:
        return records_cards(rows, columns, title)
    table = Table(title=title, title_justify="left", expand=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(cell(row.get(c)) for c in columns))
    return table


def _is_records(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def generic(value: Any, title: str | None = None) -> RenderableType:
    if _is_records(value):
        return records_table(value, title)
    if isinstance(value, dict):
        parts: list[RenderableType] = []
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        has_scalars = False
        for key, item in value.items():
            if isinstance(item, dict) or _is_records(item):
                continue
            grid.add_row(key, cell(item))
            has_scalars = True
        if has_scalars:
            parts.append(grid)
        for key, item in value.items():
            if isinstance(item, dict) and item:
                parts.append(Panel(generic(item), title=key, title_align="left"))
            elif _is_records(item):
                parts.append(records_table(item, key))
        return Group(*parts) if title is None else Panel(Group(*parts), title=title)
    return Text(cell(value))


def render(
    console: Console, command: str, schema: str, data: Any, next_commands: list[str]
) -> None:
    _load_custom()
    custom = RENDERERS.get(schema)
    console.print(custom(data) if custom and isinstance(data, dict) else generic(data))
    if next_commands:
        console.print(Text("Next:", style="bold"))
        for item in next_commands:
            console.print(Text(f"  {item}", style="cyan"))


def render_error(console: Console, command: str | None, error: dict[str, Any]) -> None:
    console.print(Text(f"error [{error['code']}]: ", style="bold red") + Text(error["message"]))
    failures = (error.get("details") or {}).get("failures")
    if isinstance(failures, list) and failures and all(isinstance(f, dict) for f in failures):
        shown = [
            {k: f.get(k) for k in ("line", "row", "column", "message") if k in f} for f in failures
        ]
        console.print(records_table(shown, "problems"))
    if error.get("hint"):
        console.print(Text("hint: ", style="bold") + Text(error["hint"]))
