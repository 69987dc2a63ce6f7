"""Built-in components honour their contracts, including several rows per date."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.components.registry import get_component, list_components, load_module
from core.foundation.errors import FactoryError
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
                "labels/temp_max_tomorrow_v1", "labels/rain_tomorrow_v2",
                "labels/temp_max_tomorrow_v2", "hparams/h1", "hparams/h2", "arch/catboost_v1",
                "metrics/classification_v1", "metrics/regression_v1"):  # fmt: skip
        assert len(refs[ref]["hash"]) == 16 and refs[ref]["description"], ref
    only = run_factory("components", "--kind", "hparams", "--json", cwd=workspace).doc["data"]
    assert {c["kind"] for c in only["components"]} == {"hparams"}
    assert len(list_components(None, "labels")) == 4


# ------------------------------------------------------------------ contracts on load


def own_component(ws: Path, kind: str, version: str, source: str) -> Path:
    folder = ws / "components" / kind
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{version}{'.toml' if kind == 'hparams' else '.py'}"
    path.write_text(textwrap.dedent(source))
    return path


def test_a_schema_module_with_a_lowercase_schema_is_refused_not_validated(
    workspace: Path,
) -> None:
    path = own_component(
        workspace,
        "schemas",
        "mine_v1",
        """\
        import pandera.pandas as pa

        schema = pa.DataFrameSchema({"temp_max": pa.Column(float, pa.Check.le(0.0))})
        """,
    )
    config = workspace / "factory.toml"
    config.write_text(config.read_text().replace('schema = "weather_v1"', 'schema = "mine_v1"'))
    before = path.read_bytes()
    ran = run_factory(
        "validate", "vega:seattle-weather", "--dataset", "weather", "--json", cwd=workspace
    )
    assert ran.code == 3, ran.stdout
    error = ran.doc["error"]
    assert error["code"] == "component_contract"
    assert str(path) in error["message"] and "SCHEMA" in error["message"]
    assert "`schema` (line 3)" in error["message"]  # the near miss, where it is
    assert error["details"]["missing"] == ["SCHEMA"]
    assert path.read_bytes() == before


CONTRACT_BREAKS = {
    "task_typo": (
        "labels",
        'TASK = "regresion"\nHORIZON = "1D"\ndef build(f, t, e):\n    return f[t]\n',
        "TASK",
        1,
    ),
    "build_not_callable": ("labels", 'TASK = "regression"\nbuild = 3\n', "build", 2),
    "build_arity": (
        "labels",
        'TASK = "regression"\ndef build(frame):\n    return frame\n',
        "build",
        2,
    ),
    "horizon_negative": (
        "labels",
        'TASK = "regression"\nHORIZON = "-1D"\ndef build(f, t, e):\n    return f[t]\n',
        "HORIZON",
        2,
    ),
    "horizon_words": (
        "labels",
        'TASK = "regression"\nHORIZON = "tomorrow"\ndef build(f, t, e):\n    return f[t]\n',
        "HORIZON",
        2,
    ),
    "horizon_not_a_string": (
        "labels",
        'TASK = "regression"\nHORIZON = 1\ndef build(f, t, e):\n    return f[t]\n',
        "HORIZON",
        2,
    ),
    "persistence_flag": (
        "labels",
        'TASK = "regression"\nPERSISTENCE = "yes"\ndef build(f, t, e):\n    return f[t]\n',
        "PERSISTENCE",
        2,
    ),
    "categorical_string": (
        "features",
        'CATEGORICAL = "store"\ndef build(f, t, e):\n    return f\n',
        "CATEGORICAL",
        1,
    ),
    "history_zero": (
        "features",
        'HISTORY = "0D"\ndef build(f, t, e):\n    return f\n',
        "HISTORY",
        1,
    ),
    "metrics_direction": (
        "metrics",
        'METRICS = {"mae": "min"}\ndef compute(y, p):\n    return {}\n',
        "METRICS",
        1,
    ),
    "metrics_list": (
        "metrics",
        'METRICS = ["mae"]\ndef compute(y, p):\n    return {}\n',
        "METRICS",
        1,
    ),
    "row_losses_unknown": (
        "metrics",
        'METRICS = {"mae": "minimize"}\nROW_LOSSES = {"mse": abs}\ndef compute(y, p):\n    return {}\n',
        "ROW_LOSSES",
        2,
    ),
    "time_order": (
        "schemas",
        'import pandera.pandas as pa\nTIME_ORDER = "ascending"\nSCHEMA = pa.DataFrameSchema({})\n',
        "TIME_ORDER",
        2,
    ),
    "schema_model": (
        "schemas",
        "import pandera.pandas as pa\nclass SCHEMA(pa.DataFrameModel):\n    x: float\n",
        "SCHEMA",
        2,
    ),
    "arch_missing": (
        "arch",
        "def make_model(task, params, seed, thread_count):\n    return None\n",
        "predict",
        None,
    ),
}


@pytest.mark.parametrize("case", sorted(CONTRACT_BREAKS))
def test_a_module_breaking_its_contract_is_refused_on_load_naming_the_name(
    workspace: Path, case: str
) -> None:
    from core.foundation.workspace import Workspace

    kind, source, name, line = CONTRACT_BREAKS[case]
    path = own_component(workspace, kind, f"{case}_v1", source)
    with pytest.raises(FactoryError) as caught:
        load_module(get_component(Workspace(workspace), kind, f"{case}_v1"))
    error = caught.value
    assert error.code == "component_contract"
    assert name in error.message and str(path) in error.message
    if line is not None:
        assert f"{path}:{line}:" in error.message, error.message
    assert any(p["name"] == name for p in error.details["problems"]), error.details


def test_labels_v1_load_without_horizon_but_training_needs_it() -> None:
    from core.components.contracts import check_module, label_horizon

    for version in ("rain_tomorrow_v1", "temp_max_tomorrow_v1"):
        info = get_component(None, "labels", version)
        v1 = load_module(info)  # old runs stay readable
        assert label_horizon(v1) is None
        with pytest.raises(FactoryError) as caught:
            check_module("labels", info.ref, info.path, v1, for_training=True)
        assert "HORIZON" in caught.value.message and info.path in caught.value.message
        assert caught.value.details["missing"] == ["HORIZON"]
        v2_info = get_component(None, "labels", version.replace("_v1", "_v2"))
        v2 = load_module(v2_info)
        check_module("labels", v2_info.ref, v2_info.path, v2, for_training=True)
        assert label_horizon(v2) == pd.Timedelta("1D")
        assert v2.TASK == v1.TASK and v2.HORIZON == "1D"


def test_labels_v2_behave_exactly_like_v1() -> None:
    frame = two_cities()
    for name in ("rain_tomorrow", "temp_max_tomorrow"):
        v1 = module("labels", f"{name}_v1").build(frame, "date", ("city",))
        v2 = module("labels", f"{name}_v2").build(frame, "date", ("city",))
        pd.testing.assert_series_equal(v1, v2)
    alone = frame[frame["city"] == "a"].reset_index(drop=True)
    pd.testing.assert_series_equal(
        module("labels", "rain_tomorrow_v1").build(alone, "date", ()),
        module("labels", "rain_tomorrow_v2").build(alone, "date", ()),
    )


def test_released_label_files_are_untouched() -> None:
    # Their hashes are recorded in committed reports.
    assert get_component(None, "labels", "rain_tomorrow_v1").hash == "3015e93ad42e0fe2"
    assert get_component(None, "labels", "temp_max_tomorrow_v1").hash == "fa184f658b554bd9"


def test_every_builtin_module_meets_its_contract() -> None:
    from core.components.contracts import check_module

    for info in list_components(None):
        if info.kind in ("hparams", "inference"):
            continue
        loaded = load_module(info)
        check_module(info.kind, info.ref, info.path, loaded)


# ------------------------------------------------------------------ hyperparameters


def test_hparams_of_the_wrong_type_are_refused_with_file_line_and_type(workspace: Path) -> None:
    from core.components.registry import load_hparams
    from core.foundation.workspace import Workspace

    path = own_component(
        workspace, "hparams", "bad", '# Wrong type.\niterations = 30\ndepth = "six"\n'
    )
    with pytest.raises(FactoryError) as caught:
        load_hparams(get_component(Workspace(workspace), "hparams", "bad"))
    error = caught.value
    assert error.code == "hparams_invalid" and error.exit_code == 3
    assert f"{path}:3:" in error.message
    assert "depth" in error.message and "'six'" in error.message and "int" in error.message
    assert error.details["problems"][0]["key"] == "depth"


def test_an_unknown_hparam_is_refused_with_a_suggestion(workspace: Path) -> None:
    from core.components.registry import load_hparams
    from core.foundation.workspace import Workspace

    path = own_component(workspace, "hparams", "typo", "iterations = 30\ndept = 6\n")
    with pytest.raises(FactoryError) as caught:
        load_hparams(get_component(Workspace(workspace), "hparams", "typo"))
    error = caught.value
    assert f"{path}:2:" in error.message and "'dept'" in error.message
    assert "did you mean 'depth'" in error.message


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("early_stopping_rounds = 0\n", "early_stopping_rounds", "at least 1"),
        ("thread_count = 8\n", "thread_count", "factory sets"),
        ('nan_mode = "Minn"\n', "nan_mode", "Min"),
        ("depth = 6\nmax_depth = 5\n", "max_depth", "depth"),
        ("iterations = true\n", "iterations", "int"),
    ],
)
def test_other_bad_hparams_are_refused(workspace: Path, text: str, key: str, words: str) -> None:
    from core.components.registry import load_hparams
    from core.foundation.workspace import Workspace

    own_component(workspace, "hparams", "other", text)
    with pytest.raises(FactoryError) as caught:
        load_hparams(get_component(Workspace(workspace), "hparams", "other"))
    assert key in caught.value.message and words in caught.value.message, caught.value.message


def test_valid_hparams_load_as_written(workspace: Path) -> None:
    from core.components.registry import load_hparams, load_toml
    from core.foundation.workspace import Workspace

    ws = Workspace(workspace)
    own_component(
        workspace,
        "hparams",
        "good",
        "iterations = 50\nlearning_rate = 1\ndepth = 4\nl2_leaf_reg = 3.0\n"
        'early_stopping_rounds = 10\ncustom_metric = ["AUC"]\nbootstrap_type = "Bernoulli"\n'
        "subsample = 0.8\n",
    )
    good = get_component(ws, "hparams", "good")
    assert load_hparams(good) == load_toml(good)
    assert load_hparams(good, task="classification")["depth"] == 4
    for version in ("h1", "h2"):
        info = get_component(None, "hparams", version)
        assert load_hparams(info) == load_toml(info)
