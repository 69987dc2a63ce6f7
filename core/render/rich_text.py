"""The Rich face (the default, for people): the generic layout of any data, and the helpers
every Rich renderer builds with.

Generic by shape like the Markdown face; a schema that reads better another way has a
renderer in its command family's module (`core.render.families`, listed in
`core.render.catalog`). Cell text comes from `core.render.text`, and every string reaches
Rich as `Text`: Rich would read a plain `str` as markup, so `[datasets.h]` would vanish and
`[/tmp]` would crash the command.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, ClassVar

from rich.console import (
    Console,
    ConsoleOptions,
    ConsoleRenderable,
    Group,
    RenderableType,
    RenderResult,
)
from rich.measure import Measurement
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from core.foundation.suggest import Next
from core.render import text

Renderer = Callable[[dict[str, Any]], RenderableType]
"""A family's Rich renderer: a schema's `data` -> one renderable."""
WIDE_TABLE_COLUMNS = 6
"""A table with more columns than this that does not fit unwrapped becomes one card per row,
not a table that would wrap every cell at 80 columns."""


def cell(value: Any, style: str = "") -> Text:
    """The cell text of any value (`text.value`), as literal text."""
    return Text(text.value(value), style=style)


def literal(value: Any) -> RenderableType:
    """What a table cell gets: a renderable as it is, any value (a string too) as its cell
    text, literal (never markup)."""
    if isinstance(value, ConsoleRenderable):
        return value
    return cell(value)


def add_row(table: Table, *cells: Any, style: str | None = None) -> None:
    """`table.add_row` with every cell as literal text."""
    table.add_row(*(literal(c) for c in cells), style=style)


def title(words: Any, style: str = "table.title") -> Text:
    """A table's title as literal text, in the style Rich gives a title."""
    return Text(str(words), style=style)


class Fitted:
    """A table laid out so that no word is cut: as it is where it fits, else with each column
    at least as wide as its longest word (a `no_wrap` column as wide as its longest cell),
    else one card per row, the first cell titling the card and the others following as
    `column  value` lines. Past `max_columns` columns, a table that does not fit unwrapped
    becomes cards too: a table that wraps every cell reads worse than cards.

    Rich itself shrinks the widest columns first, below their longest word: that is how
    `r-5b87c8912…` came to be shown where `factory compare` needed the whole id."""

    def __init__(self, table: Table, max_columns: int | None = None) -> None:
        self.table, self.max_columns = table, max_columns

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        columns = self.table.columns
        for column in columns:
            column.width = 0
        chrome = Measurement.get(console, options, self.table).maximum  # padding and borders
        for column in columns:
            column.width = None
        room = options.max_width - chrome
        ranges = [
            Measurement.get(console, options, Group(column.header, *column.cells))
            for column in columns
        ]
        lows = [r.maximum if c.no_wrap else r.minimum for r, c in zip(ranges, columns, strict=True)]
        low, high = sum(lows), sum(r.maximum for r in ranges)
        if high <= room:
            yield self.table
        elif low <= room and len(columns) <= (self.max_columns or len(columns)):
            spare, stretch = room - low, high - low
            for column, least, r in zip(columns, lows, ranges, strict=True):
                column.width = least + spare * (r.maximum - least) // stretch
            yield self.table
        else:
            yield self._cards()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.table)

    def _cards(self) -> RenderableType:
        columns = self.table.columns
        rows = list(zip(*(list(c.cells) for c in columns), strict=True))
        cards: list[RenderableType] = []
        if self.table.title:
            cards.append(literal(self.table.title))
        for row in rows:
            grid = Table.grid(padding=(0, 2))
            grid.add_column(style="bold", no_wrap=True)
            grid.add_column(overflow="fold")
            for column, value in zip(columns[1:], row[1:], strict=True):
                grid.add_row(literal(column.header), value)
            head = row[0] if isinstance(row[0], Text) else None
            cards.append(Panel(grid, title=head, title_align="left"))
        return Group(*cards)


def fitted(
    header: Sequence[RenderableType],
    rows: Sequence[Sequence[Any]],
    heading: Any = None,
    max_columns: int | None = WIDE_TABLE_COLUMNS,
) -> Fitted:
    """Rows of cells under `header`, laid out by `Fitted`. A column of ids never wraps."""
    cells = [[literal(c) for c in row] for row in rows]
    table = Table(title=title(heading) if heading else None, title_justify="left")
    for index, name in enumerate(header):
        ids = [row[index] for row in cells if index < len(row)]
        whole = bool(ids) and all(text.is_id(_plain(c)) for c in ids)
        table.add_column(literal(name), overflow="fold", no_wrap=whole)
    for row in cells:
        table.add_row(*row)
    return Fitted(table, max_columns)


def _plain(cell_renderable: RenderableType) -> str:
    return cell_renderable.plain.strip() if isinstance(cell_renderable, Text) else ""


def markdown(body: str) -> RenderableType:
    """A Markdown document (a model card's body) whose tables are laid out like records
    (`Fitted`): a card's run table has seven columns, which Rich's own Markdown tables cut."""
    return _fitted_markdown()(body)


@cache
def _fitted_markdown() -> Callable[[str], RenderableType]:
    from rich.markdown import Markdown, MarkdownElement, TableElement  # markdown-it: cards only

    class FittedTable(TableElement):
        def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
            head = self.header.row.cells if self.header and self.header.row else []
            rows = self.body.rows if self.body else []
            yield fitted([c.content for c in head], [[c.content for c in r.cells] for r in rows])

    class FittedMarkdown(Markdown):
        elements: ClassVar[dict[str, type[MarkdownElement]]] = {
            **Markdown.elements,
            "table_open": FittedTable,
        }

    return FittedMarkdown


def records_table(rows: list[dict[str, Any]], heading: str | None = None) -> RenderableType:
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    return fitted(columns, [[row.get(c) for c in columns] for row in rows], heading)


def is_records(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def generic(value: Any, heading: str | None = None) -> RenderableType:
    if is_records(value):
        return records_table(value, heading)
    if isinstance(value, dict):
        parts: list[RenderableType] = []
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column(overflow="fold")
        scalars = {k: v for k, v in value.items() if not isinstance(v, dict) and not is_records(v)}
        for key, item in scalars.items():
            add_row(grid, key, cell(item))
        if scalars:
            parts.append(grid)
        for key, item in value.items():
            if isinstance(item, dict) and item:
                parts.append(Panel(generic(item), title=Text(key), title_align="left"))
            elif is_records(item):
                parts.append(records_table(item, key))
        if heading is None:
            return Group(*parts)
        return Panel(Group(*parts), title=Text(heading))
    return cell(value)


def render(
    console: Console, command: str, schema: str, data: Any, next_commands: Sequence[Next]
) -> None:
    from core.render import catalog

    custom = catalog.rich().get(schema)
    console.print(custom(data) if custom and isinstance(data, dict) else generic(data))
    if next_commands:
        console.print(Text("Next:", style="bold"))
        for item in next_commands:
            console.print(next_line(item))


def next_line(item: Next) -> Text:
    """One suggestion: the command (bold with a `!` when urgent), its reason below it."""
    urgent = item.priority == "high"
    line = Text("! " if urgent else "  ", style="bold yellow")
    line.append(item.command, style="bold cyan" if urgent else "cyan")
    if item.reason:
        line.append(f"\n    {item.reason}", style="dim")
    return line


def render_error(console: Console, command: str | None, error: dict[str, Any]) -> None:
    console.print(Text(f"error [{error['code']}]: ", style="bold red") + Text(error["message"]))
    failures = (error.get("details") or {}).get("failures")
    if isinstance(failures, list) and is_records(failures):
        shown = [
            {k: f.get(k) for k in ("line", "row", "column", "message") if k in f} for f in failures
        ]
        console.print(records_table(shown, "problems"))
    if error.get("hint"):
        console.print(Text("hint: ", style="bold") + Text(error["hint"]))
