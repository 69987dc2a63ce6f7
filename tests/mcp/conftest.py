"""Fixtures for the MCP face: a small workspace with something for every read tool to show
(two tiny runs, tiers, a prediction to trace, a note, an ADR, a finished job), built once
per session by the real core and the real `factory` command, and copied per test."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Ran, run_factory

TINY = "# Tiny model for tests: 30 trees.\niterations = 30\nlearning_rate = 0.2\ndepth = 4\n"
TINY2 = "# Another tiny model: 40 trees, deeper.\niterations = 40\nlearning_rate = 0.1\ndepth = 5\n"
BUILT = "2026-12-01T12:00:00Z"
"""When the fixture's workspace was built (its clock is pinned)."""
NOW = "2026-12-02T12:00:00Z"
"""When the tests call: pinned for the CLI and the server alike, so "ago" fields agree, and a
day after `BUILT`, so a question about the build day is not changed by the tests' own calls
(each call appends a `command` event)."""
ENV = {"FACTORY_THREADS": "2", "FACTORY_NOW": NOW}


def make_workspace(root: Path) -> Path:
    from core.data.snapshots import create_snapshot
    from core.foundation.workspace import Workspace
    from core.foundation.workspace_init import init_workspace

    init_workspace(root)
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


def _ok(ran: Ran) -> dict[str, Any]:
    assert ran.code == 0, ran.stdout + ran.stderr
    data: dict[str, Any] = ran.doc["data"]
    return data


@pytest.fixture(scope="session")
def mcp_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    saved = os.environ.get("FACTORY_NOW")
    os.environ["FACTORY_NOW"] = BUILT
    try:
        return _build(tmp_path_factory.mktemp("mcp") / "ws")
    finally:
        if saved is None:
            os.environ.pop("FACTORY_NOW", None)
        else:
            os.environ["FACTORY_NOW"] = saved


def _build(root: Path) -> dict[str, Any]:
    import pandas as pd

    from core.cli.jobs import read_job, start_job
    from core.data.snapshots import latest_snapshot_id
    from core.flows.training import train_run
    from core.foundation.workspace import Workspace

    make_workspace(root)
    ws = Workspace(root)
    first = train_run(ws, "rain", hparams="tiny", thread_count=2)
    second = train_run(ws, "rain", hparams="tiny2", thread_count=2)
    snapshot = latest_snapshot_id(ws, "weather")
    assert snapshot is not None
    frame = pd.read_parquet(root / "data" / "snapshots" / snapshot / "data.parquet")
    frame.tail(60).to_csv(root / "recent.csv", index=False)

    def cli(*args: str) -> dict[str, Any]:
        return _ok(run_factory(*args, "--json", cwd=root, env={**ENV, "FACTORY_NOW": BUILT}))

    cli("promote", first.run_id, "--to", "staging", "--override", "fixture")
    cli("promote", first.run_id, "--to", "prod", "--override", "fixture")
    cli("predict", "rain", "--input", "recent.csv", "--from", "2015-12-20", "--output", "out.csv")
    request_id = str(pd.read_csv(root / "out.csv")["request_id"].iloc[0])
    cli("note", first.run_id, "tiny trees are enough here", "--next", "try tiny2 in winter")
    cli("adr", "new", "Keep tiny trees for rain", "--link", first.run_id, "--decision", "small")
    # A finished job: the same training again, which reuses the run and ends at once.
    job = start_job(ws, "train", ["train", "--hparams=tiny", "--", "rain"])
    deadline = time.monotonic() + 120
    while read_job(ws, job.job_id).status == "running":
        assert time.monotonic() < deadline, "the fixture's job did not finish"
        time.sleep(0.2)
    assert read_job(ws, job.job_id).status == "finished"
    return {
        "root": root,
        "run_a": first.run_id,
        "run_b": second.run_id,
        "snapshot": snapshot,
        "request_id": request_id,
        "job_id": job.job_id,
    }


@pytest.fixture
def mcp_ws(
    mcp_template: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """A private copy of the workspace, with the clock pinned in this process too."""
    root = tmp_path / "ws"
    shutil.copytree(mcp_template["root"], root, symlinks=True)
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("FACTORY_WORKSPACE", raising=False)
    monkeypatch.delenv("FACTORY_SESSION", raising=False)
    yield {**mcp_template, "root": root}


def envelope_of(text: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(text)
    return found
