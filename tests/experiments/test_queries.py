"""runs, show, curves, compare, check features, status, query views and the run index."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_factory

LEAKY_SHIFT = '''"""Leaky on purpose: uses tomorrow's temperature."""

def build(frame, time_column, entity_columns):
    import pandas as pd

    out = pd.DataFrame(index=frame.index)
    out["temp_max"] = frame["temp_max"]
    out["temp_max_tomorrow"] = frame["temp_max"].shift(-1)
    return out
'''
LEAKY_CENTERED = '''"""Leaky on purpose: a centred 5-day rolling mean."""

def build(frame, time_column, entity_columns):
    import pandas as pd

    out = pd.DataFrame(index=frame.index)
    out["wind_centered"] = frame["wind"].rolling(5, center=True, min_periods=1).mean()
    return out
'''


def test_runs_lists_history_with_components_and_best(trained: dict[str, Any]) -> None:
    ran = run_factory("runs", "--json", cwd=trained["root"])
    assert ran.code == 0, ran.stderr
    data = ran.doc["data"]
    assert data["count"] == 3
    assert {r["run_id"] for r in data["runs"]} == {
        trained["rain_v2"],
        trained["rain_v1"],
        trained["temp"],
    }
    rain = [r for r in data["runs"] if r["model"] == "rain"]
    best = max(rain, key=lambda r: r["primary_metric"]["mean"])
    assert data["best"]["rain"] == best["run_id"]
    assert rain[0]["components"]["features"] in ("weather_v1", "weather_v2")
    only = run_factory("runs", "temp", "--json", cwd=trained["root"]).doc["data"]
    assert [r["run_id"] for r in only["runs"]] == [trained["temp"]]
    assert only["runs"][0]["primary_metric"]["name"] == "mae"
    assert data["best"]["temp"] == trained["temp"] and only["best"] == {"temp": trained["temp"]}
    assert run_factory("runs", "snow", "--json", cwd=trained["root"]).code == 3


def test_show_accepts_a_prefix_and_returns_the_whole_report(trained: dict[str, Any]) -> None:
    run_id = trained["temp"]
    ran = run_factory("show", run_id[:6], "--full", "--json", cwd=trained["root"])
    assert ran.code == 0, ran.stderr
    stored = json.loads((trained["root"] / "reports" / f"{run_id}.json").read_text())
    assert ran.doc["data"] == stored and ran.doc["schema"] == "factory.report/3"
    # Without --full: everything but the bulk, which is summarised.
    brief = run_factory("show", run_id, "--json", cwd=trained["root"]).doc
    assert brief["schema"] == "factory.show/3"
    assert {k: v for k, v in brief["data"].items() if k not in ("curves", "predictions")} == {
        k: v for k, v in stored.items() if k not in ("curves", "predictions", "inputs")
    }
    assert brief["data"]["predictions"]["rows"] == len(stored["predictions"]["row"])
    fold = brief["data"]["curves"]["folds"][0]
    validation = stored["curves"]["folds"][0]["validation"]
    assert fold["min_validation"] == min(validation)
    assert fold["best_iteration"] == validation.index(min(validation))
    assert fold["final_validation"] == validation[-1]
    missing = run_factory("show", "r-000000", "--json", cwd=trained["root"])
    assert missing.code == 3 and missing.doc["error"]["code"] == "unknown_run"
    # A run by what it is to its model.
    best = run_factory("show", "temp:best", "--json", cwd=trained["root"]).doc
    assert best["data"]["run_id"] == trained["temp"]


def test_curves_per_fold_learn_and_validation(trained: dict[str, Any]) -> None:
    ran = run_factory("curves", trained["temp"], "--json", cwd=trained["root"])
    assert ran.code == 0, ran.stderr
    data = ran.doc["data"]
    assert data["metric"] == "RMSE" and len(data["folds"]) == 4
    assert all(len(f["learn"]) == 30 == len(f["validation"]) for f in data["folds"])
    assert len(data["final"]["learn"]) == 30


def test_compare_is_paired_on_the_same_windows(trained: dict[str, Any]) -> None:
    from core.foundation.workspace import Workspace
    from core.verdicts.compare import compare_runs

    ran = run_factory(
        "compare", trained["rain_v1"], trained["rain_v2"], "--json", cwd=trained["root"]
    )
    assert ran.code == 0, ran.stderr
    data = ran.doc["data"]
    a = json.loads((trained["root"] / "reports" / f"{trained['rain_v1']}.json").read_text())
    b = json.loads((trained["root"] / "reports" / f"{trained['rain_v2']}.json").read_text())
    deltas = [
        fb["metrics"]["auc"] - fa["metrics"]["auc"]
        for fa, fb in zip(a["folds"], b["folds"], strict=True)
    ]
    assert [f["delta"] for f in data["folds"]] == pytest.approx(deltas)
    # AUC is not a mean over rows: DeLong per fold, combined over the four folds, so the
    # estimate is the mean of the per-fold AUC deltas and the interval comes from the rows.
    assert data["method"] == "delong-folds" and data["rows"] == sum(
        f["test"]["rows"] for f in a["folds"]
    )
    assert data["mean_delta"] == pytest.approx(sum(deltas) / 4)
    low, high = data["interval"]
    assert low < data["mean_delta"] < high
    assert data["wins_a"] + data["wins_b"] + data["ties"] == 4
    expected = "better" if low > 0 else "worse" if high < 0 else "inconclusive"
    assert data["verdict"] == expected
    # Swapping the runs mirrors the verdict.
    swapped = compare_runs(Workspace(trained["root"]), trained["rain_v2"], trained["rain_v1"])
    mirror = {"better": "worse", "worse": "better", "inconclusive": "inconclusive"}
    assert swapped.verdict == mirror[data["verdict"]]
    assert swapped.mean_delta == pytest.approx(-data["mean_delta"])


def test_compare_minimize_metric_orients_the_verdict(trained: dict[str, Any]) -> None:
    from core.foundation.workspace import Workspace
    from core.verdicts.compare import compare_runs

    same = compare_runs(Workspace(trained["root"]), trained["temp"], trained["temp"])
    assert same.mean_delta == 0 and same.verdict == "inconclusive" and same.ties == 4
    assert same.direction == "minimize" and same.method == "diebold-mariano"
    assert same.rows == 4 * 90 - 1  # the last date has no tomorrow


@pytest.mark.slow
def test_compare_refuses_different_metrics_or_windows(trained: dict[str, Any]) -> None:
    root = trained["root"]
    ran = run_factory("compare", trained["rain_v2"], trained["temp"], "--json", cwd=root)
    assert ran.code == 3 and ran.doc["error"]["code"] == "not_comparable"
    config = root / "factory.toml"
    config.write_text(config.read_text().replace("test_days = 90", "test_days = 60"))
    other = run_factory("train", "rain", "--hparams", "tiny", "--threads", "2", "--json", cwd=root)
    assert other.code == 0, other.stderr
    assert other.doc["data"]["run_id"] != trained["rain_v2"]  # validation settings are inputs
    ran = run_factory(
        "compare", trained["rain_v2"], other.doc["data"]["run_id"], "--json", cwd=root
    )
    assert ran.code == 3 and "different windows" in ran.doc["error"]["message"]


@pytest.mark.parametrize("source", [LEAKY_SHIFT, LEAKY_CENTERED], ids=["shift", "centered"])
def test_check_features_catches_leaks(trained: dict[str, Any], source: str) -> None:
    root = trained["root"]
    folder = root / "components" / "features"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "leaky_v1.py").write_text(source)
    ran = run_factory("check", "features", "leaky_v1", "--budget", "2", "--json", cwd=root)
    assert ran.code == 1, ran.stdout
    data = ran.doc["data"]
    assert data["ok"] is False and data["violations"] and data["failing_cuts"]
    assert all(c["changed_rows"] >= 1 for c in data["failing_cuts"])
    violation = data["violations"][0]
    assert violation["time"][:10] <= violation["cut"]
    # Remembered: the report is on record, and training that version is refused.
    assert (root / data["report_path"]).is_file()
    refused = run_factory(
        "train", "rain", "--features", "leaky_v1", "--hparams", "tiny", "--json", cwd=root
    )
    assert refused.code == 1 and refused.doc["error"]["code"] == "features_leak"


@pytest.mark.slow
def test_check_features_passes_builtins(trained: dict[str, Any]) -> None:
    for version in ("weather_v1", "weather_v2"):
        ran = run_factory(
            "check", "features", version, "--budget", "1", "--json", cwd=trained["root"]
        )
        assert ran.code == 0, ran.stdout
        data = ran.doc["data"]
        assert data["ok"] is True and data["failing_cuts"] == [] and data["cuts_checked"] >= 1
        assert data["cuts_by_kind"].get("fold", 0) >= 1  # the walk-forward boundaries first
        assert len(ran.stdout) < 20_000  # every cut is in the recorded report, not the answer


def test_status_shows_best_last_and_count(trained: dict[str, Any]) -> None:
    doc = run_factory("status", "--json", cwd=trained["root"]).doc
    rain = next(m for m in doc["data"]["models"] if m["name"] == "rain")
    assert rain["run_count"] == 2 and rain["interrupted"] == []
    assert rain["best_run"]["run_id"] in (trained["rain_v1"], trained["rain_v2"])
    assert rain["last_run"]["run_id"] == trained["rain_v1"]


@pytest.mark.slow
def test_views_answer_from_runs_and_are_empty_in_a_fresh_workspace(
    trained: dict[str, Any], workspace: Path
) -> None:
    root = trained["root"]
    shutil.rmtree(root / ".factory")  # the index is regenerable: views rebuild it
    queries = {
        "SELECT count(*) AS n FROM runs": 3,
        "SELECT count(*) AS n FROM folds": 12,
        "SELECT count(*) AS n FROM metrics": 4 * 3 * 2 + 4 * 2,
        "SELECT count(*) AS n FROM params WHERE name = 'iterations' AND value = '30'": 3,
        "SELECT count(*) AS n FROM curves": 3 * 4 * 2 * 30,
    }
    for sql, expected in queries.items():
        ran = run_factory("query", sql, "--json", cwd=root)
        assert ran.code == 0, ran.stdout
        assert ran.doc["data"]["rows"][0]["n"] == expected, sql
        empty = run_factory("query", sql, "--json", cwd=workspace)
        assert empty.code == 0 and empty.doc["data"]["rows"][0]["n"] == 0


def test_index_compacts_rebuilds_and_follows_reports(trained: dict[str, Any]) -> None:
    from core.experiments import index
    from core.foundation.workspace import Workspace

    root = trained["root"]
    ws = Workspace(root)
    template = json.loads((root / "reports" / f"{trained['temp']}.json").read_text())
    from core.foundation.atomic import write_json

    for n in range(70):
        run_id = f"r-fake{n:08d}"
        write_json(root / "reports" / f"{run_id}.json", {**template, "run_id": run_id})
    runs = index.list_runs(ws)
    assert len(runs) == 3 + 70
    manifest = json.loads((root / ".factory" / "index" / "manifest.json").read_text())
    assert manifest["runs"] == len(runs)
    (root / "reports" / "r-fake00000000.json").unlink()
    (root / ".factory" / "index" / "runs" / "r-fake00000001.json").unlink()
    again = index.list_runs(ws)
    ids = {r.run_id for r in again}
    assert "r-fake00000000" not in ids and "r-fake00000001" in ids
    assert len(again) == len(runs) - 1
    assert (root / ".factory" / "index" / "runs" / "r-fake00000001.json").is_file()
    best = index.best_run(ws, "temp")
    assert best is not None and best.primary["mean"] == min(
        r.primary["mean"] for r in again if r.model == "temp"
    )


def test_runs_limit_shows_the_newest(trained: dict[str, Any]) -> None:
    data = run_factory("runs", "--limit", "1", "--json", cwd=trained["root"]).doc["data"]
    assert data["count"] == 3 and data["shown"] == 1 and data["truncated"] is True
    newest = run_factory("runs", "--all", "--json", cwd=trained["root"]).doc["data"]["runs"][-1]
    assert data["runs"][0]["run_id"] == newest["run_id"]


READER = """
import json, sys
from pathlib import Path
from core.experiments import index
from core.foundation.workspace import Workspace
ws = Workspace(Path(sys.argv[1]))
seen = []
for _ in range(40):
    index._CACHE.clear()
    ids = [s["run_id"] for s in index.read_summaries(ws)]
    assert len(ids) == len(set(ids)), "a run was counted twice"
    seen.append(len(ids))
print(json.dumps(seen))
"""


def test_readers_never_double_count_while_runs_are_written(trained: dict[str, Any]) -> None:
    """Readers compact while a writer adds runs: counts only grow, never duplicate."""
    import subprocess
    import sys

    from core.experiments import index
    from core.foundation.atomic import write_json
    from core.foundation.workspace import Workspace
    from tests.conftest import REPO

    root = trained["root"]
    template = json.loads((root / "reports" / f"{trained['temp']}.json").read_text())
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, str(root)], env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    ws = Workspace(root)
    for n in range(120):
        report = {**template, "run_id": f"r-conc{n:08d}"}
        write_json(root / "reports" / f"{report['run_id']}.json", report)
        index.write_summary(ws, report)
    for reader in readers:
        out, _ = reader.communicate(timeout=120)
        assert reader.returncode == 0
        counts = json.loads(out)
        assert all(3 <= c <= 123 for c in counts) and counts == sorted(counts)
    index._CACHE.clear()
    assert len(index.read_summaries(ws)) == 123


def test_a_run_written_within_one_mtime_tick_is_never_hidden(trained: dict[str, Any]) -> None:
    """Folder mtimes move in coarse ticks: a run written in the tick of the last read leaves
    the folders' stamp as it was. Neither the in-process memo nor the published compaction
    may then hide it; once the stamp is old enough, both are used again."""
    import os
    import time

    from core.experiments import index
    from core.foundation.atomic import write_json
    from core.foundation.stamps import RACY_NS
    from core.foundation.workspace import Workspace

    root = trained["root"]
    ws = Workspace(root)
    folders = [ws.reports_dir, index.summaries_dir(ws)]
    now = time.time_ns()
    for folder in folders:
        os.utime(folder, ns=(now, now))  # the last write was a moment ago
    assert len(index.read_summaries(ws)) == 3
    stamp = index._folder_stamp(ws)
    template = json.loads((root / "reports" / f"{trained['temp']}.json").read_text())
    report = {**template, "run_id": "r-sametick0001"}
    write_json(root / "reports" / "r-sametick0001.json", report)
    index.write_summary(ws, report)
    for folder, mtime in zip(folders, stamp, strict=True):
        os.utime(folder, ns=(mtime, mtime))  # the same tick as the read before
    assert index._folder_stamp(ws) == stamp
    assert len(index.read_summaries(ws)) == 4
    index._CACHE.clear()  # as a new process
    assert len(index.read_summaries(ws)) == 4

    old = time.time_ns() - 10 * RACY_NS
    for folder in folders:
        os.utime(folder, ns=(old, old))
    first = index.read_summaries(ws)
    assert len(first) == 4 and index.read_summaries(ws) is first  # memo used when settled
    manifest = json.loads((root / ".factory" / "index" / "manifest.json").read_text())
    assert manifest["stamp"] == [old, old] and manifest["runs"] == 4
