"""MCP face: what a tool call costs against the same `factory X --json` as a subprocess,
and the size of the tool list a client loads.

A call runs in the server's process (`core.mcp.dispatch`), so it skips the interpreter
start and the imports a subprocess pays each time. Measured three ways: the SDK's in-memory
client (the server's own cost), a real `factory mcp` over stdio (what a client sees), and
`factory X --json` as a subprocess. Run with `python -m bench mcp` (not `python
bench/mcp.py`: this file's name would hide the `mcp` package).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
ROUNDS = 15
CALLS: tuple[tuple[str, dict[str, Any], list[str]], ...] = (
    ("status", {}, ["status"]),
    ("runs", {"model": "rain"}, ["runs", "rain"]),
    ("show", {"run": "rain:best"}, ["show", "rain:best"]),
    ("card", {"model": "rain"}, ["card", "rain"]),
)


def _workspace(root: Path) -> Path:
    from core.data.snapshots import create_snapshot
    from core.flows.training import train_run
    from core.foundation.workspace import Workspace
    from core.foundation.workspace_init import init_workspace

    init_workspace(root)
    config = root / "factory.toml"
    config.write_text(
        config.read_text().replace("seed = 42", "seed = 42\nleak_check_budget_s = 1.0")
    )
    hparams = root / "components" / "hparams"
    hparams.mkdir(parents=True, exist_ok=True)
    (hparams / "tiny.toml").write_text("iterations = 30\nlearning_rate = 0.2\ndepth = 4\n")
    ws = Workspace(root)
    create_snapshot(ws, "weather")
    train_run(ws, "rain", hparams="tiny", thread_count=2)
    return root


async def _calls(client: Any) -> tuple[dict[str, list[float]], set[str]]:
    """Every call in `CALLS`, warm, `ROUNDS` times: the seconds each took, and the calls
    that did not answer `ok` (another area's command broken for now: its figure is kept,
    but marked, since a failure is cheaper than an answer)."""
    times: dict[str, list[float]] = {name: [] for name, _, _ in CALLS}
    failed: set[str] = set()
    for name, arguments, _ in CALLS:  # warm: the first call pays the imports once
        await client.call_tool(name, arguments)
    for _ in range(ROUNDS):
        for name, arguments, _ in CALLS:
            started = time.perf_counter()
            result = await client.call_tool(name, arguments)
            times[name].append(time.perf_counter() - started)
            if not result.structured_content["ok"]:
                failed.add(name)
    return times, failed


async def _in_process(root: Path) -> tuple[dict[str, list[float]], set[str]]:
    """Through the SDK's in-memory client: the server's own cost per call."""
    from mcp import Client

    from core.foundation.workspace import Workspace
    from core.mcp.server import build_server

    server, _ = build_server(Workspace(root))
    async with Client(server) as client:
        return await _calls(client)


async def _stdio(root: Path) -> tuple[dict[str, list[float]], set[str], float]:
    """A real `factory mcp` process over stdio: what a client sees per call, and how long
    the server takes from its start to its first answered call."""
    from mcp import Client, StdioServerParameters

    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "core.cli.main", "mcp", "--workspace", str(root)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=str(root),
    )
    started = time.perf_counter()
    async with Client(server, read_timeout_seconds=120) as client:
        await client.call_tool("status", {})
        first = time.perf_counter() - started
        times, failed = await _calls(client)
    return times, failed, first


def _subprocess(root: Path) -> dict[str, list[float]]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    times: dict[str, list[float]] = {name: [] for name, _, _ in CALLS}
    for _ in range(ROUNDS):
        for name, _, argv in CALLS:
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "core.cli.main", *argv, "--json"],
                cwd=root,
                env=env,
                capture_output=True,
                check=False,
            )
            times[name].append(time.perf_counter() - started)
    return times


def _sizes() -> dict[str, tuple[int, int]]:
    """Tools and bytes of the tool list, as the server lists it on the wire."""
    from core.mcp.server import tool_list, wire_bytes

    found = {}
    for allow_writes in (False, True):
        result = tool_list(allow_writes=allow_writes)
        found["with writes" if allow_writes else "read-only"] = (
            len(result.tools),
            wire_bytes(result),
        )
    return found


def main() -> None:
    import anyio

    for label, (count, size) in _sizes().items():
        print(f"tool list {label:12} {count:3d} tools {size:7,d} bytes")
    with tempfile.TemporaryDirectory() as folder:
        root = _workspace(Path(folder) / "ws")
        inside, failed = anyio.run(_in_process, root)
        wire, wire_failed, first = anyio.run(_stdio, root)
        outside = _subprocess(root)
    print(f"stdio server: first answer {first * 1000:.0f} ms after start")
    print(
        f"{'call':8} {'in-memory ms':>12} {'stdio ms':>9} {'subprocess ms':>14} {'ratio':>6}"
        f"   (medians of {ROUNDS}; ratio = subprocess / stdio)"
    )
    for name, _, _ in CALLS:
        mem_ms = statistics.median(inside[name]) * 1000
        wire_ms = statistics.median(wire[name]) * 1000
        cli_ms = statistics.median(outside[name]) * 1000
        mark = "  (not ok)" if name in failed | wire_failed else ""
        print(
            f"{name:8} {mem_ms:12.1f} {wire_ms:9.1f} {cli_ms:14.1f} {cli_ms / wire_ms:6.1f}x{mark}"
        )


if __name__ == "__main__":
    main()
