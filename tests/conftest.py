"""Shared fixtures: fresh workspaces and a way to run the real `factory` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
FACTORY = [sys.executable, "-m", "core.cli.main"]


@dataclass
class Ran:
    """A finished `factory` process."""

    code: int
    stdout: str
    stderr: str

    @property
    def doc(self) -> dict[str, Any]:
        """The JSON envelope on stdout (asserts there is exactly one document)."""
        return json.loads(self.stdout)


def run_factory(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 600
) -> Ran:
    """Run the real `factory` command in a subprocess."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1", "COLUMNS": "120"}
    full_env.pop("FACTORY_WORKSPACE", None)
    if env:
        full_env.update(env)
    proc = subprocess.run(
        [*FACTORY, *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Ran(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def factory() -> Any:
    return run_factory


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh workspace made by `factory init` (the in-process core function)."""
    from core.foundation.workspace_init import init_workspace

    root = tmp_path / "ws"
    init_workspace(root)
    monkeypatch.delenv("FACTORY_WORKSPACE", raising=False)
    monkeypatch.delenv("FACTORY_SESSION", raising=False)
    yield root


SHARED_BUILDS = ("mcp", "rollouts", "feedback", "sunset")
"""Test folders whose session fixture trains a workspace that every test there copies: run
on one xdist worker, so the workspace is built once rather than once per worker."""


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.path)).relative_to(REPO).parts
        if (
            len(parts) > 2
            and parts[0] == "tests"
            and parts[1] in SHARED_BUILDS
            and item.get_closest_marker("xdist_group") is None
        ):
            item.add_marker(pytest.mark.xdist_group(parts[1]))
