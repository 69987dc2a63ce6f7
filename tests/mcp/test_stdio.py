"""A real `factory mcp` process driven by the SDK's stdio client: the tools are listed, 100
calls are answered, and every byte the server wrote on stdout was a JSON-RPC message, even
though a workspace component prints (with `print` and straight to file descriptor 1) on
every call."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from core.mcp.server import tool_list
from tests.conftest import REPO
from tests.mcp.conftest import ENV
from tests.mcp.test_tools import TOOL_LIST_LIMIT


def _wire(result: Any) -> str:
    return json.dumps(result.model_dump(by_alias=True, mode="json", exclude_none=True))


NOISY_SCHEMA = '''"""A schema that talks: on import and in a check, on stdout and on fd 1."""

import os

import pandera.pandas as pa

os.write(1, b"native noise at import\\n")
print("print noise at import")


def _noisy(series):
    os.write(1, b"native noise in a check\\n")
    print("print noise in a check")
    return True


TIME_ORDER = "increasing"
SCHEMA = pa.DataFrameSchema(
    {"precipitation": pa.Column(float, pa.Check(_noisy), nullable=False, coerce=True)},
    strict=False,
)
'''

NOISY_DATASET = """
[datasets.noisy]
source = "recent.csv"
time_column = "date"
schema = "noisy_v1"
"""


def _noisy_workspace(root: Path) -> None:
    schemas = root / "components" / "schemas"
    schemas.mkdir(parents=True, exist_ok=True)
    (schemas / "noisy_v1.py").write_text(NOISY_SCHEMA)
    config = root / "factory.toml"
    config.write_text(config.read_text() + NOISY_DATASET)


def _calls(ws: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """A round of read calls, one of them through the noisy schema."""
    return [
        ("status", {}),
        ("runs", {"model": "rain", "limit": 3}),
        ("validate", {"source": "recent.csv", "dataset": "noisy"}),
        ("show", {"run": ws["run_a"]}),
        ("curves", {"run": ws["run_b"], "summary": True}),
        ("tiers", {"model": "rain"}),
        ("card", {"model": "rain"}),
        ("trace", {"request_id": ws["request_id"]}),
        ("job", {"job_id": ws["job_id"]}),
        ("why", {"component": "hparams/tiny2"}),
    ]


@pytest.mark.slow
async def test_a_real_server_answers_100_calls_and_stdout_holds_only_protocol(
    mcp_ws: dict[str, Any], tmp_path: Path
) -> None:
    import mcp_types as types
    from mcp import Client, StdioServerParameters

    root = mcp_ws["root"]
    _noisy_workspace(root)
    raw = tmp_path / "stdout.raw"
    errors = tmp_path / "stderr.log"
    # `tee` keeps every byte the server writes on stdout while the SDK's client reads it.
    server = StdioServerParameters(
        command="sh",
        args=[
            "-c",
            '"$0" -m core.cli.main mcp --workspace "$1" 2>"$3" | tee "$2"',
            sys.executable,
            str(root),
            str(raw),
            str(errors),
        ],
        env={**os.environ, **ENV, "PYTHONPATH": str(REPO)},
        cwd=str(tmp_path),
    )
    answered: list[dict[str, Any]] = []
    async with Client(server, read_timeout_seconds=120) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        # Read-only by default: the writing tools are not offered.
        assert {"status", "runs", "job", "validate"} <= names
        assert not {"train", "note", "promote", "plan", "adr_new"} & names
        rounds = _calls(mcp_ws)
        while len(answered) < 100:
            name, arguments = rounds[len(answered) % len(rounds)]
            result = await client.call_tool(name, arguments)
            # Each answer is the command's envelope (whether it succeeds is the CLI's
            # business, tested elsewhere; here the calls must only be answered).
            doc = result.structured_content
            assert doc["command"] == name.replace("_", " ") and "ok" in doc, (name, doc)
            answered.append(doc)
    assert len(answered) == 100
    # The noisy calls really ran the schema that prints, and succeeded.
    noisy = [doc for doc in answered if doc["command"] == "validate"]
    assert len(noisy) == 10 and all(doc["ok"] for doc in noisy), noisy[:1]
    assert all(doc["data"]["dataset"] == "noisy" for doc in noisy)

    lines = raw.read_bytes().split(b"\n")
    assert lines[-1] == b"", "the last message ends with a newline"
    messages = [
        types.jsonrpc_message_adapter.validate_json(line, by_name=False) for line in lines[:-1]
    ]
    responses = [m for m in messages if getattr(m, "id", None) is not None]
    # The handshake or discovery, the listing, and one answer per call; nothing else.
    assert len(messages) == len(responses) >= 102
    tool_answers = [json.loads(line) for line in lines[:-1] if b'"structuredContent"' in line]
    assert len(tool_answers) == 100
    # The default listing, as the client got it, fits the budget, and is what test_tools
    # measures (the SDK adds its own fields around the tools).
    (listing,) = [line for line in lines[:-1] if b'"tools":[' in line]
    listed = json.loads(listing)["result"]["tools"]
    print(f"tools/list on the wire: {len(listing)} bytes for {len(listed)} tools")
    assert len(listing) < TOOL_LIST_LIMIT
    assert listed == json.loads(_wire(tool_list(allow_writes=False)))["tools"]
    # The noise was made, and went to stderr.
    told = errors.read_text()
    assert "native noise in a check" in told and "print noise in a check" in told
    assert b"noise" not in raw.read_bytes()
