"""Read-only by default: a server started without --allow-writes refuses a writing tool and
the workspace's memory is unchanged; with the flag the same call writes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from core.foundation.workspace import Workspace
from core.mcp.server import build_server

MEMORY = ("cards", "reports", "adrs", "components", "factory.toml")
"""What a writing command changes (the event log, which every call appends to, aside)."""


def _memory(root: Path) -> dict[str, str]:
    found = {}
    for top in MEMORY:
        for path in sorted([root / top, *(root / top).rglob("*")]):
            if path.is_file():
                found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


async def _note(root: Path, run_id: str, *, allow_writes: bool) -> Any:
    from mcp import Client
    from mcp.shared.exceptions import MCPError

    server, _ = build_server(Workspace(root), allow_writes=allow_writes)
    async with Client(server) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        try:
            result = await client.call_tool("note", {"run": run_id, "text": "from mcp"})
        except MCPError as refused:
            return names, refused
    return names, result


async def test_a_writing_tool_is_refused_without_the_flag(mcp_ws: dict[str, Any]) -> None:
    root = mcp_ws["root"]
    before = _memory(root)
    names, answer = await _note(root, mcp_ws["run_a"], allow_writes=False)
    assert "note" not in names
    refused = answer if isinstance(answer, Exception) else None
    if refused is None:  # a client may hand the protocol error back as a result
        assert answer.is_error is True
    assert "allow-writes" in str(refused if refused is not None else answer.content)
    assert _memory(root) == before


async def test_with_the_flag_the_same_call_writes(mcp_ws: dict[str, Any]) -> None:
    root = mcp_ws["root"]
    before = _memory(root)
    names, answer = await _note(root, mcp_ws["run_a"], allow_writes=True)
    assert "note" in names
    assert not isinstance(answer, Exception), answer
    assert answer.structured_content["ok"] is True, answer.structured_content
    assert _memory(root) != before


async def _call(root: Path, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    from mcp import Client

    server, _ = build_server(Workspace(root), allow_writes=True)
    async with Client(server) as client:
        result = await client.call_tool(tool, arguments)
    found: dict[str, Any] = result.structured_content
    return found


async def test_a_call_reaches_no_path_outside_its_workspace(
    mcp_ws: dict[str, Any], tmp_path: Path
) -> None:
    root = mcp_ws["root"]
    secret = tmp_path / "secret.csv"
    secret.write_text("date,precipitation\nFACTORY-SECRET,1\n")
    (root / "link-out.csv").symlink_to(secret)
    refused = [
        ("validate", {"source": str(secret)}),
        ("validate", {"source": "../secret.csv"}),
        ("validate", {"source": "link-out.csv"}),
        ("validate", {"source": "/etc/passwd"}),
        ("serve_check", {"model": "rain", "url": "http://example.com:8000"}),
        ("serve_check", {"model": "rain", "url": "http://10.0.0.1:8000"}),
        ("predict", {"model": "rain", "input": "recent.csv", "output": str(tmp_path / "o.csv")}),
        ("push", {"remote": str(tmp_path / "remote")}),
    ]
    for tool, arguments in refused:
        doc = await _call(root, tool, arguments)
        assert doc["ok"] is False, (tool, arguments, doc)
        assert doc["error"]["code"] == "outside_workspace", (tool, arguments, doc["error"])
        assert "FACTORY-SECRET" not in json.dumps(doc)
    assert not (tmp_path / "o.csv").exists() and not (tmp_path / "remote").exists()
    # Inside the workspace the same tool answers as the CLI does.
    inside = await _call(root, "validate", {"source": "recent.csv"})
    assert inside["error"] is None or inside["error"]["code"] != "outside_workspace", inside
