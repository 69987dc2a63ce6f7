"""One wording per kind of value (`core.render.text`), shown the same by every face: one
result set holding every awkward value, printed as Markdown, by Rich and by the dashboard
(Harlequin's golden test of `text_columns()`)."""

from __future__ import annotations

import io
import math

import pytest
from rich.console import Console

from core.render import markdown, rich_text, text

AWKWARD = [
    ("none", None, "-"),
    ("yes", True, "yes"),
    ("no", False, "no"),
    ("zero", 0, "0"),
    ("rows", 1461, "1461"),
    ("negative int", -3, "-3"),
    ("zero float", 0.0, "0.0000"),
    ("metric", 0.7154321, "0.7154"),
    ("negative", -0.0045, "-0.0045"),
    ("large", 12345.678, "12,345.7"),
    ("tiny", 2.1e-05, "2.1e-05"),
    ("tinier", 1e-12, "1e-12"),
    ("not a number", math.nan, "nan"),
    ("infinite", math.inf, "inf"),
    ("brackets", "[datasets.h] and [/tmp]", "[datasets.h] and [/tmp]"),
    ("stored time", "2026-11-26T18:55:37.123Z", "2026-11-26 18:55"),
    ("data time", "2012-01-01T00:00:00", "2012-01-01T00:00:00"),
    ("run id", "r-bae63f9bddec", "r-bae63f9bddec"),
    ("empty list", [], "-"),
    ("list", [1, 2.5, None], "1, 2.5000, -"),
    ("empty record", {}, "-"),
    ("record", {"a": 1, "b": None, "ok": True}, "a=1, b=-, ok=yes"),
    (
        "pairs",
        [{"name": "ts", "type": "TIMESTAMP"}, {"name": "n", "type": "BIGINT"}],
        "ts TIMESTAMP\nn BIGINT",
    ),
]


@pytest.mark.parametrize(("kind", "value", "expected"), AWKWARD, ids=[a[0] for a in AWKWARD])
def test_each_kind_of_value_has_one_wording(kind: str, value: object, expected: str) -> None:
    assert text.value(value) == expected


def _rows() -> list[dict[str, object]]:
    return [{"kind": kind, "value": value} for kind, value, _ in AWKWARD]


def test_markdown_shows_the_same_cell_text_escaped_for_a_table() -> None:
    shown = markdown.table(_rows()).splitlines()[2:]
    for (kind, _, expected), line in zip(AWKWARD, shown, strict=True):
        assert line == f"| {kind} | {markdown.escape(expected)} |"
    assert markdown.escape("a|b\nc") == "a\\|b<br>c"


def _lines_of(renderable: object, width: int = 100) -> list[str]:
    console = Console(width=width, file=io.StringIO(), color_system=None, record=True)
    console.print(renderable)
    return console.export_text().splitlines()


def _cell_text(lines: list[str], kind: str) -> list[str]:
    """The value column of `kind`'s row and the lines it wraps onto."""
    rows = [[c.strip() for c in line.strip()[1:-1].split("│")] for line in lines]
    start = next(i for i, cells in enumerate(rows) if cells[0] == kind)
    found = [rows[start][-1]]
    for cells in rows[start + 1 :]:
        if cells[0] or len(cells) < 2:
            break
        found.append(cells[-1])
    return found


@pytest.mark.parametrize("face", ["rich", "dashboard"])
def test_rich_and_the_dashboard_show_the_same_cell_text(face: str) -> None:
    if face == "rich":
        table = rich_text.records_table(_rows())
    else:
        from tui.widgets.render import rows_table

        table = rows_table(None, ["kind", "value"], [[k, v] for k, v, _ in AWKWARD])
    lines = _lines_of(table)
    for kind, _, expected in AWKWARD:
        if expected:
            assert _cell_text(lines, kind) == expected.split("\n"), kind
