"""The Markdown face (`--md`): the document frame and the generic layout of any data.

Generic by shape: scalars become a bullet list, lists of records become tables, nested
records become sections. A schema that reads better another way has a renderer in its
command family's module (`core.render.families`, listed in `core.render.catalog`). Cell
text comes from `core.render.text`; this face only escapes Markdown's own syntax.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from core.foundation.suggest import Next
from core.render import text

Renderer = Callable[[dict[str, Any]], str]
"""A family's Markdown renderer: a schema's `data` -> the body under the `# factory` title."""


def escape(cell_text: str) -> str:
    """Text inside a table cell or a bullet: `|` would end the cell, a newline the row."""
    return cell_text.replace("|", "\\|").replace("\n", "<br>")


def cell(value: Any) -> str:
    """The cell text of any value (`text.value`), escaped for a table."""
    return escape(text.value(value))


def code(value: Any) -> str:
    """An id or a command to paste: `` `r-bae63f9bddec` ``; `-` when missing."""
    return f"`{value}`" if value not in (None, "") else text.NOTHING


def grid(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A table with these columns; each cell any value (strings are shown as they are)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def table(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    """Records as a table: every key any record has, in order, unless `columns` are given."""
    if not rows:
        return "_none_\n"
    if columns is None:
        columns = []
        for row in rows:
            columns += [key for key in row if key not in columns]
    return grid(columns, [[row.get(c) for c in columns] for row in rows])


def is_records(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def section(value: Any, level: int) -> str:
    out: list[str] = []
    if isinstance(value, dict):
        scalars = {k: v for k, v in value.items() if not isinstance(v, dict) and not is_records(v)}
        for key, item in scalars.items():
            out.append(f"- **{key}**: {cell(item)}")
        if scalars:
            out.append("")
        for key, item in value.items():
            if key in scalars:
                continue
            out.append(f"{'#' * min(level, 6)} {key}\n")
            out.append(section(item, level + 1))
    elif is_records(value):
        out.append(table(value))
    else:
        out.append(cell(value) + "\n")
    return "\n".join(out)


def render(command: str, schema: str, data: Any, next_commands: Sequence[Next]) -> str:
    from core.render import catalog

    custom = catalog.markdown().get(schema)
    body = custom(data) if custom and isinstance(data, dict) else section(data, 2)
    out = f"# factory {command}\n\n{body.rstrip()}\n"
    if next_commands:
        out += "\n## Next\n\n" + "\n".join(next_item(n) for n in next_commands) + "\n"
    return out


def next_item(item: Next) -> str:
    """One suggestion as a list item: the command, then its reason (urgent ones marked)."""
    mark = "**now** " if item.priority == "high" else ""
    reason = f": {escape(item.reason)}" if item.reason else ""
    return f"- {mark}`{item.command}`{reason}"


def render_error(command: str | None, error: dict[str, Any]) -> str:
    out = f"# factory {command or ''}: error `{error['code']}`\n\n{error['message']}\n"
    if error.get("hint"):
        out += f"\n**What to do:** {error['hint']}\n"
    details = error.get("details") or {}
    if details:
        out += "\n## Details\n\n" + section(details, 3)
    return out
