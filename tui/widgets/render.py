"""Rich renderables built from plain data (the `--json` shapes); no computing, only layout.
Cell text comes from `core.render.text` (through `tui.format`), and every string reaches Rich
as `Text`, never as markup: `[datasets.h]` in a message stays on screen."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from tui import format as fmt


def _title(title: str | None) -> Text | None:
    return Text(title, style="table.title") if title is not None else None


def _cell(value: Any) -> Text:
    return value if isinstance(value, Text) else Text(fmt.value(value))


def key_values(title: str | None, pairs: Iterable[tuple[str, Any]]) -> Table:
    """A two-column table: field, value. Nested dicts become `k=v` lists."""
    table = Table(
        title=_title(title),
        title_justify="left",
        show_header=False,
        box=None,
        expand=True,
        padding=(0, 1),
    )
    table.add_column("field", style="bold", no_wrap=True, ratio=1)
    table.add_column("value", ratio=3)
    for key, val in pairs:
        table.add_row(Text(str(key).replace("_", " ")), _cell(val))
    return table


def rows_table(
    title: str | None,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    numeric: Sequence[str] = (),
    whole: Sequence[str] = (),
) -> Table:
    """`whole` columns (run ids) keep their widest cell on one line; the others fold."""
    table = Table(
        title=_title(title), title_justify="left", expand=True, header_style="bold", padding=(0, 1)
    )
    cells = [[_cell(v) for v in row] for row in rows]
    for index, column in enumerate(columns):
        widest = max((c.cell_len for row in cells for c in row[index : index + 1]), default=0)
        table.add_column(
            Text(column),
            justify="right" if column in numeric else "left",
            overflow="fold",
            min_width=widest if column in whole else None,
        )
    for row in cells:
        table.add_row(*row)
    return table


def heading(text: str) -> Text:
    return Text(text, style="bold underline")


def stack(*parts: RenderableType | None) -> Group:
    return Group(*(p for p in parts if p is not None))
