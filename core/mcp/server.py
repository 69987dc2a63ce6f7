"""`factory mcp`: the MCP server, over stdio, with the official MCP Python SDK (`mcp` 2.x).

Built on the SDK's low-level `Server` (2.x passes handlers to the constructor as `on_*`
callables): the tools are data derived from the command catalog (`core.mcp.tools`), not
Python functions for `MCPServer` to introspect. Each call answers with the CLI's envelope,
as structured content and as text, and the exit code in `_meta` (`factory/exit_code`).

stdout belongs to the protocol. Before serving, the protocol's ends are moved to private
descriptors and fd 1 is pointed at stderr (fd 0 at the null device), for good: whatever a
command, a library or native code (CatBoost) prints goes to stderr, and so does anything
the CLI prints after the server stops. Logging and warnings already go to stderr.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from dataclasses import dataclass
from typing import Any

from core.foundation.workspace import Workspace
from core.mcp.tools import DESCRIPTION_CHARS, ToolSpec, tool_specs

EXIT_CODE_META = "factory/exit_code"


def instructions(ws: Workspace, *, allow_writes: bool) -> str:
    """What a client shows its model before the first call."""
    text = (
        f"factory workspace {ws.root}: a model factory (walk-forward CatBoost runs, model "
        "cards, ADRs, gates, drift). Call `status` first. Every tool returns the envelope "
        "{ok, command, schema, data, error, next} that `factory X --json` prints; `next` "
        "lists the commands that make sense now, each a tool (`factory runs rain` is the "
        "`runs` tool with {model: rain}). A run is named by id, unique prefix, best, prod, "
        "staging or MODEL:best. Every tool also takes `fields` (keys of `data` to keep, e.g. "
        '"run_id,metrics.auc"; a dot goes one level down) to keep answers small. Tools that '
        "train return a job: poll `job` with its job_id."
    )
    if not allow_writes:
        text += (
            " Read-only: every tool here only reads; `factory mcp --allow-writes` also offers "
            "the writing tools."
        )
    return text


@dataclass
class Counter:
    """Calls answered, for the `factory mcp` reply when the client goes away."""

    calls: int = 0


def build_server(ws: Workspace, *, allow_writes: bool = False) -> tuple[Any, Counter]:
    """The SDK server offering the tools for `ws`, and its call counter."""
    import anyio
    import mcp_types as types
    from mcp.server import Server
    from mcp.shared.exceptions import MCPError

    from core.mcp.dispatch import call

    specs: dict[str, ToolSpec] = {s.name: s for s in tool_specs(allow_writes=allow_writes)}
    listed = tool_list(allow_writes=allow_writes, specs=list(specs.values()))
    counter = Counter()

    async def list_tools(ctx: Any, params: Any) -> Any:
        return listed

    async def call_tool(ctx: Any, params: Any) -> Any:
        spec = specs.get(params.name)
        if spec is None:
            raise MCPError(
                code=types.INVALID_PARAMS,
                message=f"Unknown tool: {params.name}"
                + ("" if allow_writes else " (writing tools need `factory mcp --allow-writes`)"),
            )
        answer = await anyio.to_thread.run_sync(call, spec, params.arguments, ws)
        counter.calls += 1
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=answer.text)],
            structured_content=answer.envelope,
            is_error=not answer.envelope.get("ok", False),
            _meta={EXIT_CODE_META: answer.exit_code},
        )

    server = Server(
        "factory",
        version=_version(),
        instructions=instructions(ws, allow_writes=allow_writes),
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )
    return server, counter


def _tool(types: Any, spec: ToolSpec, fit: Fit | None = None) -> Any:
    """The tool as listed. A read tool says so (`readOnlyHint`) unless `fit` leaves hints
    out; a writing one says nothing, which the protocol reads as "may write". Unknown
    arguments are refused at call time rather than by `additionalProperties`, which would
    cost bytes in every schema."""
    fit = fit or FITS[0]
    tool = types.Tool(
        name=spec.name,
        description=spec.describe(fit.chars),
        input_schema=spec.input_schema(defaults=fit.defaults),
    )
    if fit.hints and not spec.command.writes:
        tool.annotations = types.ToolAnnotations(read_only_hint=True)
    return tool


@dataclass(frozen=True)
class Fit:
    """How much of each command a listing keeps."""

    chars: int
    """Descriptions are cut at a clause past this many characters (0: the first clause)."""
    defaults: bool
    """Schemas carry the arguments' `default` values."""
    hints: bool = True
    """Read tools carry `readOnlyHint`. Only a read-only listing leaves it out (every tool
    in it reads, and the instructions say so); one with writing tools always keeps it."""


FITS = (
    Fit(DESCRIPTION_CHARS, defaults=True),
    Fit(DESCRIPTION_CHARS, defaults=False),
    Fit(60, defaults=False),
    Fit(60, defaults=False, hints=False),
    Fit(0, defaults=False, hints=False),
)
"""From the fullest listing to the tersest: `tool_list` takes the first within budget."""

TOOL_LIST_BUDGET = 7900
"""Bytes the read-only tools/list answer may take on the wire, the SDK's own fields (about
150 bytes) aside: with them, under 8 KB."""
PER_TOOL_BUDGET = 300
"""Bytes per tool with `--allow-writes`, whose list holds every writing command and cannot
fit 8 KB; it is held per tool instead."""


def tool_list(*, allow_writes: bool, specs: list[ToolSpec] | None = None) -> Any:
    """The `tools/list` result the server answers with (for `specs`, when given): the
    fullest listing within its budget (`FITS`), so a new command shortens the others'
    descriptions rather than push the list over; only when even the tersest is too big is
    it over (and tests/mcp fails)."""
    import mcp_types as types

    chosen = tool_specs(allow_writes=allow_writes) if specs is None else specs
    budget = PER_TOOL_BUDGET * len(chosen) if allow_writes else TOOL_LIST_BUDGET
    fits = [fit for fit in FITS if fit.hints or not allow_writes]
    for fit in fits:
        result = types.ListToolsResult(tools=[_tool(types, spec, fit) for spec in chosen])
        if wire_bytes(result) <= budget:
            break
    return result


def wire_bytes(result: Any) -> int:
    """The size of `result` as the SDK writes it on stdio (by alias, no nulls, compact)."""
    dumped = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    return len(json.dumps(dumped, separators=(",", ":"), ensure_ascii=False).encode())


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("factory")
    except metadata.PackageNotFoundError:
        return "0"


def _claim_stdio() -> tuple[io.TextIOWrapper, io.TextIOWrapper]:
    """The protocol's ends on private descriptors; fd 1 -> stderr and fd 0 -> the null
    device from now on, so nothing else can write to the client or read its messages."""
    sys.stdout.flush()
    wire_out = os.dup(1)
    wire_in = os.dup(0)
    os.dup2(2, 1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    reader = io.TextIOWrapper(os.fdopen(wire_in, "rb"), encoding="utf-8", errors="replace")
    writer = io.TextIOWrapper(os.fdopen(wire_out, "wb"), encoding="utf-8", newline="\n")
    return reader, writer


def run(ws: Workspace, *, allow_writes: bool = False) -> int:
    """Serve `ws` over stdio until the client closes stdin; the number of calls answered.

    Relative paths in arguments (`predict --input x.csv`) are read from the workspace."""
    import anyio
    from mcp.server.stdio import stdio_server

    os.chdir(ws.root)
    server, counter = build_server(ws, allow_writes=allow_writes)
    reader, writer = _claim_stdio()

    async def serve() -> None:
        async with stdio_server(anyio.wrap_file(reader), anyio.wrap_file(writer)) as streams:
            await server.run(streams[0], streams[1], server.create_initialization_options())

    try:
        anyio.run(serve)
    finally:
        for stream in (writer, reader):
            with contextlib.suppress(OSError):
                stream.close()
    return counter.calls
