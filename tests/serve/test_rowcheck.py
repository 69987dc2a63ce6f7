"""The fast accept of `factory serve` (core/serve/rowcheck.py) against `validate_source`:
on every request it accepts it returns exactly the frame the batch validation returns, and
it accepts nothing the batch validation refuses (so errors are always the batch ones)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from core.foundation.config import DatasetConfig
from core.serve.history import POSITION

CITIES = """
import pandera.pandas as pa

TIME_ORDER = "any"

SCHEMA = pa.DataFrameSchema(
    {
        "temp": pa.Column(float, pa.Check.greater_than(-60), coerce=True, nullable=True),
        "count": pa.Column(int, [pa.Check.greater_than_or_equal_to(0), pa.Check.less_than(100)]),
        "kind": pa.Column(str, pa.Check.notin(["bad"])),
    }
)
"""

DAY = {"date": "2015-12-01", "precipitation": 0.0, "temp_max": 7.8, "temp_min": 2.2,
       "wind": 3.1, "weather": "rain"}  # fmt: skip
NEXT = {**DAY, "date": "2015-12-02", "precipitation": 5.6}
CITY = {"day": "2024-01-01T06:00:00", "city": "north", "temp": 1.5, "count": 3, "kind": "a"}


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows)
    frame[POSITION] = range(len(rows))
    return frame


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from core.foundation.workspace import Workspace
    from core.foundation.workspace_init import init_workspace

    root = tmp_path_factory.mktemp("rowcheck") / "ws"
    init_workspace(root)
    schemas = root / "components" / "schemas"
    schemas.mkdir(parents=True, exist_ok=True)
    (schemas / "cities_v1.py").write_text(CITIES)
    return Workspace(Path(root))


def _both(ws: Any, dataset: DatasetConfig, rows: list[dict[str, Any]]) -> tuple[Any, Any]:
    """(fast, slow): the fast accept's frame or None, the batch validation's frame or None."""
    from core.data.sources import SourceFrame
    from core.data.validation import contract, validate_source
    from core.serve.rowcheck import plan

    check = plan(contract(ws, dataset))
    assert check is not None, "the schema is one the fast accept models"
    fast = check.accept(copy.deepcopy(rows), _frame(rows))
    source = SourceFrame(_frame(rows), "request", "request body", "", "json")
    _, slow = validate_source(ws, dataset, source)
    return fast, slow


VALID: list[list[dict[str, Any]]] = [
    [DAY],
    [DAY, NEXT],
    [{**DAY, "precipitation": 0, "temp_max": 8, "wind": 3}],  # ints, coerced to float
    [{**DAY, "precipitation": 500.0, "temp_min": -40.0}],  # the ranges' inclusive ends
    [{**DAY, "date": "2015-12-01 18:30"}, {**NEXT, "date": "2015-12-02T01:00:00"}],
    [{**DAY, "extra": "kept as is"}],
]
INVALID: list[list[dict[str, Any]]] = [
    [{**DAY, "precipitation": -0.1}],
    [{**DAY, "temp_max": 50.5}],
    [{**DAY, "weather": "hail"}],
    [{**DAY, "weather": 3}],
    [{**DAY, "wind": None}],
    [{**DAY, "precipitation": float("inf")}],
    [{k: v for k, v in DAY.items() if k != "wind"}],
    [DAY, {k: v for k, v in NEXT.items() if k != "wind"}],
    [DAY, DAY],  # a duplicate date
    [NEXT, DAY],  # not increasing (TIME_ORDER = "increasing")
    [{**DAY, "date": "2015-02-30"}],
    [{**DAY, "date": "yesterday"}],
    [{**DAY, "date": None}],
    [{k: v for k, v in DAY.items() if k != "date"}],
]


def test_accepts_valid_rows_with_the_batch_frame_and_refuses_all_invalid(ws: Any) -> None:
    dataset = ws.config.datasets["weather"]
    for rows in VALID:
        fast, slow = _both(ws, dataset, rows)
        assert slow is not None, rows
        assert fast is not None, rows  # the fast way is taken: a valid request is cheap
        pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    for rows in INVALID:
        fast, slow = _both(ws, dataset, rows)
        assert slow is None, rows
        assert fast is None, rows


def test_rows_it_is_not_sure_of_go_the_batch_way(ws: Any) -> None:
    """Valid for the batch validation, not modelled by the fast accept: a time with a UTC
    offset (ADR 0020's rules live in the batch validation), a true/false in a number column
    or a number written as text (pandera coerces both), a number as the time (read as an
    epoch, as a batch file's would be)."""
    dataset = ws.config.datasets["weather"]
    for rows in (
        [{**DAY, "date": "2015-12-01T00:00:00+01:00"}],
        [{**DAY, "wind": True}],
        [{**DAY, "wind": "3.1"}],
        [{**DAY, "date": 20151201}],
    ):
        fast, slow = _both(ws, dataset, rows)
        assert fast is None and slow is not None, rows


def test_entities_ints_and_nullable_columns(ws: Any) -> None:
    dataset = DatasetConfig("cities", "x.csv", "day", "cities_v1", ("city",))
    south = {**CITY, "city": "south", "temp": -3}
    later = {**CITY, "day": "2024-01-02T06:00:00", "count": 99, "kind": "b"}
    for rows in ([CITY], [later, south, CITY], [{**CITY, "city": 7}]):
        fast, slow = _both(ws, dataset, rows)
        assert fast is not None and slow is not None, rows
        pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    for rows in (
        [CITY, {**CITY, "temp": 2.0}],  # a duplicate day and city
        [{**CITY, "count": 100}],
        [{**CITY, "count": -1}],
        [{**CITY, "count": 2.0}],  # a float in an int column (not coerced)
        [{**CITY, "kind": "bad"}],
    ):
        fast, slow = _both(ws, dataset, rows)
        assert fast is None and slow is None, rows
    # A null in a nullable column, or an entity, is valid; the fast accept leaves nulls to
    # the batch validation.
    for rows in ([{**CITY, "temp": None}], [{**CITY, "city": None}]):
        fast, slow = _both(ws, dataset, rows)
        assert fast is None and slow is not None, rows


def test_schemas_it_does_not_model_always_go_the_batch_way(ws: Any) -> None:
    import pandera.pandas as pa

    from core.data.validation import contract
    from core.serve.rowcheck import plan

    terms = contract(ws, ws.config.datasets["weather"])
    assert plan(terms) is not None
    column = pa.Column(float, coerce=True)
    unmodelled = [
        pa.DataFrameSchema({"wind": column}, strict=True),
        pa.DataFrameSchema({"wind": column}, checks=[pa.Check(lambda df: True)]),
        pa.DataFrameSchema({"wind": pa.Column(float, pa.Check(lambda s: s > 0, name="in_range"))}),
        pa.DataFrameSchema({"wind": pa.Column(float, pa.Check.str_length(1, 2))}),
        pa.DataFrameSchema({"wind": pa.Column(float, unique=True)}),
        pa.DataFrameSchema({"wind": pa.Column("datetime64[ns]")}),
        pa.DataFrameSchema({"wind": pa.Column(str, pa.Check.isin("abc"))}),
        pa.DataFrameSchema({"date": pa.Column(str)}),  # a check on the time column
    ]
    for schema in unmodelled:
        assert plan(terms.__class__(**{**vars(terms), "schema": schema})) is None, schema
