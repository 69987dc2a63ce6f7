"""Fixtures for operations: a workspace with two tiny rain runs, trained once per session
and copied per test, plus helpers to run the real command in it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Ran, run_factory

TINY = "# Tiny model for tests: 30 trees.\niterations = 30\nlearning_rate = 0.2\ndepth = 4\n"
TINY2 = "# Another tiny model: 40 trees, deeper.\niterations = 40\nlearning_rate = 0.1\ndepth = 5\n"
ENV = {"FACTORY_THREADS": "2"}


def make_workspace(root: Path) -> Path:
    from core.data.snapshots import create_snapshot
    from core.foundation.workspace import Workspace
    from core.foundation.workspace_init import init_workspace

    init_workspace(root)
    # The leak check before a first training runs to a time budget; the check itself is
    # tested in full in tests/experiments/test_pit.py.
    config = root / "factory.toml"
    config.write_text(
        config.read_text().replace("seed = 42", "seed = 42\nleak_check_budget_s = 1.0")
    )
    hparams = root / "components" / "hparams"
    hparams.mkdir(parents=True, exist_ok=True)
    (hparams / "tiny.toml").write_text(TINY)
    (hparams / "tiny2.toml").write_text(TINY2)
    create_snapshot(Workspace(root), "weather")
    return root


@pytest.fixture(scope="session")
def ops_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from core.data.snapshots import latest_snapshot_id
    from core.flows.training import train_run
    from core.foundation.workspace import Workspace

    root = make_workspace(tmp_path_factory.mktemp("ops") / "ws")
    ws = Workspace(root)
    first = train_run(ws, "rain", hparams="tiny", thread_count=2)
    second = train_run(ws, "rain", hparams="tiny2", thread_count=2)
    return {
        "root": root,
        "run_a": first.run_id,
        "run_b": second.run_id,
        "snapshot": latest_snapshot_id(ws, "weather"),
    }


@pytest.fixture
def ops(
    ops_template: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """A private copy of the trained workspace and a `run(*args)` for the real command."""
    root = tmp_path / "ws"
    shutil.copytree(ops_template["root"], root, symlinks=True)
    monkeypatch.setenv("FACTORY_THREADS", "2")
    monkeypatch.delenv("FACTORY_WORKSPACE", raising=False)

    def run(*args: str, env: dict[str, str] | None = None) -> Ran:
        return run_factory(*args, "--json", cwd=root, env={**ENV, **(env or {})})

    yield {**ops_template, "root": root, "run": run}


def snapshot_frame(root: Path, snapshot: str) -> Any:
    import pandas as pd

    return pd.read_parquet(root / "data" / "snapshots" / snapshot / "data.parquet")


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]
