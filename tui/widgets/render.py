"""Rich renderables built from plain data (the `--json` shapes); no computing, only layout."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from tui import format as fmt


def key_values(title: str | None, pairs: Iterable[tuple[str, Any]]) -> Table:
    """A two-column table: field, value. Nested dicts become `k=v` lists."""
    table = Table(
        title=title, title_justify="left", show_header=False, box=None, expand=True, padding=(0, 1)
    )
    table.add_column("field", style="bold", no_wrap=True, ratio=1)
    table.add_column("value", ratio=3)
    for key, val in pairs:
        table.add_row(str(key).replace("_", " "), fmt.value(val))
    return table


def rows_table(
    title: str | None,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    numeric: Sequence[str] = (),
) -> Table:
    table = Table(
        title=title, title_justify="left", expand=True, header_style="bold", padding=(0, 1)
    )
    for column in columns:
        table.add_column(column, justify="right" if column in numeric else "left", overflow="fold")
    for row in rows:
        table.add_row(*(fmt.value(v) if not isinstance(v, Text) else v for v in row))
    return table


def heading(text: str) -> Text:
    return Text(text, style="bold underline")


def stack(*parts: RenderableType | None) -> Group:
    return Group(*(p for p in parts if p is not None))
