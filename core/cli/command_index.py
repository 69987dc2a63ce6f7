"""Which module declares which command, without importing any of them.

A call imports only the module of the command it runs: `factory status --json` is run at every
sitting and by every assistant turn, and importing every command module and building every
command's parser was a third of its time. `core.cli.catalog` stays the full, explicit list
(help, docs, MCP tools); tests/test_cli_docs.py checks `INDEX` against each module's own
`COMMANDS`, so the two cannot drift.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from core.cli.registry import Command

INDEX: dict[str, tuple[str, ...]] = {
    "compact": ("compact",),
    "data": ("data snapshot", "data list", "data show", "validate"),
    "experiments": ("components", "train", "runs", "show", "curves", "compare", "check features"),
    "export": ("export tables", "export ddl"),
    "feedback": ("feedback join", "feedback ingest", "live", "check degrading"),
    "history": ("history",),
    "mcp": ("mcp", "job", "jobs"),
    "operations": (
        "drift",
        "gate",
        "promote",
        "rollback",
        "tiers",
        "predict",
        "trace",
        "check new-data",
        "alerts",
        "alerts ack",
    ),
    "query": ("query",),
    "records": (
        "plan",
        "note",
        "cards",
        "card",
        "migrate cards",
        "why",
        "effects",
        "adr new",
        "adr list",
        "adr show",
        "adr supersede",
        "demo",
    ),
    "remote": ("push", "pull", "rebuild"),
    "rollout": (
        "rollout plan",
        "rollout start",
        "rollout status",
        "rollout list",
        "rollout pause",
        "rollout resume",
        "rollout abort",
        "rollout tick",
    ),
    "serve": ("serve", "serve check", "perf"),
    "status": ("status",),
    "sunset": ("sunset candidates", "sunset retire", "sunset removal-list"),
    "tui": ("tui",),
    "workspace": ("init",),
}
"""Module (under `core.cli.commands`) -> the names of the commands it declares."""

MODULE_OF: dict[str, str] = {name: module for module, names in INDEX.items() for name in names}
"""Command name -> the module that declares it."""

_GLOBAL_WITH_VALUE = ("--workspace", "--fields")


def named_words(argv: list[str]) -> list[str]:
    """The leading words of `argv` that may name a command: global flags (`--json`,
    `--workspace DIR`, ...) before them are skipped, and the first option after them ends
    them."""
    words: list[str] = []
    rest = iter(argv)
    for word in rest:
        if word == "--":
            break
        if word in _GLOBAL_WITH_VALUE:
            if words:
                break
            next(rest, None)
            continue
        if word.startswith("-"):
            if words:
                break
            continue
        words.append(word)
    return words


def named_command(argv: list[str]) -> str | None:
    """The longest command name the leading words of `argv` spell, or None."""
    words = named_words(argv)
    for length in range(len(words), 0, -1):
        name = " ".join(words[:length])
        if name in MODULE_OF:
            return name
    return None


def has_children(name: str) -> bool:
    return any(other.startswith(name + " ") for other in MODULE_OF)


def commands_for(name: str) -> dict[str, Command]:
    """The command `name` and each group command above it (`alerts` for `alerts ack`), from
    their modules alone: enough to build the parser that parses a call of `name`."""
    words = name.split()
    wanted = [" ".join(words[:depth]) for depth in range(1, len(words) + 1)]
    found: dict[str, Command] = {}
    for module in dict.fromkeys(MODULE_OF[w] for w in wanted if w in MODULE_OF):
        for cmd in declared_in(module):
            if cmd.name in wanted:
                found[cmd.name] = cmd
    return found


def declared_in(module: str) -> tuple[Command, ...]:
    """The commands of one module of `INDEX`, importing that module alone."""
    loaded = importlib.import_module(f"core.cli.commands.{module}")
    return cast("tuple[Command, ...]", loaded.COMMANDS)
