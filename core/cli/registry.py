"""How a command is declared: one decorator, shared flags, one result shape.

A command module declares functions with `@command(...)`, which turns each into a `Command`;
the module lists them in its `COMMANDS` tuple and `core.cli.catalog` imports every module by
name, so the checker (and a reader) can follow every command to its code. Each takes a
`Context` and returns a `Reply` holding a typed result. The CLI driver (`core.cli.main`)
turns that into JSON, Markdown or Rich, so no command body prints or shapes output itself.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from core.foundation.errors import ExitCode
from core.foundation.suggest import Next, Suggestion, ordered
from core.foundation.workspace import Workspace, find_workspace


@dataclass(frozen=True)
class Arg:
    """One `add_argument` call, kept until the parser is built."""

    flags: tuple[str, ...]
    options: dict[str, Any]


def arg(*flags: str, **options: Any) -> Arg:
    return Arg(flags, options)


@dataclass
class Reply:
    """What a command returns: its result, the commands that make sense next, and the exit
    code (1 when a check said no)."""

    data: Any
    next: Sequence[Suggestion] = ()
    """What to run next, each a `Next` (command, reason, priority); kept most urgent first,
    each command once. A bare string is taken with an empty reason, which
    tests/test_next_steps.py refuses: it is only a stop-gap for a command still to be given
    its reasons."""
    exit_code: ExitCode = ExitCode.OK
    schema: str | None = None
    """The data's shape when it is not the command's usual one (`show --full` prints the
    report itself, `factory.report/3`)."""

    def __post_init__(self) -> None:
        self.next = ordered(self.next)

    @property
    def steps(self) -> list[Next]:
        """`next` as `Next`s, most urgent first."""
        return ordered(self.next)


@dataclass
class Context:
    """What a command body gets: parsed arguments and the workspace, found lazily."""

    args: argparse.Namespace
    command: str
    output: str
    """'json', 'md' or 'rich'."""

    @cached_property
    def workspace(self) -> Workspace:
        return find_workspace(explicit=getattr(self.args, "workspace", None))


Runner = Callable[[Context], Reply]


@dataclass(frozen=True)
class Command:
    name: str
    """Words after `factory`, e.g. `data snapshot`."""
    help: str
    schema: str
    """Versioned shape of the JSON `data`, e.g. `factory.status/1`."""
    run: Runner
    args: tuple[Arg, ...] = ()
    mutating: bool | None = None
    """Writes to the workspace (beyond the event log every command appends to): read-only
    commands are hidden from `history` by default, and `factory mcp` offers a writing command
    only when started with `--allow-writes`. Every command declares it; an undeclared one
    (None) counts as writing, and tests/mcp fails naming it."""
    needs_workspace: bool = True
    description: str | None = None
    interactive: bool = False
    """Holds the terminal or the standard streams, or runs until stopped (`tui`, `mcp`): never
    offered as an MCP tool."""
    background: bool = False
    """May run for minutes (it trains): `factory mcp` starts it as a job to poll (`job`)
    instead of holding the call open past a client's timeout."""

    @property
    def writes(self) -> bool:
        """Whether the command may write; an undeclared command is taken to write."""
        return self.mutating is not False


def command(
    name: str,
    *,
    help: str,
    schema: str,
    args: list[Arg] | tuple[Arg, ...] = (),
    mutating: bool | None = None,
    needs_workspace: bool = True,
    description: str | None = None,
    interactive: bool = False,
    background: bool = False,
) -> Callable[[Runner], Command]:
    """Declare a command; say whether it writes (`mutating=True` or `False`, see `Command`).
    Import nothing heavy at module level in command modules: every module is imported on
    every call, and `factory status --json` must stay fast."""

    def decorate(run: Runner) -> Command:
        return Command(
            name=name,
            help=help,
            schema=schema,
            run=run,
            args=tuple(args),
            mutating=mutating,
            needs_workspace=needs_workspace,
            description=description,
            interactive=interactive,
            background=background,
        )

    return decorate
