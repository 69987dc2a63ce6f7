"""`factory init` writes an AGENTS.md that tells any assistant how to drive the workspace,
and never touches one that is already there; `factory mcp` itself starts only in a
workspace and prints nothing but the protocol on stdout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from core.foundation.workspace_init import AGENTS_MD, init_workspace
from tests.conftest import REPO, run_factory


def test_init_writes_agents_md_that_says_how_to_drive_the_workspace(tmp_path: Path) -> None:
    ran = run_factory("init", str(tmp_path / "ws"), "--json")
    assert ran.code == 0 and "AGENTS.md" in ran.doc["data"]["created"]
    text = (tmp_path / "ws" / "AGENTS.md").read_text(encoding="utf-8")
    assert text == AGENTS_MD
    for needed in (
        "factory status --json",  # where to start
        '"ok"',  # the envelope
        '"next"',
        "Exit codes",
        "1 a check said no",
        "`best`",  # refs wherever a run goes
        "`prod`",
        "`MODEL:best`",
        "factory mcp",
        "--allow-writes",
        "FACTORY_SESSION",
    ):
        assert needed in text, needed


def test_init_never_overwrites_an_agents_md(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    mine = "# My own notes for the assistant\nNever train on Fridays.\n"
    (root / "AGENTS.md").write_text(mine, encoding="utf-8")
    result = init_workspace(root)
    assert "AGENTS.md" in result.existing and "AGENTS.md" not in result.created
    assert (root / "AGENTS.md").read_text(encoding="utf-8") == mine
    # A second init of a workspace with factory's own file changes nothing either.
    other = tmp_path / "other"
    init_workspace(other)
    again = init_workspace(other)
    assert again.created == [] and "AGENTS.md" in again.existing


def test_mcp_outside_a_workspace_fails_on_stderr_only(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli.main", "mcp"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        input=b"",
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 3
    assert proc.stdout == b""
    assert b"factory.toml" in proc.stderr


def test_mcp_with_no_client_ends_cleanly_and_prints_nothing(tmp_path: Path) -> None:
    """stdin closed at once: the server stops, and its own closing words go to stderr."""
    init_workspace(tmp_path / "ws")
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli.main", "mcp", "--workspace", str(tmp_path / "ws")],
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        input=b"",
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b""
