"""Fixtures for experiments: a workspace trained once per session, copied per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TINY = "# Tiny model for tests: 30 trees.\niterations = 30\nlearning_rate = 0.2\ndepth = 4\n"


def make_workspace(root: Path) -> Path:
    """A fresh workspace with a `tiny` hparams version (30 trees) and the weather snapshot."""
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
    (root / "components" / "hparams").mkdir(parents=True, exist_ok=True)
    (root / "components" / "hparams" / "tiny.toml").write_text(TINY)
    create_snapshot(Workspace(root), "weather")
    return root


@pytest.fixture(scope="session")
def trained_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Three tiny runs, trained once: rain with weather_v2 and weather_v1, temp with v2."""
    from core.flows.training import train_run
    from core.foundation.workspace import Workspace

    root = make_workspace(tmp_path_factory.mktemp("trained") / "ws")
    ws = Workspace(root)
    rain_v2 = train_run(ws, "rain", hparams="tiny", thread_count=2)
    rain_v1 = train_run(ws, "rain", hparams="tiny", features="weather_v1", thread_count=2)
    temp_v2 = train_run(ws, "temp", hparams="tiny", thread_count=2)
    return {
        "root": root,
        "rain_v2": rain_v2.run_id,
        "rain_v1": rain_v1.run_id,
        "temp": temp_v2.run_id,
    }


@pytest.fixture
def trained(trained_template: dict[str, Any], tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A private copy of the trained workspace (tests may change it)."""
    root = tmp_path / "trained-ws"
    shutil.copytree(trained_template["root"], root, symlinks=True)
    yield {**trained_template, "root": root}


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    return make_workspace(tmp_path / "fresh")
