"""The JSON envelope: the one document `--json` prints on stdout.

`{"envelope", "ok", "command", "schema", "data", "error", "next"}`: see DESIGN.md,
adrs/0003 (the promise that `schema` names a versioned shape) and adrs/0025 (the envelope's
own version, and `next` as objects with a reason and a priority).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from core.foundation.errors import FactoryError
from core.foundation.suggest import Suggestion, from_hint, within

ENVELOPE = "factory.envelope/2"
"""The envelope's own shape: /2 made each `next` item an object (adrs/0025)."""


def next_items(
    suggestions: Iterable[Suggestion], workspace: str | None = None
) -> list[dict[str, Any]]:
    """`next` as the envelope prints it: most urgent first, each command once, naming the
    workspace the caller named (`--workspace DIR`)."""
    return [n.to_dict() for n in within(suggestions, workspace)]


def success(
    command: str,
    schema: str,
    data: Any,
    next_commands: Iterable[Suggestion],
    *,
    workspace: str | None = None,
) -> dict[str, Any]:
    return {
        "envelope": ENVELOPE,
        "ok": True,
        "command": command,
        "schema": schema,
        "data": data,
        "error": None,
        "next": next_items(next_commands, workspace),
    }


def failure(
    command: str | None,
    schema: str | None,
    error: FactoryError,
    next_commands: Iterable[Suggestion],
    *,
    workspace: str | None = None,
    runs: Callable[[str], bool] | None = None,
) -> dict[str, Any]:
    """An error's envelope; its `next` also holds the commands the hint names in backticks
    (high priority, the hint's sentence as reason), those with a placeholder left out, and
    those `runs` says would not run as written (a command missing its arguments)."""
    hinted = [n for n in from_hint(error.hint) if runs is None or runs(n.command)]
    return {
        "envelope": ENVELOPE,
        "ok": False,
        "command": command,
        "schema": schema,
        "data": None,
        "error": error.to_dict(),
        "next": next_items([*next_commands, *hinted], workspace),
    }


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, default=str)
