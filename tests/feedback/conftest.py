"""Fixtures for feedback: a workspace whose data ends on 2015-06-30 when a tiny rain model
trains, which then scores 2015-07-01..2015-12-31 with the real `factory predict` (every
prediction logged), before the newer snapshot (the whole of 2015) arrives. Built once per
session and copied per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Ran, run_factory

TINY = "# Tiny model for tests: 20 trees.\niterations = 20\nlearning_rate = 0.2\ndepth = 3\n"
TINY2 = "# Another tiny model: 25 trees.\niterations = 25\nlearning_rate = 0.2\ndepth = 4\n"
ENV = {"FACTORY_THREADS": "2"}
CUTOFF = "2015-07-01"
"""The first day the model has not seen: predictions are made from here on."""


def full_frame() -> Any:
    """The embedded Seattle weather, as the dataset's source reads it."""
    import pandas as pd
    import vega_datasets

    path = Path(vega_datasets.__file__).parent / "_data" / "seattle-weather.csv"
    frame = pd.read_csv(path)
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def build_workspace(root: Path, *, features: dict[str, str] | None = None) -> dict[str, Any]:
    """The workspace described in the module docstring; `features` trains extra runs with
    the workspace's own copies of weather_v2 (name -> hparams) before predicting."""
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
    (hparams / "tiny.toml").write_text(TINY)
    (hparams / "tiny2.toml").write_text(TINY2)
    frame = full_frame()
    old = root / "old.csv"
    frame[frame["date"] < CUTOFF].to_csv(old, index=False)
    (root / "input.csv").write_text(frame.to_csv(index=False))
    ws = Workspace(root)
    old_id = create_snapshot(ws, "weather", str(old)).id
    run_a = train_run(ws, "rain", hparams="tiny", snapshot=old_id, thread_count=2).run_id
    run_b = train_run(ws, "rain", hparams="tiny2", snapshot=old_id, thread_count=2).run_id
    extra: dict[str, str] = {}
    builtin = Path(__file__).resolve().parents[2] / "core" / "components" / "features"
    for name, hp in (features or {}).items():
        folder = root / "components" / "features"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.py").write_text((builtin / "weather_v2.py").read_text())
        extra[name] = train_run(
            ws, "rain", features=name, hparams=hp, snapshot=old_id, thread_count=2
        ).run_id
    done = run_factory(
        "predict", "rain", "--input", "input.csv", "--tier", "dev", "--run", run_a,
        "--from", CUTOFF, "--json", cwd=root, env=ENV,
    )  # fmt: skip
    assert done.code == 0, done.stdout + done.stderr
    new_id = create_snapshot(ws, "weather").id
    return {
        "root": root,
        "run_a": run_a,
        "run_b": run_b,
        "extra": extra,
        "old": old_id,
        "new": new_id,
        "predictions": done.doc["data"]["output"],
        "batch_id": done.doc["data"]["batch_id"],
    }


@pytest.fixture(scope="session")
def fb_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return build_workspace(tmp_path_factory.mktemp("feedback") / "ws")


def copy_workspace(template: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    from core.foundation.workspace import Workspace

    root = tmp_path / "ws"
    shutil.copytree(template["root"], root, symlinks=True)
    old_root = str(template["root"])

    def run(*args: str, env: dict[str, str] | None = None) -> Ran:
        return run_factory(*args, "--json", cwd=root, env={**ENV, **(env or {})})

    predictions = str(template["predictions"]).replace(old_root, str(root))
    return {
        **template,
        "root": root,
        "run": run,
        "ws": Workspace(root),
        "predictions": Path(predictions),
    }


@pytest.fixture
def fb(
    fb_template: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """A private copy of the workspace, `run(*args)` for the real command, and `ws`."""
    monkeypatch.setenv("FACTORY_THREADS", "2")
    monkeypatch.delenv("FACTORY_WORKSPACE", raising=False)
    monkeypatch.delenv("FACTORY_NOW", raising=False)
    yield copy_workspace(fb_template, tmp_path)


def set_config(root: Path, table: str, text: str) -> None:
    """Append `[table]` with `text` to factory.toml."""
    config = root / "factory.toml"
    config.write_text(config.read_text() + f"\n[{table}]\n{text}\n")


def hand_labels() -> dict[str, float]:
    """Rain tomorrow computed by hand: date (YYYY-MM-DD) -> 1.0 when the next day's
    precipitation is above 0, else 0.0; the last day has none."""
    frame = full_frame().sort_values("date")
    days = [d.strftime("%Y-%m-%d") for d in frame["date"]]
    rain = frame["precipitation"].tolist()
    return {days[i]: float(rain[i + 1] > 0) for i in range(len(days) - 1)}
