"""Built-in components honour their contracts, including several rows per date."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.components.registry import get_component, list_components, load_module
from core.errors import FactoryError
from tests.conftest import run_factory


def module(kind: str, version: str):  # type: ignore[no-untyped-def]
    return load_module(get_component(None, kind, version))


def two_cities() -> pd.DataFrame:
    """Two cities sharing dates, one with a missing day, rows interleaved by time."""
    days = pd.date_range("2022-01-01", periods=40, freq="D")
    a = pd.DataFrame(
        {
            "date": days,
            "city": "a",
            "precipitation": np.arange(40.0) % 3,
            "temp_max": np.arange(40.0),
        }
    )
    b = pd.DataFrame(
        {"date": days, "city": "b", "precipitation": 0.0, "temp_max": 100 + np.arange(40.0)}
    )
    b = b.drop(index=10)  # b has no row on 2022-01-11
    frame = pd.concat([a, b]).sort_values("date", kind="mergesort").reset_index(drop=True)
    return frame


def test_labels_look_at_the_same_entity_next_calendar_day() -> None:
    frame = two_cities()
    temp = module("labels", "temp_max_tomorrow_v1").build(frame, "date", ("city",))
    rain = module("labels", "rain_tomorrow_v1").build(frame, "date", ("city",))
    b = frame["city"] == "b"
    # b on 2022-01-10 has no next day row: unknown, not a's value.
    row = frame.index[b & (frame["date"] == "2022-01-10")][0]
    assert np.isnan(temp[row]) and np.isnan(rain[row])
    row = frame.index[b & (frame["date"] == "2022-01-01")][0]
    assert temp[row] == 101.0 and rain[row] == 0.0
    row = frame.index[(frame["city"] == "a") & (frame["date"] == "2022-01-01")][0]
    assert temp[row] == 1.0 and rain[row] == 1.0
    last = frame["date"] == frame["date"].max()
    assert temp[last].isna().all()


def test_weather_v2_lags_per_entity_and_time_windows() -> None:
    frame = two_cities()
    features = module("features", "weather_v2").build(frame, "date", ("city",))
    assert features.index.equals(frame.index)
    b12 = frame.index[(frame["city"] == "b") & (frame["date"] == "2022-01-12")][0]
    assert features.loc[b12, "temp_max_lag1"] == 109.0  # b's previous row, not a's
    assert features.loc[b12, "days_since_prev"] == 2.0
    a8 = frame.index[(frame["city"] == "a") & (frame["date"] == "2022-01-08")][0]
    assert features.loc[a8, "temp_max_mean7d"] == pytest.approx(np.mean(np.arange(1.0, 8.0)))
    assert features["city"].dtype == object


def test_labels_name_the_missing_column() -> None:
    frame = pd.DataFrame({"date": pd.date_range("2022-01-01", periods=3), "rainfall": 1.0})
    with pytest.raises(FactoryError) as caught:
        module("labels", "rain_tomorrow_v1").build(frame, "date", ())
    assert "precipitation" in caught.value.message and "rainfall" in caught.value.message


def test_metrics_match_definitions() -> None:
    classification = module("metrics", "classification_v1")
    y = np.array([0, 0, 1, 1, 1])
    p = np.array([0.1, 0.6, 0.4, 0.8, 0.9])
    values = classification.compute(y, p)
    # 6 positive/negative pairs, 5 ranked correctly.
    assert values["auc"] == pytest.approx(5 / 6)
    assert values["brier"] == pytest.approx(np.mean((p - y) ** 2))
    assert np.isnan(classification.compute(np.ones(3), np.full(3, 0.5))["auc"])
    regression = module("metrics", "regression_v1").compute(
        np.array([1.0, 2.0]), np.array([2.0, 4.0])
    )
    assert regression == {"mae": 1.5, "rmse": pytest.approx(np.sqrt(2.5))}


def test_components_command_lists_every_kind_with_hashes(workspace) -> None:  # type: ignore[no-untyped-def]
    ran = run_factory("components", "--json", cwd=workspace)
    assert ran.code == 0, ran.stderr
    refs = {c["ref"]: c for c in ran.doc["data"]["components"]}
    for ref in ("features/weather_v1", "features/weather_v2", "labels/rain_tomorrow_v1",
                "labels/temp_max_tomorrow_v1", "hparams/h1", "hparams/h2", "arch/catboost_v1",
                "metrics/classification_v1", "metrics/regression_v1"):  # fmt: skip
        assert len(refs[ref]["hash"]) == 16 and refs[ref]["description"], ref
    only = run_factory("components", "--kind", "hparams", "--json", cwd=workspace).doc["data"]
    assert {c["kind"] for c in only["components"]} == {"hparams"}
    assert len(list_components(None, "labels")) == 2
