"""Render fixtures: one real `data` per schema (`samples/`, written by `make_samples.py`) and
the faces that print them, with the time zone pinned."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from core.render import markdown, rich_text

SAMPLES = Path(__file__).resolve().parent / "samples"
COMMANDS = Path(__file__).resolve().parents[2] / "core" / "cli" / "commands"
WIDTHS = (80, 120)

IDS = re.compile(r"\b(?:r|p|ds|gate|drift|pit|newdata|al|b|n)-[0-9a-f]{12}\b|\brq-[0-9a-f]{16}\b")
"""Ids a user pastes into a command: runs, plans, snapshots, verdicts, alerts, batches, notes,
requests."""
SHOWN_IDS = re.compile(r"\b(?:r|p|ds|gate|drift)-[0-9a-f]{12}\b|\brq-[0-9a-f]{16}\b")
"""The ids every view shows when its data holds them: runs, plans, snapshots, gate and drift
verdicts, requests."""
ID_FRAGMENTS = re.compile(r"(?<![\w/.-])(?:r|p|ds|gate|drift|pit|newdata|al|b|n|rq)-[0-9a-f]{3,}")
"""Anything that starts like an id (not inside a file name); in an output each must be a
whole id: an id cut with `…` or folded over two lines cannot be pasted."""
LEFT_OUT: dict[str, dict[str, str]] = {
    "factory.runs/2": {
        "plan_id": "the table holds what `factory compare` needs; `factory show` has the rest",
        "snapshot_id": "the table holds what `factory compare` needs; `factory show` has the rest",
    },
    "factory.history/1": {"fields": "a line's text says what happened; `--json` has each field"},
    "factory.gate/2": {
        "note": "Rich shows the notes of failing criteria (and of a `-`); `--md` shows all",
        "inputs": "what the verdict's id hashes; `factory show GATE --json` has it",
    },
}
"""Ids a schema's views may leave out, by the key that holds them, and why."""


def ids_to_show(schema: str, data: Any) -> set[str]:
    """The ids in `data` a view of `schema` must show whole (`SHOWN_IDS`, minus `LEFT_OUT`)."""
    skipped = LEFT_OUT.get(schema, {})

    def walk(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            for key, item in value.items():
                if key not in skipped:
                    yield from walk(item)
        elif isinstance(value, list):
            for item in value:
                yield from walk(item)
        elif isinstance(value, str):
            yield from SHOWN_IDS.findall(value)

    return set(walk(data))


def samples() -> dict[str, dict[str, Any]]:
    """Sample name -> its `--json` envelope."""
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(SAMPLES.glob("*.json"))
    }


def declared_schemas() -> set[str]:
    """Every `schema="factory..."` the command modules declare (their own or a Reply's)."""
    found: set[str] = set()
    for path in COMMANDS.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'schema="(factory\.[a-z_.]+/\d+)"', source))
        found |= set(re.findall(r'"(factory\.[a-z_.]+/\d+)" if ', source))
    return found


def rich_output(schema: str, data: Any, width: int) -> str:
    console = Console(width=width, record=True, color_system=None, force_terminal=False)
    with console.capture() as captured:
        rich_text.render(console, "x", schema, data, [])
    return captured.get()


def markdown_output(schema: str, data: Any) -> str:
    return markdown.render("x", schema, data, [])


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    """Local times in the Rich views are shown in UTC here; the zone is restored after."""
    original = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if original is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = original
    time.tzset()
