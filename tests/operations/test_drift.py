"""`factory drift` on the embedded weather data: a real seasonal shift, no shift, the
effect-size guard, bad input, idempotence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from core.foundation.config import DriftConfig
from core.operations.drift import compare_frames
from tests.operations.conftest import snapshot_frame


def _files(root: Path) -> set[str]:
    return {p.name for p in (root / "reports").glob("drift-*")}


@pytest.mark.slow
def test_summer_against_all_years_drifts_and_is_idempotent(ops: dict[str, Any]) -> None:
    root = ops["root"]
    frame = snapshot_frame(root, ops["snapshot"])
    frame[frame["date"].dt.month.isin([6, 7, 8])].to_csv(root / "summer.csv", index=False)

    ran = ops["run"]("drift", "rain", "--reference", ops["run_a"], "--current", "summer.csv")
    assert ran.code == 1, ran.stderr
    data = ran.doc["data"]
    assert data["drift_detected"] is True
    by_name = {c["column"]: c for c in data["columns"]}
    temp = by_name["temp_max"]
    assert temp["source"] == "raw" and temp["type"] == "num"
    assert temp["drifted"] and temp["effect_size"] > 1.0  # summer is >1 std warmer
    assert temp["method"].startswith("Wasserstein")
    assert by_name["temp_max_mean30d"]["source"] == "feature"
    assert data["share"] >= data["share_threshold"]
    assert data["drifted_count"] == sum(c["drifted"] for c in data["columns"])
    assert (root / data["report_path"]).is_file()
    html = (root / data["html_path"]).read_text()
    assert "<html" in html.lower() and len(html) > 10_000
    alerts = ops["run"]("alerts").doc["data"]["alerts"]
    assert [a["kind"] for a in alerts] == ["drift"]
    assert data["drift_id"] in alerts[0]["source"]

    view = ops["run"]("query", "SELECT drift_id, drift_detected, drifted_count FROM drift")
    assert view.doc["data"]["rows"] == [
        {
            "drift_id": data["drift_id"],
            "drift_detected": True,
            "drifted_count": data["drifted_count"],
        }
    ]

    before = _files(root)
    again = ops["run"]("drift", "rain", "--reference", ops["run_a"], "--current", "summer.csv")
    assert again.code == 1
    assert again.doc["data"]["drift_id"] == data["drift_id"]
    assert again.doc["data"]["reused"] is True
    assert _files(root) == before
    assert len(ops["run"]("alerts").doc["data"]["alerts"]) == 1


@pytest.mark.slow
def test_random_half_of_the_same_data_does_not_drift(ops: dict[str, Any]) -> None:
    root = ops["root"]
    frame = snapshot_frame(root, ops["snapshot"])
    frame.sample(frac=0.5, random_state=3).sort_values("date").to_csv(
        root / "half.csv", index=False
    )
    ran = ops["run"]("drift", "rain", "--reference", ops["snapshot"], "--current", "half.csv")
    assert ran.code == 0, ran.stdout
    data = ran.doc["data"]
    assert data["drift_detected"] is False
    assert data["share"] < data["share_threshold"]
    raw = {c["column"]: c for c in data["columns"] if c["source"] == "raw"}
    assert set(raw) == {"precipitation", "temp_max", "temp_min", "wind", "weather"}
    assert not any(c["drifted"] for c in raw.values())
    assert raw["weather"]["type"] == "cat" and raw["weather"]["effect_measure"] == "total_variation"
    assert ops["run"]("alerts").doc["data"]["count"] == 0


@pytest.mark.slow
def test_last_window_of_newest_snapshot(ops: dict[str, Any]) -> None:
    ran = ops["run"]("drift", "rain", "--reference", ops["run_a"], "--last", "90d")
    data = ran.doc["data"]
    assert data["current"]["kind"] == "window"
    assert data["current"]["time_range"][0].startswith("2015-10-03")
    assert data["current"]["rows"] == 90
    assert ran.code == (1 if data["drift_detected"] else 0)


@pytest.mark.slow
def test_tiny_significant_shift_does_not_cry_wolf() -> None:
    rng = np.random.default_rng(7)
    reference = pd.DataFrame({"x": rng.normal(0, 1, 1000), "y": rng.normal(0, 1, 1000)})
    current = pd.DataFrame({"x": rng.normal(0.25, 1, 1000), "y": rng.normal(0, 1, 1000)})
    strict = DriftConfig(share_threshold=0.5, stattest_threshold=0.05, min_effect_size=0.5)
    columns, _, _ = compare_frames(reference, current, strict)
    x = next(c for c in columns if c.column == "x")
    assert x.method.startswith("K-S") and x.test_drifted  # significant...
    assert 0.1 < x.effect_size < 0.5 and not x.drifted  # ...but smaller than asked for
    loose = DriftConfig(share_threshold=0.5, stattest_threshold=0.05, min_effect_size=0.1)
    columns, _, _ = compare_frames(reference, current, loose)
    assert next(c for c in columns if c.column == "x").drifted


@pytest.mark.slow
def test_invalid_current_file_is_refused_with_row_and_nothing_written(ops: dict[str, Any]) -> None:
    root = ops["root"]
    frame = snapshot_frame(root, ops["snapshot"]).head(60).copy()
    frame.loc[10, "temp_max"] = 999.0  # outside the schema's range
    frame.to_csv(root / "bad.csv", index=False)
    ran = ops["run"]("drift", "rain", "--reference", ops["snapshot"], "--current", "bad.csv")
    assert ran.code == 1
    error = ran.doc["error"]
    assert error["code"] == "data_invalid"
    assert "temp_max" in error["message"]
    assert _files(root) == set()

    missing = ops["run"]("drift", "rain", "--reference", ops["snapshot"], "--current", "nope.csv")
    assert missing.code == 3 and "nope.csv" in missing.doc["error"]["message"]
    usage = ops["run"]("drift", "rain", "--reference", ops["snapshot"], "--last", "soon")
    assert usage.code == 2
