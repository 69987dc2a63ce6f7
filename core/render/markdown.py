"""Markdown rendering of any command's data.

Generic by shape: scalars become a bullet list, lists of records become tables, nested
records become sections. A command whose data reads better another way registers a
renderer for its schema in `RENDERERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Renderer = Callable[[dict[str, Any]], str]
RENDERERS: dict[str, Renderer] = {}
RENDERER_MODULES = [
    "core.render.md_views",
    "core.render.records_md",
    "core.render.experiments_md",
    "core.render.operations_md",
]
"""Modules that fill `RENDERERS` when imported; loaded only when Markdown is printed."""


def _load_custom() -> None:
    # Imported for their registrations; the render layer's explicit catalog replaces this.
    from core.render import experiments_md, md_views, operations_md, records_md  # noqa: F401


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, (list, tuple)) and value and all(isinstance(v, dict) for v in value):
        # Records inside a cell (e.g. a view's columns): one per line.
        text = "<br>".join(
            " ".join(_cell(x) for x in v.values()) if len(v) <= 2 else _cell(v) for v in value
        )
    elif isinstance(value, (list, tuple)):
        text = ", ".join(_cell(v) for v in value)
    elif isinstance(value, dict):
        text = ", ".join(f"{k}={_cell(v)}" for k, v in value.items())
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def table(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    if not rows:
        return "_none_\n"
    if columns is None:
        columns = []
        for row in rows:
            for key in row:
                if key not in columns:
                    columns.append(key)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |")
    return "\n".join(lines) + "\n"


def _is_records(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def section(value: Any, level: int) -> str:
    out: list[str] = []
    if isinstance(value, dict):
        scalars = {k: v for k, v in value.items() if not isinstance(v, dict) and not _is_records(v)}
        for key, item in scalars.items():
            out.append(f"- **{key}**: {_cell(item)}")
        if scalars:
            out.append("")
        for key, item in value.items():
            if key in scalars:
                continue
            out.append(f"{'#' * min(level, 6)} {key}\n")
            out.append(section(item, level + 1))
    elif _is_records(value):
        out.append(table(value))
    else:
        out.append(_cell(value) + "\n")
    return "\n".join(out)


def render(command: str, schema: str, data: Any, next_commands: list[str]) -> str:
    _load_custom()
    custom = RENDERERS.get(schema)
    body = custom(data) if custom and isinstance(data, dict) else section(data, 2)
    text = f"# factory {command}\n\n{body.rstrip()}\n"
    if next_commands:
        text += "\n## Next\n\n" + "\n".join(f"- `{c}`" for c in next_commands) + "\n"
    return text


def render_error(command: str | None, error: dict[str, Any]) -> str:
    text = f"# factory {command or ''}: error `{error['code']}`\n\n{error['message']}\n"
    if error.get("hint"):
        text += f"\n**What to do:** {error['hint']}\n"
    details = error.get("details") or {}
    if details:
        text += "\n## Details\n\n" + section(details, 3)
    return text
