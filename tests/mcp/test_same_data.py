"""Every read tool, called through the SDK's own in-memory client, answers with the same
envelope `data` as `factory X --json` run as a subprocess on the same workspace."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import pytest

from core.foundation.workspace import Workspace
from core.mcp.dispatch import _with_json
from core.mcp.server import EXIT_CODE_META, build_server
from core.mcp.tools import tool_specs
from tests.conftest import REPO, run_factory
from tests.mcp.conftest import ENV

# tool -> (its arguments, the same call on the command line), written out by hand for the
# tools whose data the fixture fills. Values in braces come from the fixture. A read tool
# not listed here (one added to the catalog later) is called too, with its required
# arguments filled by name from `BY_NAME`; the test fails only for a required argument it
# cannot fill, naming it.
CALLS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "adr_list": ({}, ["adr", "list"]),
    "adr_show": ({"number": "1"}, ["adr", "show", "1"]),
    "alerts": ({"all": True}, ["alerts", "--all"]),
    "card": ({"model": "rain"}, ["card", "rain"]),
    "cards": ({}, ["cards"]),
    "compare": ({"run_a": "{run_a}", "run_b": "{run_b}"}, ["compare", "{run_a}", "{run_b}"]),
    "components": ({"kind": "hparams"}, ["components", "--kind", "hparams"]),
    "curves": ({"run": "{run_a}", "summary": True}, ["curves", "{run_a}", "--summary"]),
    "data_list": ({}, ["data", "list"]),
    "data_show": ({"id": "{snapshot}"}, ["data", "show", "{snapshot}"]),
    "effects": ({"model": "rain"}, ["effects", "rain"]),
    # The build day: the tests' own calls (each a `command` event) are a day later.
    "history": ({"on": "2026-12-01", "all": True}, ["history", "--on", "2026-12-01", "--all"]),
    "job": ({"job_id": "{job_id}"}, ["job", "{job_id}"]),
    "jobs": ({}, ["jobs"]),
    "perf": ({"model": "rain"}, ["perf", "rain"]),
    "query": (
        {"sql": "SELECT run_id, model FROM runs ORDER BY run_id", "limit": 10},
        ["query", "SELECT run_id, model FROM runs ORDER BY run_id", "--limit", "10"],
    ),
    "runs": ({"model": "rain", "limit": 5}, ["runs", "rain", "--limit", "5"]),
    "serve_check": ({"model": "rain", "last": 10}, ["serve", "check", "rain", "--last", "10"]),
    "show": ({"run": "rain:prod"}, ["show", "rain:prod"]),
    "status": ({}, ["status"]),
    "tiers": ({"model": "rain"}, ["tiers", "rain"]),
    "trace": ({"request_id": "{request_id}"}, ["trace", "{request_id}"]),
    "validate": ({"source": "recent.csv", "dataset": "weather"}, ["validate", "recent.csv"]),
    "why": ({"component": "hparams/tiny"}, ["why", "hparams/tiny"]),
}

BY_NAME: dict[str, str] = {
    "model": "rain",
    "run": "{run_a}",
    "run_a": "{run_a}",
    "run_b": "{run_b}",
    "request_id": "{request_id}",
    "job_id": "{job_id}",
    "snapshot": "{snapshot}",
    "id": "{snapshot}",
    "dataset": "weather",
    "source": "recent.csv",
    "component": "hparams/tiny",
    "number": "1",
    "engine": "duckdb",
}
"""A required argument of a read tool not in `CALLS`, by its name -> the value to give."""

MUST_ANSWER_OK = {"status", "runs", "show", "card", "compare", "curves", "query", "history", "job"}
"""Read tools that must answer `ok` on the fixture (the others must only agree with the
CLI, failure or not, so a command broken elsewhere or with nothing to show here still
proves the face shows what the CLI shows)."""

VOLATILE: dict[str, set[tuple[str, ...]]] = {
    # The SQL lens says how long the statement took.
    "query": {("elapsed_ms",)},
}
"""Fields of `data` that legitimately differ from one call to the next (paths of keys),
and nothing else: every other field must be equal."""


def _fill(value: Any, ws: dict[str, Any]) -> Any:
    """`"{run_a}"` -> the fixture's run id; any other value as it is."""
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return str(ws[value[1:-1]])
    return value


def _drop(data: Any, paths: set[tuple[str, ...]]) -> Any:
    """`data` without the fields at `paths` (a path goes through dicts and every list item)."""
    if not paths:
        return data
    if isinstance(data, list):
        return [_drop(item, paths) for item in data]
    if not isinstance(data, dict):
        return data
    found = {}
    for key, value in data.items():
        if (key,) in paths:
            continue
        deeper = {p[1:] for p in paths if len(p) > 1 and p[0] == key}
        found[key] = _drop(value, deeper)
    return found


def _derived(spec: Any, ws: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A call of a read tool that is not in `CALLS`: its required arguments by name."""
    missing = [p.name for p in spec.params if p.required and p.name not in BY_NAME]
    assert missing == [], f"{spec.name}: add it to CALLS (or its arguments {missing} to BY_NAME)"
    arguments = {p.name: _fill(BY_NAME[p.name], ws) for p in spec.params if p.required}
    return arguments, spec.argv(arguments)


def _every_call(ws: dict[str, Any]) -> dict[str, tuple[dict[str, Any], list[str]]]:
    """Every read tool the server offers now, with its call and the CLI's."""
    found = {}
    for spec in tool_specs(allow_writes=False):
        found[spec.name] = CALLS[spec.name] if spec.name in CALLS else _derived(spec, ws)
    return found


def test_every_read_tool_has_a_call() -> None:
    """Each read tool is called: from `CALLS`, or with arguments derived by name; a listed
    tool that is no longer offered (renamed, or now writing) is a stale line."""
    read = {s.name for s in tool_specs(allow_writes=False)}
    assert set(CALLS) <= read, f"no longer read tools, remove: {sorted(set(CALLS) - read)}"
    fixture = {key: f"<{key}>" for key in ("run_a", "run_b", "request_id", "job_id", "snapshot")}
    assert set(_every_call(fixture)) == read
    assert read >= MUST_ANSWER_OK


def _differences(name: str, result: Any, cli: Any, via: str = "") -> list[str]:
    """What differs between a tool's result and the CLI's answer to the same call."""
    got, want = result.structured_content, cli.doc
    found: list[str] = []
    label = f"{name}{via}"
    if name in MUST_ANSWER_OK and not (got["ok"] is True and want["ok"] is True):
        found.append(f"{label}: not ok: mcp {got['error']}, cli {want['error']}")
    volatile = VOLATILE.get(name, set())
    if _drop(got["data"], volatile) != _drop(want["data"], volatile):
        found.append(f"{label}: data differs")
    for key in ("envelope", "ok", "command", "schema", "error", "next"):
        if got[key] != want[key]:
            found.append(f"{label}: {key} differs: {got[key]!r} != {want[key]!r}")
    if result.is_error is got["ok"] or (result.meta or {}).get(EXIT_CODE_META) != cli.code:
        found.append(f"{label}: is_error {result.is_error}, exit code {result.meta} != {cli.code}")
    if [c.type for c in result.content] != ["text"] or json.loads(result.content[0].text) != got:
        found.append(f"{label}: the text content is not the envelope")
    return found


@pytest.mark.slow
async def test_every_read_tool_gives_the_cli_data(mcp_ws: dict[str, Any]) -> None:
    """Two clients, the SDK's in-memory one and its stdio one driving a real `factory mcp`
    process, list the same tools, and each answers every read call with what `factory X
    --json` prints for it."""
    from mcp import Client, StdioServerParameters

    root = mcp_ws["root"]
    server, counter = build_server(Workspace(root), allow_writes=False)
    process = StdioServerParameters(
        command=sys.executable,
        args=["-m", "core.cli.main", "mcp", "--workspace", str(root)],
        env={**_without_session(os.environ), **ENV, "PYTHONPATH": str(REPO)},
        cwd=str(root),
    )
    problems: list[str] = []
    calls = _every_call(mcp_ws)
    async with Client(server) as memory, Client(process, read_timeout_seconds=120) as wire:
        for client in (memory, wire):
            assert {tool.name for tool in (await client.list_tools()).tools} == set(calls)
        for name, (arguments, argv) in calls.items():
            args = {k: _fill(v, mcp_ws) for k, v in arguments.items()}
            in_memory = await memory.call_tool(name, args)
            over_stdio = await wire.call_tool(name, args)
            cli = run_factory(*_with_json([_fill(a, mcp_ws) for a in argv]), cwd=root, env=ENV)
            problems += _differences(name, in_memory, cli, " (in memory)")
            problems += _differences(name, over_stdio, cli, " (stdio)")
    assert problems == [], "\n".join(problems)
    assert counter.calls == len(calls)


def _without_session(env: Any) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in ("FACTORY_SESSION", "FACTORY_WORKSPACE")}


async def test_a_failing_call_is_the_cli_error_envelope(mcp_ws: dict[str, Any]) -> None:
    from mcp import Client

    root = mcp_ws["root"]
    server, _ = build_server(Workspace(root), allow_writes=False)
    async with Client(server) as client:
        result = await client.call_tool("show", {"run": "r-000000000000"})
    cli = run_factory("show", "r-000000000000", "--json", cwd=root, env=ENV)
    assert result.is_error is True
    assert result.structured_content == cli.doc
    assert (result.meta or {})[EXIT_CODE_META] == cli.code == 3


async def test_every_tool_takes_fields_as_the_cli_does(mcp_ws: dict[str, Any]) -> None:
    """`fields` is in no schema (it would cost bytes in each) but every tool takes it, and
    it picks the same keys as `--fields`."""
    from mcp import Client

    root = mcp_ws["root"]
    server, _ = build_server(Workspace(root), allow_writes=False)
    async with Client(server) as client:
        assert all(
            "fields" not in t.input_schema["properties"] for t in (await client.list_tools()).tools
        )
        picked = await client.call_tool("runs", {"model": "rain", "fields": "count,runs.run_id"})
        tiers = await client.call_tool("tiers", {"model": "rain", "fields": "model"})
    cli = run_factory("runs", "rain", "--fields", "count,runs.run_id", cwd=root, env=ENV)
    assert picked.structured_content["ok"] is True
    assert picked.structured_content["data"] == cli.doc["data"]
    assert set(picked.structured_content["data"]) == {"count", "runs"}
    assert all(set(run) == {"run_id"} for run in picked.structured_content["data"]["runs"])
    assert list(tiers.structured_content["data"]) == ["model"]
