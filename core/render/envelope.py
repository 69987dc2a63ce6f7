"""The JSON envelope: the one document `--json` prints on stdout.

`{"ok", "command", "schema", "data", "error", "next"}`: see DESIGN.md and adrs for the
promise that `schema` names a versioned shape.
"""

from __future__ import annotations

import json
from typing import Any

from core.foundation.errors import FactoryError


def success(command: str, schema: str, data: Any, next_commands: list[str]) -> dict[str, Any]:
    return {
        "ok": True,
        "command": command,
        "schema": schema,
        "data": data,
        "error": None,
        "next": next_commands,
    }


def failure(
    command: str | None, schema: str | None, error: FactoryError, next_commands: list[str]
) -> dict[str, Any]:
    return {
        "ok": False,
        "command": command,
        "schema": schema,
        "data": None,
        "error": error.to_dict(),
        "next": next_commands,
    }


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, default=str)
