"""The verdict findings a new user met on data the project had never seen, each replayed
end to end through the real command: a check that changed what it checked, a model that lost
to persistence and still passed, drift the gate ignored, code that changed under a served
run, runs on other data ranked together, a fold whose score could not be computed."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_factory
from tests.operations.conftest import read_lines, snapshot_frame

ENV = {"FACTORY_THREADS": "2"}


def _durable(root: Path) -> dict[str, str]:
    """Hash of every file of the run's memory: reports, cards, artifacts."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for folder in ("reports", "cards", "artifacts")
        for p in sorted((root / folder).rglob("*"))
        if p.is_file()
    }


def test_a_gate_changes_nothing_it_checks(ops: dict[str, Any]) -> None:
    """Gating retrains for reproducibility in a scratch folder: every byte of the run's
    report, artifact and card is as it was; only the gate's own verdict file is new."""
    run, root, a = ops["run"], ops["root"], ops["run_a"]
    before = _durable(root)
    report_before = json.loads((root / "reports" / f"{a}.json").read_text())
    gate = run("gate", a, "--to", "staging")
    crit = {c["name"]: c for c in gate.doc["data"]["criteria"]}
    assert crit["reproducible"]["value"] is True  # it did retrain
    after = _durable(root)
    added = set(after) - set(before)
    assert added == {f"reports/{gate.doc['data']['gate_id']}.json"}
    assert {k: after[k] for k in before} == before
    report_after = json.loads((root / "reports" / f"{a}.json").read_text())
    assert report_after["created_at"] == report_before["created_at"]
    assert not list((root / ".factory" / "scratch").glob("*"))


@pytest.mark.slow
def test_drift_found_by_the_drift_command_fails_the_gate(ops: dict[str, Any]) -> None:
    """One drift verdict: after `factory drift` found drift on the run's training data, the
    gate's no_drift criterion says the same, citing that check."""
    run, root, a = ops["run"], ops["root"], ops["run_a"]
    frame = snapshot_frame(root, ops["snapshot"])
    hot = frame.copy()
    hot["temp_max"] = hot["temp_max"] + 12.0
    hot["temp_min"] = hot["temp_min"] + 12.0
    hot["wind"] = hot["wind"] * 2.5
    hot.tail(120).to_csv(root / "hot.csv", index=False)
    drift = run("drift", "rain", "--reference", a, "--current", "hot.csv")
    assert drift.code == 1 and drift.doc["data"]["drift_detected"] is True, drift.stdout
    assert run("promote", a, "--to", "staging", "--override", "test").code == 0
    gate = run("gate", a, "--to", "prod", "--no-retrain")
    crit = {c["name"]: c for c in gate.doc["data"]["criteria"]}
    assert crit["no_drift"]["passed"] is False and crit["no_drift"]["value"] is True
    assert drift.doc["data"]["drift_id"] in crit["no_drift"]["note"]


FEATURES_V1 = '''"""Same-day values and a 3-day mean of temp_max."""
HISTORY = "3D"


def build(frame, time_column, entity_columns):
    import pandas as pd

    out = pd.DataFrame(index=frame.index)
    out["temp_max"] = frame["temp_max"].astype(float)
    out["wind"] = frame["wind"].astype(float)
    out["temp_mean3"] = frame.rolling("3D", on=time_column)["temp_max"].mean()
    return out
'''


@pytest.mark.slow
def test_predict_and_gate_refuse_code_changed_since_training(ops: dict[str, Any]) -> None:
    """A served run whose features module was edited would serve other predictions: predict
    refuses (exit 3, both hashes), --allow-changed scores and logs it, the gate fails the
    criterion instead of crashing on the renamed column, and HISTORY warns on short input."""
    run, root = ops["run"], ops["root"]
    module = root / "components" / "features" / "mine_v1.py"
    module.parent.mkdir(parents=True, exist_ok=True)
    module.write_text(FEATURES_V1)
    trained = run("train", "rain", "--features", "mine_v1", "--hparams", "tiny")
    assert trained.code == 0, trained.stdout
    run_id = trained.doc["data"]["run_id"]
    snapshot_frame(root, ops["snapshot"]).tail(40).to_csv(root / "recent.csv", index=False)

    short = run("predict", "rain", "--input", "recent.csv", "--tier", "dev", "--run", run_id,
                "--from", str(pd.Timestamp(snapshot_frame(root, ops["snapshot"])["date"].iloc[-39]).date()))  # fmt: skip
    assert short.code == 0, short.stdout
    assert short.doc["data"]["warnings"] and "HISTORY" not in short.doc["data"]["warnings"][0]
    assert "needs 3D of history" in short.doc["data"]["warnings"][0]
    enough = run("predict", "rain", "--input", "recent.csv", "--tier", "dev", "--run", run_id,
                 "--from", str(pd.Timestamp(snapshot_frame(root, ops["snapshot"])["date"].iloc[-10]).date()))  # fmt: skip
    assert enough.code == 0 and enough.doc["data"]["warnings"] == []

    module.write_text(FEATURES_V1.replace('out["wind"]', 'out["wind_speed"]'))
    refused = run("predict", "rain", "--input", "recent.csv", "--tier", "dev", "--run", run_id)
    assert refused.code == 3 and refused.doc["error"]["code"] == "component_changed"
    changed = refused.doc["error"]["details"]["changed"][0]
    assert changed["ref"] == "features/mine_v1" and changed["run_hash"] != changed["current_hash"]
    allowed = run("predict", "rain", "--input", "recent.csv", "--tier", "dev", "--run", run_id,
                  "--allow-changed", "--no-log")  # fmt: skip
    # The renamed column is missing from what the run was trained on: a clear refusal.
    assert allowed.code == 3 and allowed.doc["error"]["code"] == "features_mismatch"
    module.write_text(FEATURES_V1 + "\n# an edited comment changes the hash, not the features\n")
    logged = run("predict", "rain", "--input", "recent.csv", "--tier", "dev", "--run", run_id,
                 "--allow-changed")  # fmt: skip
    assert logged.code == 0, logged.stdout
    record, *lines = read_lines(Path(logged.doc["data"]["log_file"]))  # schema 2: record first
    assert lines and record["kind"] == "batch"
    assert record["allowed_changes"] == ["features/mine_v1"]
    assert logged.doc["data"]["allowed_changes"][0]["ref"] == "features/mine_v1"

    gate = run("gate", run_id, "--to", "staging")
    assert gate.code == 1, gate.stdout  # never an internal error
    crit = {c["name"]: c for c in gate.doc["data"]["criteria"]}
    assert crit["code_unchanged"]["passed"] is False
    assert "features/mine_v1" in crit["code_unchanged"]["note"]


def _hourly(rows_per_day: int = 24, days: int = 120, seed: int = 0) -> pd.DataFrame:
    """Two sensors, hourly, a slowly wandering level: the value 24 h from now is nearly the
    value now (persistence is hard to beat) and the hour of day says nothing."""
    rng = np.random.default_rng(seed)
    times = pd.date_range("2024-01-01", periods=rows_per_day * days, freq="h")
    frames = []
    for sensor, start in (("north", 20.0), ("south", 5.0)):
        level = start + np.cumsum(rng.normal(0.0, 0.4, len(times)))
        frames.append(
            pd.DataFrame(
                {
                    "ts": times,
                    "sensor": sensor,
                    "level": level,
                    "noise": rng.normal(size=len(times)),
                }
            )
        )
    return pd.concat(frames).sort_values(["ts", "sensor"]).reset_index(drop=True)


HOURLY_LABELS = '''"""The sensor's level 24 hours later (a future value of a column: persistence applies)."""
TASK = "regression"
HORIZON = "24h"


def build(frame, time_column, entity_columns):
    import pandas as pd

    later = frame[[time_column, *entity_columns, "level"]].copy()
    later[time_column] = later[time_column] - pd.Timedelta(hours=24)
    merged = frame[[time_column, *entity_columns]].merge(
        later, how="left", on=[time_column, *entity_columns]
    )
    return pd.Series(merged["level"].to_numpy(), index=frame.index)
'''
HOURLY_FEATURES = '''"""Only what cannot predict a random walk: the hour and noise."""
CATEGORICAL = ["sensor"]


def build(frame, time_column, entity_columns):
    import pandas as pd

    out = pd.DataFrame(index=frame.index)
    out["sensor"] = frame["sensor"].astype(str)
    out["hour"] = frame[time_column].dt.hour.astype(float)
    out["noise"] = frame["noise"].astype(float)
    return out
'''
HOURLY_CONFIG = """
[workspace]
name = "sensors"

[datasets.sensors]
source = "sensors.csv"
time_column = "ts"
entity_columns = ["sensor"]

[models.level]
dataset = "sensors"
task = "regression"
labels = "level_24h_v1"
metrics = "regression_v1"
primary_metric = "mae"
direction = "minimize"
features = "blind_v1"
hparams = "tiny"

[validation]
folds = 3
gap_days = 1
test_days = 14
leak_check_budget_s = 1.0
"""


@pytest.mark.slow
def test_a_model_that_loses_to_persistence_fails_the_gate(tmp_path: Path) -> None:
    """Hourly data, two sensors, a label 24 h ahead: 'the value now' is the naive forecast to
    beat. A model whose features cannot know the level is worse than persistence on the same
    rows, and the staging gate says no, whatever absolute MAE it reached."""
    from core.foundation.workspace_init import init_workspace

    root = tmp_path / "sensors"
    init_workspace(root)
    (root / "factory.toml").write_text(HOURLY_CONFIG)
    _hourly().to_csv(root / "sensors.csv", index=False)
    for kind, name, text in (
        ("labels", "level_24h_v1", HOURLY_LABELS),
        ("features", "blind_v1", HOURLY_FEATURES),
        ("hparams", "tiny", "iterations = 30\ndepth = 3\n"),
    ):
        path = root / "components" / kind / f"{name}.{'toml' if kind == 'hparams' else 'py'}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    trained = run_factory("train", "level", "--json", cwd=root, env=ENV)
    assert trained.code == 0, trained.stdout + trained.stderr
    run_id = trained.doc["data"]["run_id"]
    report = json.loads((root / "reports" / f"{run_id}.json").read_text())
    baselines = report["baselines"]
    assert baselines["names"] == ["mean", "persistence"] and baselines["best"] == "persistence"
    persistence = baselines["aggregate"]["persistence"]["mae"]["mean"]
    assert persistence < report["primary_metric"]["mean"]
    # Persistence really is the value 24 h earlier: check one row by hand.
    frame = pd.read_csv(root / "sensors.csv", parse_dates=["ts"])
    row = 0
    when = pd.Timestamp(report["predictions"]["time"][row])
    sensor = report["predictions"]["entity"]["sensor"][row]
    now = frame[(frame["ts"] == when) & (frame["sensor"] == sensor)]["level"].iloc[0]
    assert report["predictions"]["baselines"]["persistence"][row] == pytest.approx(now)
    versus = baselines["versus_best"]
    assert versus["verdict"] == "worse" and versus["method"] == "diebold-mariano"
    assert baselines["skill"] < 0
    gate = run_factory("gate", run_id, "--to", "staging", "--json", cwd=root, env=ENV)
    assert gate.code == 1
    crit = {c["name"]: c for c in gate.doc["data"]["criteria"]}
    assert crit["beats_baseline"]["passed"] is False and crit["beats_baseline"]["value"] == "worse"


@pytest.mark.slow
def test_runs_on_other_data_are_never_ranked_together(ops: dict[str, Any]) -> None:
    """A run on an older, shorter snapshot scores on other rows: it is not best, not paired,
    and `why` compares only runs of one cohort."""
    run, root = ops["run"], ops["root"]
    frame = snapshot_frame(root, ops["snapshot"])
    frame[frame["date"] < "2015-01-01"].to_csv(root / "old.csv", index=False)
    old = run("data", "snapshot", "old.csv", "--dataset", "weather").doc["data"]["snapshot_id"]
    older = run("train", "rain", "--hparams", "tiny", "--snapshot", old)
    assert older.code == 0, older.stdout
    runs = run("runs", "rain").doc["data"]
    cohorts = {r["run_id"]: r["cohort"] for r in runs["runs"]}
    assert cohorts[older.doc["data"]["run_id"]] != cohorts[ops["run_a"]]
    assert runs["best"]["rain"] in (ops["run_a"], ops["run_b"])  # the newest data's cohort
    status = run("status").doc["data"]
    rain = next(m for m in status["models"] if m["name"] == "rain")
    assert rain["best_run"]["run_id"] == runs["best"]["rain"]
    refused = run("compare", ops["run_a"], older.doc["data"]["run_id"])
    assert refused.code == 3 and refused.doc["error"]["code"] == "not_comparable"
    why = run("why", "hparams/tiny").doc
    for item in why["data"]["runs"]:
        if item["baseline_run_id"]:
            assert item["verdict"] != "not comparable"
    assert all(
        "compare" not in n["command"] or older.doc["data"]["run_id"] not in n["command"]
        for n in why["next"]
    )


@pytest.mark.slow
def test_a_fold_without_both_classes_is_flagged_and_counted_out(tmp_path: Path) -> None:
    """A dry last quarter: its AUC cannot be computed. The fold says `one_class`, the
    aggregate says it stands on 3 of 4 folds, and comparisons skip that fold's AUC."""
    from tests.operations.conftest import make_workspace

    root = make_workspace(tmp_path / "ws")
    frame = snapshot_frame(root, next((root / "data" / "snapshots").iterdir()).name)
    frame.loc[frame["date"] >= "2015-10-01", "precipitation"] = 0.0
    frame.to_csv(root / "dry.csv", index=False)
    dry = run_factory("data", "snapshot", "dry.csv", "--dataset", "weather", "--json", cwd=root)
    snapshot = dry.doc["data"]["snapshot_id"]
    trained = run_factory("train", "rain", "--hparams", "tiny", "--snapshot", snapshot,
                          "--json", cwd=root, env=ENV)  # fmt: skip
    assert trained.code == 0, trained.stdout
    report = json.loads((root / "reports" / f"{trained.doc['data']['run_id']}.json").read_text())
    assert report["folds"][-1]["flags"] == ["one_class"]
    assert report["folds"][-1]["metrics"]["auc"] is None
    assert report["primary_metric"]["n"] == 3 and report["primary_metric"]["of"] == 4
    versus = report["baselines"]["versus_best"]
    assert versus["test"]["skipped"] == 1 and versus["test"]["fold_count"] == 3
    shown = run_factory("runs", "rain", "--md", cwd=root)
    assert shown.code == 0


@pytest.mark.slow
def test_why_prefers_the_one_factor_baseline_and_matches_full_references(
    ops: dict[str, Any],
) -> None:
    """`why features/weather_v1` for a run that changed only the features is answered against
    the run that differs in nothing else, even when a better run differing in two things
    exists; an ADR is matched by `kind/version`, not by a version name another kind shares."""
    run, root = ops["run"], ops["root"]
    # a: weather_v2 + tiny, b: weather_v2 + tiny2. Now weather_v1 + tiny2: one factor from b.
    third = run("train", "rain", "--features", "weather_v1", "--hparams", "tiny2")
    assert third.code == 0, third.stdout
    why = run("why", "features/weather_v1").doc["data"]
    item = next(r for r in why["runs"] if r["run_id"] == third.doc["data"]["run_id"])
    assert item["baseline_run_id"] == ops["run_b"] and item["one_factor"] is True
    assert item["differs_in"] == ["features"]
    # A features module named like an hparams version makes the bare name ambiguous.
    clash = root / "components" / "features" / "tiny2.py"
    clash.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(__file__).parents[2] / "core" / "components" / "features" / "weather_v1.py",
                clash)  # fmt: skip
    adrs = root / "adrs"
    run("adr", "new", "Prefer tiny2 trees", "--status", "accepted")
    run("adr", "new", "Keep hparams/tiny2 for rain", "--status", "accepted")
    found = run("why", "hparams/tiny2").doc["data"]
    titles = [a["title"] for a in found["adrs"]]
    assert titles == ["Keep hparams/tiny2 for rain"], (titles, list(adrs.iterdir()))
