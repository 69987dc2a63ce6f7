"""MCP tools, derived from the command catalog and the CLI's own parser, so they cannot drift.

Each offered command becomes one tool: its name is the command's words joined by `_`
(`adr new` -> `adr_new`), its description the command's one-line help, and its input
schema comes from the argparse actions `factory X` parses (positionals and options, their
types, choices, defaults and whether they are required). A call's arguments are turned
back into the argv `factory X` would get, and the parser reads them exactly as it reads a
person's command line.

Which commands are offered is decided by the command specs alone (`core.cli.registry`):
`interactive` ones never (the TUI, this server), ones that need no workspace never (`init`
and `demo` make another workspace), and writing ones (`mutating`, undeclared counting as
writing) only with `--allow-writes`.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from typing import Any

from core.cli.registry import Command
from core.foundation.errors import UsageError

DESCRIPTION_CHARS = 90
"""A tool's description is cut at a clause boundary past this many characters (fewer when
the list must shrink to fit its budget: `core.mcp.server.tool_list`)."""

CLI_OWN = frozenset({"output", "workspace", "fields"})
"""Destinations of the flags every command shares (`--json`, `--md`, `--fields`,
`--workspace`): none is in a tool's schema. The server sets the output and the workspace;
`fields` is `SHARED`."""

SHARED = frozenset({"fields"})
"""Shared flags every tool takes without listing them (the server's instructions say so
once): `fields` (`--fields KEYS`, keys of `data` to keep) would cost about 50 bytes in each
of the schemas. An input schema does not forbid other properties, so a client may pass it."""


def tool_name(command: str) -> str:
    """`adr new` -> `adr_new`, `check new-data` -> `check_new_data`."""
    return command.replace(" ", "_").replace("-", "_")


def offered(cmd: Command, *, allow_writes: bool) -> bool:
    """Whether `factory mcp` offers `cmd` as a tool."""
    if cmd.interactive or not cmd.needs_workspace:
        return False
    return allow_writes or not cmd.writes


@dataclass(frozen=True)
class Param:
    """One argument of a tool: an argparse action, as JSON Schema sees it."""

    name: str
    flag: str | None
    """`--to` for an option; None for a positional."""
    kind: str
    """JSON Schema type: string, integer, number, boolean or array."""
    items: str | None
    """The items' type when `kind` is array."""
    required: bool
    choices: tuple[Any, ...] | None
    default: Any
    help: str

    def schema(self, *, defaults: bool = True) -> dict[str, Any]:
        scalar: dict[str, Any] = {"type": self.items if self.kind == "array" else self.kind}
        if self.choices:
            scalar["enum"] = list(self.choices)
        found = {"type": "array", "items": scalar} if self.kind == "array" else scalar
        if (
            defaults
            and self.default not in (None, False, [], "")
            and self.default is not argparse.SUPPRESS
            and self.kind != "array"
        ):
            found["default"] = self.default
        return found


def _json_type(action: argparse.Action) -> str:
    if action.type is int:
        return "integer"
    if action.type is float:
        return "number"
    return "string"


def _param(action: argparse.Action) -> Param:
    """The parameter an argparse action stands for; an action of a kind this does not know
    is refused here, so a new kind of argument fails the tests, not a client."""
    positional = not action.option_strings
    if positional:
        name, flag = action.dest, None
    else:
        flag = next((f for f in action.option_strings if f.startswith("--")), None)
        if flag is None:
            raise NotImplementedError(f"option {action.option_strings} has no long form")
        name = tool_name(flag[2:])
    help_text = (action.help or "").replace("%(default)s", str(action.default))
    choices = tuple(action.choices) if action.choices else None
    if isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction):
        kind, items = "boolean", None
        required = False
    elif isinstance(action, argparse._AppendAction):
        kind, items = "array", _json_type(action)
        required = bool(action.required)
    elif type(action) is argparse._StoreAction:
        many = action.nargs in ("*", "+") or isinstance(action.nargs, int)
        kind, items = ("array", _json_type(action)) if many else (_json_type(action), None)
        required = action.nargs not in ("?", "*") if positional else bool(action.required)
    else:
        raise NotImplementedError(f"argparse action {type(action).__name__} for {name!r}")
    return Param(name, flag, kind, items, required, choices, action.default, help_text)


_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str, int, float),  # a number where text goes (`adr_show` 3) is its text
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def _check_type(tool: str, param: Param, value: Any) -> None:
    """Refuse a value of the wrong JSON type before argparse turns it into text."""
    wanted = param.items if param.kind == "array" else param.kind
    values = value if param.kind == "array" else [value]
    if param.kind == "array" and not isinstance(value, list):
        values = [None]
    for one in values:
        ok = isinstance(one, _PYTHON_TYPES[str(wanted)]) and not (
            wanted != "boolean" and isinstance(one, bool)
        )
        if not ok:
            shape = f"a list of {wanted}s" if param.kind == "array" else f"a {wanted}"
            raise UsageError(
                f"{tool}: argument {param.name!r} must be {shape}, not {value!r}",
                hint=f"See the input schema of the `{tool}` tool.",
            )


@dataclass(frozen=True)
class ToolSpec:
    """One command as a tool: how it is described, and how its arguments become an argv."""

    name: str
    command: Command
    params: tuple[Param, ...]
    shared: tuple[Param, ...] = ()
    """The `SHARED` flags this command's parser has: taken, not listed."""

    @property
    def description(self) -> str:
        return self.describe()

    def describe(self, chars: int = DESCRIPTION_CHARS) -> str:
        """The command's one-line help up to its first aside (` (` or `; `) and, past
        `chars`, up to the last clause (`, `, `: ` or `? `) that fits (or the first clause,
        when none fits), so the whole list stays small; a command that trains says it
        answers with a job."""
        text = re.split(r" \(|; ", self.command.help, maxsplit=1)[0]
        if len(text) > chars:
            cuts = [m.start(1) for m in re.finditer(r"[^,:?]([,:?]) ", text)]
            fitting = [cut for cut in cuts if cut <= chars]
            if cuts:
                cut = fitting[-1] if fitting else cuts[0]
                text = text[: cut + (text[cut] == "?")]
        if self.command.background:
            text += "; returns a job"
        return text

    def input_schema(self, *, defaults: bool = True) -> dict[str, Any]:
        """The arguments as JSON Schema; without `defaults`, no `default` values (the CLI
        applies them anyway)."""
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {p.name: p.schema(defaults=defaults) for p in self.params},
        }
        required = [p.name for p in self.params if p.required]
        if required:
            schema["required"] = required
        return schema

    def argv(self, arguments: dict[str, Any] | None) -> list[str]:
        """The words after `factory` for a call with `arguments` (without `--json` and
        `--workspace`, which the caller adds before any `--`); a `UsageError` for an
        unknown argument, a missing required one or a value of the wrong type."""
        given = {k: v for k, v in (arguments or {}).items() if v is not None}
        known = {p.name: p for p in (*self.params, *self.shared)}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise UsageError(
                f"{self.name}: unknown argument {', '.join(map(repr, unknown))}",
                hint=f"Arguments of `{self.name}`: {', '.join(known) or 'none'}.",
            )
        missing = [p.name for p in self.params if p.required and p.name not in given]
        if missing:
            raise UsageError(
                f"{self.name}: missing required argument {', '.join(map(repr, missing))}",
                hint=f"See the input schema of the `{self.name}` tool.",
            )
        words = self.command.name.split()
        options: list[str] = []
        positionals: list[str] = []
        skipped: str | None = None
        for param in (*self.params, *self.shared):
            if param.name not in given:
                if param.flag is None:
                    skipped = skipped or param.name
                continue
            value = given[param.name]
            _check_type(self.name, param, value)
            if param.flag is None:
                if skipped is not None:
                    raise UsageError(
                        f"{self.name}: {param.name!r} needs {skipped!r} before it",
                        hint=f"Give {skipped!r} too.",
                    )
                positionals.extend(str(v) for v in (value if param.kind == "array" else [value]))
            elif param.kind == "boolean":
                if value:
                    options.append(param.flag)
            elif param.kind == "array":
                if param.items is not None and isinstance(value, list):
                    options.extend(f"{param.flag}={v}" for v in value)
            else:
                options.append(f"{param.flag}={value}")
        return [*words, *options, *(["--", *positionals] if positionals else [])]


def _parsers(parser: argparse.ArgumentParser, words: tuple[str, ...] = ()) -> dict[str, Any]:
    """Command name -> its own subparser, for every command the parser knows."""
    found: dict[str, Any] = {" ".join(words): parser} if words else {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for word, child in action.choices.items():
                found.update(_parsers(child, (*words, word)))
    return found


def spec_for(cmd: Command, parser: argparse.ArgumentParser) -> ToolSpec:
    actions = [
        action
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction | argparse._SubParsersAction)
    ]
    params = tuple(_param(action) for action in actions if action.dest not in CLI_OWN)
    shared = tuple(_param(action) for action in actions if action.dest in SHARED)
    names = [p.name for p in (*params, *shared)]
    if len(set(names)) != len(names):
        raise RuntimeError(f"{cmd.name}: two arguments map to one tool parameter: {names}")
    return ToolSpec(tool_name(cmd.name), cmd, params, shared)


def tool_specs(*, allow_writes: bool) -> list[ToolSpec]:
    """Every offered command as a tool, in name order."""
    from core.cli.main import build_parser, load_commands

    parsers = _parsers(build_parser())
    specs = [
        spec_for(cmd, parsers[name])
        for name, cmd in sorted(load_commands().items())
        if offered(cmd, allow_writes=allow_writes)
    ]
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise RuntimeError(f"two commands map to one tool name: {sorted(names)}")
    return specs
