"""The query family (`core/cli/commands/query.py`): the rows of a SQL query, or the views
(`--tables`) with their columns; Markdown first, then Rich."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.columns import Columns
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from core.render import markdown as md
from core.render import text
from core.render.rich_text import Fitted, Renderer, add_row

NUMERIC_TYPES = ("INT", "DOUBLE", "FLOAT", "DECIMAL", "REAL")


def _footer(data: dict[str, Any], more: str) -> str:
    """`2 rows (more matched: raise --limit) in 12 ms`."""
    footer = text.plural(data.get("row_count", len(data.get("rows") or [])), "row")
    if data.get("truncated"):
        footer += f" (more matched: raise {more})"
    return footer + f" in {text.number(data.get('elapsed_ms'), 0)} ms"


# --- Markdown -----------------------------------------------------------------------------


def query_md(data: dict[str, Any]) -> str:
    if "tables" in data:
        out = []
        for view in data.get("tables") or []:
            out.append(f"## {view.get('name')}\n\n{view.get('description', '')}\n")
            out.append(md.table(view.get("columns") or [], ["name", "type"]))
        return "\n".join(out) or "_No views._\n"
    columns = data.get("columns") or []
    out = [f"```sql\n{data.get('sql', '').strip()}\n```\n"]
    out.append(md.table(data.get("rows") or [], columns) if columns else "_no columns_\n")
    out.append(_footer(data, "`--limit`") + "\n")
    return "\n".join(out)


MARKDOWN: dict[str, md.Renderer] = {"factory.query/1": query_md}

# --- Rich ---------------------------------------------------------------------------------


def query_view(data: dict[str, Any]) -> RenderableType:
    if "tables" in data:
        parts: list[RenderableType] = []
        for view in data.get("tables") or []:
            heading = Text(str(view.get("name")), style="bold cyan")
            heading.append(f"  {view.get('description', '')}", style="dim")
            parts.append(heading)
            entries = []
            for column in view.get("columns") or []:
                entry = Text(str(column.get("name")))
                entry.append(f" {column.get('type')}", style="dim")
                entries.append(entry)
            parts.append(Padding(Columns(entries, padding=(0, 2)), (0, 0, 1, 2)))
        return Group(*parts) if parts else Text("No views.")
    columns = data.get("columns") or []
    table = Table(box=box.SIMPLE_HEAD, expand=False)
    for name, kind in zip(columns, data.get("types") or [""] * len(columns), strict=False):
        numeric = any(t in str(kind) for t in NUMERIC_TYPES)
        table.add_column(Text(str(name)), justify="right" if numeric else "left", overflow="fold")
    for row in data.get("rows") or []:
        add_row(table, *(row.get(name) for name in columns))
    return Group(Fitted(table), Text(_footer(data, "--limit"), style="dim"))


RICH: dict[str, Renderer] = {"factory.query/1": query_view}
