"""Training: report contents, idempotence, --force, changed components, crash safety."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, run_factory

TINY = ("--hparams", "tiny", "--threads", "2")


def report(root: Path, run_id: str) -> dict[str, Any]:
    return json.loads((root / "reports" / f"{run_id}.json").read_text())


def events(root: Path, name: str) -> list[dict[str, Any]]:
    found = []
    for path in (root / "logs" / "events").glob("date=*/*.jsonl"):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if record["event"] == name:
                found.append(record)
    return found


def test_report_holds_folds_metrics_curves_cost_and_reproducibility(
    trained: dict[str, Any],
) -> None:
    root = trained["root"]
    r = report(root, trained["rain_v2"])
    assert r["model"] == "rain" and r["task"] == "classification"
    assert len(r["folds"]) == 4
    ends = [f["test"]["end"] for f in r["folds"]]
    assert ends[-1] == "2015-12-31" and ends == sorted(ends)
    for fold in r["folds"]:
        assert fold["train"]["end"] < fold["test"]["start"]
        assert fold["gap_days"] == 7 and fold["test"]["rows"] > 80
        assert 0.5 < fold["metrics"]["auc"] <= 1.0
    aggregate = r["metrics"]["aggregate"]["auc"]
    fold_aucs = [f["metrics"]["auc"] for f in r["folds"]]
    assert aggregate["mean"] == pytest.approx(sum(fold_aucs) / 4)
    assert aggregate["min"] == min(fold_aucs) and r["primary_metric"]["name"] == "auc"
    curves = r["curves"]
    assert curves["metric"] == "Logloss"
    assert all(len(c["learn"]) == 30 and len(c["validation"]) == 30 for c in curves["folds"])
    assert curves["folds"][0]["learn"][-1] < curves["folds"][0]["learn"][0]
    names = [f["feature"] for f in r["feature_importance"]]
    assert "temp_max_lag1" in names and set(names) == set(r["features"]["names"])
    assert r["latency"]["p50_ms"] <= r["latency"]["p95_ms"]
    assert r["cost"]["cpu_seconds"] > 0
    assert r["cost"]["cost"] == pytest.approx(r["cost"]["cpu_seconds"] * 0.05 / 3600)
    repro = r["reproducibility"]
    assert repro["seed"] == 42 and repro["libraries"]["catboost"] == "1.2.10"
    assert {"python", "cpu", "gpu", "platform", "git"} <= set(repro)
    assert r["components"]["hparams"] == {
        "version": "tiny", "hash": r["components"]["hparams"]["hash"], "origin": "workspace"
    }  # fmt: skip
    meta = json.loads((root / "artifacts" / r["run_id"] / "meta.json").read_text())
    assert (
        meta["feature_names"] == r["features"]["names"] and "weather" in meta["categorical_columns"]
    )


def test_artifact_is_the_final_model(trained: dict[str, Any]) -> None:
    from catboost import CatBoostClassifier

    root = trained["root"]
    model = CatBoostClassifier()
    model.load_model(str(root / "artifacts" / trained["rain_v2"] / "model.cbm"))
    assert model.tree_count_ == 30
    assert model.feature_names_ == report(root, trained["rain_v2"])["features"]["names"]


def test_same_inputs_reuse_the_run_without_duplicates(trained: dict[str, Any]) -> None:
    root = trained["root"]
    before = sorted(p.name for p in (root / "reports").iterdir())
    card_before = (root / "cards" / "rain.md").read_text()
    ran = run_factory("train", "rain", *TINY, "--json", cwd=root)
    assert ran.code == 0, ran.stderr
    data = ran.doc["data"]
    assert data["reused"] is True and data["run_id"] == trained["rain_v2"]
    assert "fold 0" not in ran.stderr  # nothing was trained
    assert sorted(p.name for p in (root / "reports").iterdir()) == before
    assert (root / "cards" / "rain.md").read_text() == card_before
    assert [e["run_id"] for e in events(root, "run.reused")] == [trained["rain_v2"]]


def test_force_retrains_and_reports_identical_results(trained: dict[str, Any]) -> None:
    root = trained["root"]
    ran = run_factory("train", "rain", *TINY, "--force", "--json", cwd=root)
    assert ran.code == 0, ran.stderr
    data = ran.doc["data"]
    assert data["forced"] is True and data["reused"] is False
    assert data["identical_to_previous"] is True
    assert report(root, trained["rain_v2"])["rerun"]["identical_to_previous"] is True
    assert "fold 3 done" in ran.stderr  # progress went to stderr; stdout held one document
    from core.cards.api import read_card
    from core.workspace import Workspace

    entries = [
        e for e in read_card(Workspace(root), "rain").entries if e["run_id"] == data["run_id"]
    ]
    assert len(entries) == 1


def test_run_id_follows_component_source_and_flags_a_changed_release(fresh: Path) -> None:
    own = fresh / "components" / "features" / "mine_v1.py"
    own.parent.mkdir(parents=True)
    source = (REPO / "core" / "components" / "features" / "weather_v1.py").read_text()
    own.write_text(source)
    first = run_factory("train", "rain", *TINY, "--features", "mine_v1", "--json", cwd=fresh)
    assert first.code == 0, first.stderr
    own.write_text(
        source.replace("CATEGORICAL: list[str] = []", "CATEGORICAL: list[str] = []  # edited")
    )
    second = run_factory("train", "rain", *TINY, "--features", "mine_v1", "--json", cwd=fresh)
    assert second.code == 0, second.stderr
    a, b = first.doc["data"], second.doc["data"]
    assert a["run_id"] != b["run_id"] and b["reused"] is False
    changed = report(fresh, b["run_id"])["component_changed"]
    assert [c["ref"] for c in changed] == ["features/mine_v1"]
    assert changed[0]["previous_run"] == a["run_id"]
    listed = run_factory("components", "--kind", "features", "--json", cwd=fresh).doc["data"]
    mine = next(c for c in listed["components"] if c["version"] == "mine_v1")
    assert mine["runs"] == 2 and mine["changed_since_used"] is False


def test_plan_runs_its_components_and_links_the_card(trained: dict[str, Any]) -> None:
    root = trained["root"]
    planned = run_factory(
        "plan", "rain", "--features", "weather_v1", "--hparams", "tiny",
        "--intent", "is v2 worth it?", "--expect", "auc >= 0.5", "--json", cwd=root,
    )  # fmt: skip
    assert planned.code == 0, planned.stderr
    plan_id = planned.doc["data"]["plan_id"]
    ran = run_factory("train", "rain", "--plan", plan_id, "--threads", "2", "--json", cwd=root)
    assert ran.code == 0, ran.stderr
    data = ran.doc["data"]
    assert data["components"]["features"] == "weather_v1" and data["plan_id"] == plan_id
    clash = run_factory(
        "train", "rain", "--plan", plan_id, "--features", "weather_v2", "--json", cwd=root
    )
    assert clash.code == 2 and "pins" in clash.doc["error"]["message"]


def test_too_short_data_fails_clearly_and_leaves_nothing(tmp_path: Path) -> None:
    from tests.experiments.conftest import make_workspace

    root = make_workspace(tmp_path / "ws")
    (root / "short.csv").write_text(
        "date,precipitation,temp_max,temp_min,wind,weather\n"
        + "".join(f"2020-01-{d:02d},0.0,10.0,5.0,3.0,sun\n" for d in range(1, 31))
    )
    text = (
        (root / "factory.toml")
        .read_text()
        .replace('source = "vega:seattle-weather"', 'source = "short.csv"')
    )
    (root / "factory.toml").write_text(text)
    for snapshot in (root / "data" / "snapshots").iterdir():  # drop the full-data snapshot
        import shutil

        shutil.rmtree(snapshot)
    ran = run_factory("train", "rain", *TINY, "--json", cwd=root)
    assert ran.code == 3, ran.stdout
    error = ran.doc["error"]
    assert error["code"] == "data_too_short" and "folds (4)" in error["hint"]
    assert not list((root / "reports").glob("r-*.json"))
    assert not list((root / ".factory" / "runs").glob("*.running.json"))


def test_user_data_with_entities_categories_and_own_label(tmp_path: Path) -> None:
    """A user's CSV: two stores per date, a categorical column, their own label module."""
    import numpy as np
    import pandas as pd

    from core.workspace_init import init_workspace

    root = tmp_path / "shop"
    init_workspace(root)
    rng = np.random.default_rng(0)
    days = pd.date_range("2021-01-01", periods=400, freq="D")
    rows = []
    for store, base in (("north", 100.0), ("south", 60.0)):
        for day in days:
            if store == "south" and day.dayofweek == 6:
                continue  # closed on Sundays: irregular dates for one entity
            promo = rng.choice(["none", "flyer", "tv"])
            rows.append({"day": day.date().isoformat(), "store": store, "promo": promo,
                         "units": base + (20 if promo == "tv" else 0) + rng.normal(0, 5)})  # fmt: skip
    pd.DataFrame(rows).to_csv(root / "sales.csv", index=False)
    (root / "components" / "labels").mkdir(parents=True, exist_ok=True)
    (root / "components" / "labels" / "units_next_v1.py").write_text(
        '"""Units sold at the next row of the same store."""\n'
        'TASK = "regression"\n\n'
        "def build(frame, time_column, entity_columns):\n"
        "    return frame.groupby(list(entity_columns))['units'].shift(-1)\n"
    )
    (root / "components" / "hparams").mkdir(parents=True, exist_ok=True)
    (root / "components" / "hparams" / "tiny.toml").write_text("iterations = 30\ndepth = 4\n")
    (root / "factory.toml").write_text(
        '[workspace]\nname = "shop"\n\n[datasets.sales]\nsource = "sales.csv"\n'
        'time_column = "day"\nentity_columns = ["store"]\n\n[models.units]\ndataset = "sales"\n'
        'task = "regression"\nlabels = "units_next_v1"\nmetrics = "regression_v1"\n'
        'primary_metric = "mae"\ndirection = "minimize"\nfeatures = "weather_v2"\n'
        'hparams = "tiny"\narch = "catboost_v1"\n\n[validation]\nfolds = 3\ngap_days = 2\n'
        'test_days = 28\nwindow = "sliding"\ntrain_days = 200\n'
    )
    ran = run_factory("train", "units", "--threads", "2", "--json", cwd=root)
    assert ran.code == 0, ran.stdout + ran.stderr
    r = report(root, ran.doc["data"]["run_id"])
    assert {"store", "promo"} <= set(r["features"]["categorical"])
    assert "units_lag1" in r["features"]["names"]
    for fold in r["folds"]:
        assert fold["test"]["rows"] > fold["test"]["dates"]  # two stores per date
        days_in_train = (
            pd.Timestamp(fold["train"]["end"]) - pd.Timestamp(fold["train"]["start"])
        ).days + 1
        assert days_in_train <= 200
    assert r["primary_metric"]["mean"] < 15  # learns the promo effect and the store level


def _start_training(root: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    env.pop("FACTORY_WORKSPACE", None)
    return subprocess.Popen(
        [sys.executable, "-m", "core.cli.main", "train", "rain", "--threads", "2", "--json"],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


@pytest.mark.slow
def test_sigkill_mid_run_leaves_nothing_half_written_and_next_train_completes(fresh: Path) -> None:
    proc = _start_training(fresh)
    assert proc.stderr is not None
    line = proc.stderr.readline()  # the first fold finished: we are mid-run
    assert "fold 0 done" in line, line
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert not list((fresh / "reports").glob("*.json"))
    assert not list((fresh / "reports").glob(".*"))  # no temporary file left behind either
    markers = list((fresh / ".factory" / "runs").glob("*.running.json"))
    assert len(markers) == 1
    run_id = markers[0].name.split(".")[0]
    status = run_factory("status", "--json", cwd=fresh).doc
    rain = next(m for m in status["data"]["models"] if m["name"] == "rain")
    assert [i["run_id"] for i in rain["interrupted"]] == [run_id]
    assert any(n.startswith("factory train rain") for n in status["next"])
    card = fresh / "cards" / "rain.md"
    assert not card.exists() or run_id not in card.read_text()
    again = run_factory("train", "rain", "--threads", "2", "--json", cwd=fresh)
    assert again.code == 0, again.stderr
    assert again.doc["data"]["run_id"] == run_id
    assert again.doc["data"]["completed_interrupted"] is True
    assert not list((fresh / ".factory" / "runs").glob("*.running.json"))
    status = run_factory("status", "--json", cwd=fresh).doc
    rain = next(m for m in status["data"]["models"] if m["name"] == "rain")
    assert rain["interrupted"] == [] and rain["best_run"]["run_id"] == run_id


def test_marker_left_after_the_report_is_not_an_interruption(trained: dict[str, Any]) -> None:
    root = trained["root"]
    marker = root / ".factory" / "runs" / f"{trained['rain_v2']}.running.json"
    marker.parent.mkdir(parents=True, exist_ok=True)
    import socket

    marker.write_text(json.dumps({"run_id": trained["rain_v2"], "model": "rain", "pid": 999999999,
                                  "host": socket.gethostname()}))  # fmt: skip
    status = run_factory("status", "--json", cwd=root).doc
    rain = next(m for m in status["data"]["models"] if m["name"] == "rain")
    assert rain["interrupted"] == []
    assert run_factory("train", "rain", *TINY, "--json", cwd=root).doc["data"]["reused"] is True
    assert not marker.exists()


def test_unknown_model_and_component_are_input_errors(trained: dict[str, Any]) -> None:
    root = trained["root"]
    ran = run_factory("train", "snow", "--json", cwd=root)
    assert ran.code == 3 and ran.doc["error"]["code"] == "unknown_model"
    ran = run_factory("train", "rain", "--features", "weather_v9", "--json", cwd=root)
    assert ran.code == 3 and "weather_v2" in ran.doc["error"]["hint"]
    time.sleep(0)


def test_a_failing_user_feature_module_is_named_with_file_and_line(fresh: Path) -> None:
    """A user's module that meets data it did not expect (here: a column the data lacks) is
    the user's to fix: exit 3 with the component, its file and line, and nothing written."""
    module = fresh / "components" / "features" / "needs_humidity_v1.py"
    module.parent.mkdir(parents=True, exist_ok=True)
    module.write_text(
        "import pandas as pd\n"
        "\n"
        "def build(frame, time_column, entity_columns):\n"
        "    return pd.DataFrame({'humidity': frame['humidity']}, index=frame.index)\n"
    )
    ran = run_factory(
        "train", "rain", "--features", "needs_humidity_v1", *TINY, "--json", cwd=fresh
    )
    assert ran.code == 3, ran.stdout
    error = ran.doc["error"]
    assert error["code"] == "component_failed"
    assert f"{module}:4" in error["message"] and "KeyError" in error["message"]
    assert error["details"]["line"] == 4
    assert not list((fresh / "reports").glob("r-*.json"))
    ran = run_factory("check", "features", "needs_humidity_v1", "--json", cwd=fresh)
    assert ran.code == 3 and ran.doc["error"]["code"] == "component_failed", ran.stdout
