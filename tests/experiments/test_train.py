"""Training: report contents, idempotence, --force, changed components, crash safety."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
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
    assert r["schema"] == "factory.report/3"
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
    assert aggregate["n"] == 4 and aggregate["of"] == 4 and r["primary_metric"]["n"] == 4
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
    # Out-of-fold predictions of every test row, and the naive baselines on the same rows.
    predictions = r["predictions"]
    test_rows = sum(f["test"]["rows"] for f in r["folds"])
    assert len(predictions["row"]) == len(predictions["prediction"]) == test_rows
    assert set(predictions["baselines"]) == {"prior", "persistence"}
    assert all(len(v) == test_rows for v in predictions["baselines"].values())
    first = r["folds"][0]
    assert predictions["time"][0][:10] == first["test"]["start"]
    assert r["labels"]["horizon"] == "1 days 00:00:00"
    assert set(first["baselines"]) == {"prior", "persistence"}
    # The training prior is one number for every row of a fold: its AUC is exactly 0.5.
    assert all(f["baselines"]["prior"]["auc"] == 0.5 for f in r["folds"])
    baselines = r["baselines"]
    assert baselines["best"] == "persistence"
    assert baselines["versus_best"]["method"] == "delong-folds"
    assert baselines["versus_best"]["verdict"] in ("better", "worse", "inconclusive")
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


def _durable(root: Path) -> dict[str, bytes]:
    """Every byte the run owns or the memory holds: reports, cards and artifacts."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for folder in ("reports", "cards", "artifacts")
        for p in sorted((root / folder).rglob("*"))
        if p.is_file()
    }


@pytest.mark.slow
def test_force_with_identical_results_changes_nothing(trained: dict[str, Any]) -> None:
    root = trained["root"]
    before = _durable(root)
    ran = run_factory("train", "rain", *TINY, "--force", "--json", cwd=root)
    assert ran.code == 0, ran.stderr
    data = ran.doc["data"]
    assert data["forced"] is True and data["reused"] is False
    assert data["identical_to_previous"] is True
    assert _durable(root) == before  # the report, the card entry and the model: byte for byte
    assert [e["data"]["identical"] for e in events(root, "run.retrained")] == [True]
    assert not list((root / ".factory" / "scratch").glob("*"))  # the scratch folder is gone


@pytest.mark.slow
def test_force_with_different_results_keeps_when_and_why_the_run_began(
    trained: dict[str, Any],
) -> None:
    """A report that no longer matches what its inputs train (here: one prediction edited)
    is replaced on --force, but it keeps its created_at and plan and records the retrain."""
    root = trained["root"]
    path = root / "reports" / f"{trained['rain_v2']}.json"
    stored = json.loads(path.read_text())
    stored["predictions"]["prediction"][0] = 0.123456
    stored["plan_id"] = "p-000000000001"
    path.write_text(json.dumps(stored, indent=2, sort_keys=True) + "\n")
    ran = run_factory("train", "rain", *TINY, "--force", "--json", cwd=root)
    assert ran.code == 0, ran.stderr
    assert ran.doc["data"]["identical_to_previous"] is False
    after = report(root, trained["rain_v2"])
    assert after["created_at"] == stored["created_at"] and after["plan_id"] == "p-000000000001"
    assert after["predictions"]["prediction"][0] != 0.123456
    assert [r["differences"] for r in after["retrains"]] == [["out-of-fold predictions"]]


@pytest.mark.slow
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


@pytest.mark.slow
def test_plan_runs_its_components_and_links_the_card(trained: dict[str, Any]) -> None:
    root = trained["root"]
    # Already trained on this data: the plan would only reuse that run.
    repeat = run_factory(
        "plan", "rain", "--features", "weather_v1", "--hparams", "tiny",
        "--intent", "is v2 worth it?", "--json", cwd=root,
    )  # fmt: skip
    assert repeat.code == 2 and repeat.doc["error"]["code"] == "plan_already_run"
    assert repeat.doc["error"]["details"]["run_id"] == trained["rain_v1"]
    (root / "components" / "hparams" / "tiny3.toml").write_text("iterations = 20\ndepth = 3\n")
    planned = run_factory(
        "plan", "rain", "--features", "weather_v1", "--hparams", "tiny3",
        "--intent", "is v2 worth it?", "--expect", "auc >= 0.5", "--json", cwd=root,
    )  # fmt: skip
    assert planned.code == 0, planned.stderr
    plan_id = planned.doc["data"]["plan_id"]
    ran = run_factory("train", "rain", "--plan", plan_id, "--threads", "2", "--json", cwd=root)
    assert ran.code == 0, ran.stderr
    data = ran.doc["data"]
    assert data["components"]["features"] == "weather_v1" and data["plan_id"] == plan_id
    # train answers with the plan's verdict, not only the card.
    assert data["expectation"]["plan_id"] == plan_id and data["expectation"]["held"] is True
    clash = run_factory(
        "train", "rain", "--plan", plan_id, "--features", "weather_v2", "--json", cwd=root
    )
    assert clash.code == 2 and "pins" in clash.doc["error"]["message"]


@pytest.mark.slow
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


@pytest.mark.slow
def test_user_data_with_entities_categories_and_own_label(tmp_path: Path) -> None:
    """A user's CSV: two stores per date, a categorical column, their own label module."""
    import numpy as np
    import pandas as pd

    from core.foundation.workspace_init import init_workspace

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
        'TASK = "regression"\n'
        'HORIZON = "2D"  # the next row: at most two days on (Sundays are closed)\n\n'
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
    assert not list((fresh / "reports").glob("r-*.json"))
    assert not list((fresh / "reports").glob(".*"))  # no temporary file left behind either
    markers = list((fresh / ".factory" / "runs").glob("*.running.json"))
    assert len(markers) == 1
    run_id = markers[0].name.split(".")[0]
    status = run_factory("status", "--json", cwd=fresh).doc
    rain = next(m for m in status["data"]["models"] if m["name"] == "rain")
    assert [i["run_id"] for i in rain["interrupted"]] == [run_id]
    assert any(n["command"].startswith("factory train rain") for n in status["next"])
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


SPY_ARCH = '''"""CatBoost that writes down which rows each fit was given to stop early on."""
import json
from datetime import date
from pathlib import Path

from catboost import CatBoostClassifier, CatBoostRegressor

LOG = Path(__file__).resolve().parents[2] / "eval-sets.jsonl"
LOOP_KEYS = ("early_stopping_rounds",)


class Spy:
    def __init__(self, model):
        self.model = model

    def fit(self, x, y, **options):
        eval_set = options.get("eval_set")
        if eval_set is not None:
            with LOG.open("a") as out:
                out.write(json.dumps({
                    "stopping": options.get("early_stopping_rounds"),
                    "best": options.get("use_best_model"),
                    "days": sorted({str(d)[:10] for d in eval_set[0]["day"]}),
                    "fit_days": [str(x["day"].min())[:10], str(x["day"].max())[:10]],
                }) + "\\n")
        self.model.fit(x.drop(columns=["day"]), y, **{
            **options, "eval_set": None if eval_set is None else
            (eval_set[0].drop(columns=["day"]), eval_set[1]),
            "cat_features": [c for c in options.get("cat_features") or [] if c != "day"] or None,
        })
        return self

    def __getattr__(self, name):
        return getattr(self.model, name)


def make_model(task, params, seed, thread_count):
    options = {k: v for k, v in params.items() if k not in LOOP_KEYS}
    options.update(random_seed=seed, thread_count=thread_count, allow_writing_files=False,
                   verbose=False)
    cls = CatBoostClassifier if task == "classification" else CatBoostRegressor
    return Spy(cls(**options))


def predict(model, x, task):
    x = x.drop(columns=["day"])
    inner = model.model if isinstance(model, Spy) else model
    return inner.predict_proba(x)[:, 1] if task == "classification" else inner.predict(x)


def save(model, path):
    model.model.save_model(str(path), format="cbm")


def curves(model):
    inner = model.model if isinstance(model, Spy) else model
    evals = inner.get_evals_result()
    metric = inner.get_params().get("loss_function") or "Logloss"
    return {"metric": metric, "learn": list(evals.get("learn", {}).get(metric, [])),
            "validation": list(evals.get("validation", {}).get(metric, []))}


def importance(model):
    return list(zip(model.model.feature_names_, model.model.get_feature_importance()))
'''

DAY_FEATURES = '''"""weather_v1 plus the row's own day, so the spy arch can see which rows it gets."""
import pandas as pd

def build(frame, time_column, entity_columns):
    out = pd.DataFrame(index=frame.index)
    for column in ("precipitation", "temp_max", "temp_min", "wind"):
        out[column] = frame[column].astype(float)
    out["day"] = frame[time_column].dt.strftime("%Y-%m-%d")
    return out
'''


def test_early_stopping_picks_trees_on_the_inner_slice_never_on_the_test_window(
    fresh: Path,
) -> None:
    """With early_stopping_rounds, every eval set that may stop training holds only rows of
    the fold's inner slice (the end of its training window, after a gap), and each fold's
    report records that slice's dates and the trees it picked."""
    (fresh / "components" / "arch").mkdir(parents=True, exist_ok=True)
    (fresh / "components" / "arch" / "spy_v1.py").write_text(SPY_ARCH)
    (fresh / "components" / "features").mkdir(parents=True, exist_ok=True)
    (fresh / "components" / "features" / "days_v1.py").write_text(DAY_FEATURES)
    (fresh / "components" / "hparams" / "stop.toml").write_text(
        "iterations = 200\nlearning_rate = 0.3\ndepth = 3\nearly_stopping_rounds = 5\n"
    )
    ran = run_factory(
        "train", "rain", "--arch", "spy_v1", "--features", "days_v1", "--hparams", "stop",
        "--threads", "2", "--json", cwd=fresh,
    )  # fmt: skip
    assert ran.code == 0, ran.stdout + ran.stderr
    r = report(fresh, ran.doc["data"]["run_id"])
    calls = [json.loads(line) for line in (fresh / "eval-sets.jsonl").read_text().splitlines()]
    stopping = [c for c in calls if c["stopping"]]
    assert len(stopping) == 4  # one search per fold
    for fold, call in zip(r["folds"], stopping, strict=True):
        inner = fold["early_stopping"]
        assert inner["end"] == fold["train"]["end"] < fold["test"]["start"]
        assert call["days"][0] >= inner["start"] and call["days"][-1] <= inner["end"]
        assert call["fit_days"][1] <= inner["fit_end"]
        assert (date.fromisoformat(inner["start"]) - date.fromisoformat(inner["fit_end"])).days > 7
        assert fold["iterations"] == inner["best_iteration"]
    # The test window only records a curve: never with early stopping or best-model picking.
    for call in calls:
        if not call["stopping"]:
            assert call["best"] is False


def test_a_gap_shorter_than_the_label_horizon_is_refused(fresh: Path) -> None:
    config = fresh / "factory.toml"
    config.write_text(config.read_text().replace("gap_days = 7", "gap_days = 0"))
    ran = run_factory("train", "rain", *TINY, "--json", cwd=fresh)
    assert ran.code == 3 and ran.doc["error"]["code"] == "gap_too_short", ran.stdout
    assert "rain_tomorrow_v2" in ran.doc["error"]["message"]
    assert not list((fresh / "reports").glob("r-*.json"))


def test_labels_without_a_horizon_cannot_train(fresh: Path) -> None:
    ran = run_factory("train", "rain", *TINY, "--labels", "rain_tomorrow_v1", "--json", cwd=fresh)
    assert ran.code == 3, ran.stdout
    assert "HORIZON" in ran.doc["error"]["message"]


LEAKY = '''"""Reads tomorrow's precipitation: a leak."""
import pandas as pd

def build(frame, time_column, entity_columns):
    out = pd.DataFrame(index=frame.index)
    out["temp_max"] = frame["temp_max"].astype(float)
    out["rain_tomorrow"] = frame["precipitation"].shift(-1)
    return out
'''


@pytest.mark.slow
def test_a_leak_found_is_remembered_refused_and_never_best(fresh: Path) -> None:
    (fresh / "components" / "features").mkdir(parents=True, exist_ok=True)
    (fresh / "components" / "features" / "peek_v1.py").write_text(LEAKY)
    honest = run_factory("train", "rain", *TINY, "--json", cwd=fresh)
    assert honest.code == 0, honest.stdout
    # Never checked at this source: train checks it first, finds the leak and refuses.
    refused = run_factory("train", "rain", *TINY, "--features", "peek_v1", "--json", cwd=fresh)
    assert refused.code == 1 and refused.doc["error"]["code"] == "features_leak", refused.stdout
    assert "rain_tomorrow" in refused.doc["error"]["details"]["changed_columns"]
    assert not any(e["data"].get("leaky") for e in events(fresh, "run.started"))
    allowed = run_factory(
        "train", "rain", *TINY, "--features", "peek_v1", "--allow-leaky", "to show the leak",
        "--json", cwd=fresh,
    )  # fmt: skip
    assert allowed.code == 0, allowed.stdout
    leaky = report(fresh, allowed.doc["data"]["run_id"])
    assert leaky["leaky"]["reason"] == "to show the leak"
    assert (
        leaky["primary_metric"]["mean"]
        > report(fresh, honest.doc["data"]["run_id"])["primary_metric"]["mean"]
    )  # too good to be true ...
    status = run_factory("status", "--json", cwd=fresh).doc["data"]
    rain = next(m for m in status["models"] if m["name"] == "rain")
    assert rain["best_run"]["run_id"] == honest.doc["data"]["run_id"]  # ... and never best
    runs = run_factory("runs", "rain", "--json", cwd=fresh).doc["data"]
    assert runs["best"]["rain"] == honest.doc["data"]["run_id"]
    assert [r["leaky"] for r in runs["runs"]] == [False, True]
    gate = run_factory("gate", allowed.doc["data"]["run_id"], "--to", "staging", "--json",
                       cwd=fresh)  # fmt: skip
    assert gate.code == 1
    assert "not_leaky" in gate.doc["data"]["failed"]
