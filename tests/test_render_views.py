"""Rich and Markdown views of status, history and query read well at 80 columns."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from core.render import markdown, rich_text

GOLDEN = Path(__file__).resolve().parent / "golden"


def _data(name: str) -> tuple[str, dict[str, Any]]:
    doc = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    return doc["schema"], doc["data"]


def _rich(schema: str, data: Any, next_commands: list[str] | None = None) -> str:
    console = Console(width=80, record=True, color_system=None, force_terminal=False)
    with console.capture() as captured:
        rich_text.render(console, "x", schema, data, next_commands or [])
    return captured.get()


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    """Local times in the views are shown in UTC here; the zone is restored after."""
    original = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if original is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = original
    time.tzset()


@pytest.mark.parametrize("name", ["status", "history", "query-tables"])
def test_views_fit_80_columns(name: str) -> None:
    schema, data = _data(name)
    text = _rich(schema, data)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert text.strip()


def test_history_view_lists_sessions_and_lines() -> None:
    schema, data = _data("history")
    text = _rich(schema, data)
    for session in data["sessions"]:
        assert session["session_id"] in text
    assert "14:30 factory status" in text
    md = markdown.render("history", schema, data, [])
    assert "## golden" in md and "| 09:00 | `factory init <WORKSPACE>` |" in md


def test_query_tables_view_lists_columns_compactly() -> None:
    schema, data = _data("query-tables")
    text = _rich(schema, data)
    assert "session_id VARCHAR" in text
    assert "name=" not in text  # no generic k=v dump
    md = markdown.render("query", schema, data, [])
    assert "## events" in md and "| ts | TIMESTAMP |" in md


def test_query_rows_view() -> None:
    data = {
        "sql": "SELECT event, count(*) AS n FROM events GROUP BY 1",
        "columns": ["event", "n"],
        "types": ["VARCHAR", "BIGINT"],
        "rows": [{"event": "command", "n": 12}, {"event": "run.finished", "n": 3}],
        "row_count": 2,
        "truncated": True,
        "elapsed_ms": 12.5,
    }
    text = _rich("factory.query/1", data)
    assert "run.finished" in text and "2 rows (more matched: raise --limit)" in text
    md = markdown.render("query", "factory.query/1", data, [])
    assert "| command | 12 |" in md and "```sql" in md


def test_generic_wide_records_become_cards() -> None:
    rows = [{f"key{i}": f"value{i}" for i in range(10)} for _ in range(2)]
    text = _rich("factory.unknown/1", {"items": rows})
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "key9" in text and "value9" in text
