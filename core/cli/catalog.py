"""Every command of `factory`, by explicit import: one place lists the command modules, and
each module lists its commands (`COMMANDS`), so nothing is registered by import side effect.
Command modules import nothing heavy at module level: all are imported on every call."""

from __future__ import annotations

from core.cli.commands import (
    compact,
    data,
    experiments,
    export,
    feedback,
    history,
    mcp,
    operations,
    query,
    records,
    remote,
    rollout,
    serve,
    status,
    sunset,
    tui,
    workspace,
)
from core.cli.registry import Command

MODULES = (
    compact,
    data,
    experiments,
    export,
    feedback,
    history,
    mcp,
    operations,
    query,
    records,
    remote,
    rollout,
    serve,
    status,
    sunset,
    tui,
    workspace,
)


def commands() -> dict[str, Command]:
    """Name -> command; a name declared twice is a bug found here, not by a user."""
    found: dict[str, Command] = {}
    for module in MODULES:
        for cmd in module.COMMANDS:
            if cmd.name in found:
                raise RuntimeError(f"command {cmd.name!r} is declared twice")
            found[cmd.name] = cmd
    return found
