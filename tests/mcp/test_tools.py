"""The tools are the command catalog: every command says whether it writes, the offer
follows that attribute alone, each schema reads back through the CLI's own parser, and the
whole list stays small."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from core.cli.main import build_parser, load_commands
from core.cli.registry import Command, Context, Reply, command
from core.foundation.errors import UsageError
from core.mcp.dispatch import _with_json
from core.mcp.tools import ToolSpec, offered, spec_for, tool_name, tool_specs

TOOL_LIST_LIMIT = 8 * 1024
"""The read-only tool list (what every client gets by default) must fit in 8 KB on the wire,
the SDK's own fields included (measured: 7.2 KB for 30 tools, 7.4 KB on stdio). It grows by
itself as read commands are added and then gets terser (`core.mcp.server.FITS`), so this is
a budget, not a count of tools."""
PER_TOOL_LIMIT = 320
"""With --allow-writes the list also carries every writing command (60 tools, 15.5 KB
measured, about 260 bytes each) and grows with the catalog, so it is held per tool: a
description or schema that bloats fails here."""
ONE_TOOL_LIMIT = 800
"""No single tool over this (the largest, `rollout_start`, is about 660 bytes)."""


def _listed(allow_writes: bool) -> tuple[int, list[int]]:
    """The tools/list result's size as the SDK writes it on the wire, and each tool's."""
    from core.mcp.server import tool_list, wire_bytes

    result = tool_list(allow_writes=allow_writes)
    return wire_bytes(result), [wire_bytes(tool) for tool in result.tools]


def test_every_command_declares_whether_it_writes() -> None:
    undeclared = sorted(name for name, cmd in load_commands().items() if cmd.mutating is None)
    assert undeclared == [], (
        f"commands without mutating=True/False in their @command(...): {undeclared}; "
        "`factory mcp` treats them as writing"
    )


def test_an_undeclared_command_counts_as_writing() -> None:
    @command("probe", help="p", schema="factory.probe/1")
    def probe(ctx: Context) -> Reply:  # pragma: no cover - never run
        return Reply({})

    assert probe.mutating is None and probe.writes
    assert not offered(probe, allow_writes=False)
    assert offered(probe, allow_writes=True)


def test_the_offer_follows_the_spec_attributes_only() -> None:
    commands = load_commands()
    read = {s.command.name for s in tool_specs(allow_writes=False)}
    every = {s.command.name for s in tool_specs(allow_writes=True)}
    servable = {n for n, c in commands.items() if not c.interactive and c.needs_workspace}
    assert read == {n for n in servable if commands[n].mutating is False}
    assert every == servable
    writing = every - read
    # The writing commands the issue names are among them, and none is offered read-only.
    for name in ("plan", "train", "promote", "rollback", "note", "adr new", "adr supersede"):
        assert name in writing, name
    for name in ("data snapshot", "alerts ack", "predict", "gate", "drift"):
        assert name in writing, name
    assert {"status", "runs", "show", "query", "history", "job"} <= read
    # Faces and workspace makers are never tools.
    assert not {"tui", "mcp", "serve", "init", "demo"} & every


def test_writing_tools_are_absent_without_the_flag() -> None:
    read = {s.name for s in tool_specs(allow_writes=False)}
    every = {s.name for s in tool_specs(allow_writes=True)}
    assert read < every
    assert {"train", "plan", "promote", "note", "adr_new"} <= every - read
    assert all(not s.command.writes for s in tool_specs(allow_writes=False))


def test_the_tool_list_is_small() -> None:
    (read_only, read_sizes), (full, sizes) = _listed(False), _listed(True)
    print(f"tool list: {read_only} bytes read-only, {full} with --allow-writes")
    names = [s.name for s in tool_specs(allow_writes=False)]
    largest = sorted(zip(read_sizes, names, strict=True))[-5:]
    assert read_only < TOOL_LIST_LIMIT, (
        f"the read-only tool list is {read_only} bytes for {len(read_sizes)} tools; shorten "
        f"the commands' help (the largest tools: {largest})"
    )
    assert full / len(sizes) < PER_TOOL_LIMIT
    assert max(sizes) < ONE_TOOL_LIMIT


def test_a_longer_catalog_gets_a_terser_list_within_budget() -> None:
    """Read commands added later (by anyone) shorten the listing rather than push it over
    its budget; a small catalog keeps the fullest listing, hints and defaults included."""
    import dataclasses

    from core.mcp.server import FITS, TOOL_LIST_BUDGET, tool_list, wire_bytes

    specs = tool_specs(allow_writes=False)
    small = tool_list(allow_writes=False, specs=specs[:5])
    assert all(tool.annotations and tool.annotations.read_only_hint for tool in small.tools)
    assert [tool.description for tool in small.tools] == [s.description for s in specs[:5]]
    runs = next(s for s in specs if s.name == "runs")
    listed = tool_list(allow_writes=False, specs=[runs]).tools[0]
    assert listed.input_schema["properties"]["limit"]["default"] == 1000

    many = [dataclasses.replace(s, name=f"{s.name}_{i}") for i in range(3) for s in specs[:15]]
    assert len(many) == 45
    fullest = tool_list(allow_writes=False, specs=many[:1])
    big = tool_list(allow_writes=False, specs=many)
    assert wire_bytes(big) <= TOOL_LIST_BUDGET < 45 * wire_bytes(fullest)
    assert len(big.tools) == 45
    terse = any(t.description != s.description for t, s in zip(big.tools, many, strict=True))
    assert terse or all(t.annotations is None for t in big.tools)
    # A writing listing never drops its hints: they are what tells reads from writes.
    assert all(fit.hints for fit in FITS[:3])
    every = tool_list(allow_writes=True)
    read_names = {s.name for s in specs}
    hinted = {t.name for t in every.tools if t.annotations and t.annotations.read_only_hint}
    assert hinted == read_names


def test_long_help_is_cut_at_a_clause_and_a_job_is_announced() -> None:
    def spec(help_text: str, *, background: bool = False) -> ToolSpec:
        cmd = Command(
            "probe", help_text, "factory.probe/1", run=lambda ctx: Reply({}), mutating=False,
            background=background,
        )  # fmt: skip
        return ToolSpec("probe", cmd, ())

    short = "list the runs (newest first)"
    assert spec(short).description == "list the runs"
    assert spec("a; b").description == "a"
    long = "is it served? " + "x" * 40 + ", " + "y" * 60
    assert spec(long).description == "is it served? " + "x" * 40
    asked = "is it what is served? " + "z" * 90
    assert spec(asked).description == "is it what is served?"
    assert spec("where are we, and what now?").describe(0) == "where are we"
    assert spec("x" * 100).description == "x" * 100  # no clause to cut at
    assert spec("train it", background=True).description == "train it; returns a job"
    assert all(len(s.description) <= 110 for s in tool_specs(allow_writes=True))


def _sample(param: Any) -> Any:
    """A value of the parameter's type (its first choice when it has choices)."""
    if param.kind == "boolean":
        return True
    scalar = {"integer": 7, "number": 2.5, "string": "-x y"}[param.items or param.kind]
    if param.choices:
        scalar = param.choices[-1]
    return [scalar, scalar] if param.kind == "array" else scalar


def _attr(parser_dest: str, ns: argparse.Namespace) -> Any:
    return getattr(ns, parser_dest)


@pytest.mark.slow
def test_each_schema_reads_back_through_the_cli_parser() -> None:
    """Every parameter of every tool, given a value, reaches the parser as that value: the
    schema and the argv builder agree with the command line (a text value starting with `-`
    included), so the tools cannot drift from the CLI."""
    parser = build_parser()
    for spec in tool_specs(allow_writes=True):
        dests = _dests(spec)
        for param in spec.params:
            arguments = {p.name: _sample(p) for p in spec.params if p.required}
            arguments[param.name] = _sample(param)
            ns = parser.parse_args(_with_json(spec.argv(arguments)))
            assert ns.command_name == spec.command.name
            got = _attr(dests[param.name], ns)
            want = arguments[param.name]
            if param.kind == "boolean":
                assert got is not _default_of(spec, param.name), (spec.name, param.name)
            elif param.kind == "array":
                assert [str(v) for v in got] == [str(v) for v in want], (spec.name, param.name)
            else:
                assert str(got) == str(want), (spec.name, param.name, got, want)


def _dests(spec: ToolSpec) -> dict[str, str]:
    from core.mcp.tools import _parsers

    sub = _parsers(build_parser())[spec.command.name]
    found = {}
    for action in sub._actions:
        if action.option_strings:
            long = next((f for f in action.option_strings if f.startswith("--")), None)
            if long:
                found[tool_name(long[2:])] = action.dest
        else:
            found[action.dest] = action.dest
    return found


def _default_of(spec: ToolSpec, name: str) -> Any:
    return next(p.default for p in spec.params if p.name == name)


def test_schemas_say_types_choices_defaults_and_what_is_required() -> None:
    specs = {s.name: s for s in tool_specs(allow_writes=True)}
    promote = specs["promote"].input_schema()
    assert promote["required"] == ["run", "to"]
    assert promote["properties"]["to"] == {"type": "string", "enum": ["staging", "prod"]}
    runs = specs["runs"].input_schema()
    assert "required" not in runs
    assert runs["properties"]["limit"] == {"type": "integer", "default": 1000}
    assert runs["properties"]["all"] == {"type": "boolean"}
    # Positionals: `nargs="?"` and `"*"` are optional, a list for `"*"`.
    assert "required" not in specs["query"].input_schema()
    pull = specs["pull"].input_schema()
    assert "required" not in pull
    assert pull["properties"]["items"] == {"type": "array", "items": {"type": "string"}}
    assert specs["compare"].input_schema()["required"] == ["run_a", "run_b"]
    adr = specs["adr_new"].input_schema()["properties"]
    assert adr["option"] == {"type": "array", "items": {"type": "string"}}
    assert specs["check_features"].input_schema()["properties"]["budget"]["type"] == "number"
    assert specs["train"].description.endswith("returns a job")
    assert specs["train"].command.background and not specs["note"].command.background


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"model": "rain", "bogus": 1}, "unknown argument 'bogus'"),
        ({"limit": 3}, None),
        ({"model": "rain", "limit": "3"}, "must be a integer"),
        ({"model": "rain", "limit": True}, "must be a integer"),
        ({"model": "rain", "all": "yes"}, "must be a boolean"),
        ({"model": ["rain"]}, "must be a string"),
    ],
)
def test_bad_arguments_are_refused_as_usage_errors(
    arguments: dict[str, Any], message: str | None
) -> None:
    spec = next(s for s in tool_specs(allow_writes=False) if s.name == "runs")
    if message is None:
        assert spec.argv(arguments) == ["runs", "--limit=3"]
        return
    with pytest.raises(UsageError, match=message):
        spec.argv(arguments)


def test_a_missing_required_argument_is_refused() -> None:
    spec = next(s for s in tool_specs(allow_writes=True) if s.name == "promote")
    with pytest.raises(UsageError, match="missing required argument 'to'"):
        spec.argv({"run": "best"})
    assert spec.argv({"run": "best", "to": "prod"}) == ["promote", "--to=prod", "--", "best"]
    # A number where the CLI takes text is its text (`adr_show` 3).
    show = next(s for s in tool_specs(allow_writes=False) if s.name == "adr_show")
    assert show.argv({"number": 3}) == ["adr", "show", "--", "3"]


def test_a_new_kind_of_argument_fails_loudly() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--verbose", "-v", action="count")
    cmd = Command("probe", "p", "factory.probe/1", run=lambda ctx: Reply({}), mutating=False)
    with pytest.raises(NotImplementedError, match="_CountAction"):
        spec_for(cmd, parser)
