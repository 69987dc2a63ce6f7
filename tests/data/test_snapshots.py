"""Snapshots and validation through the real `factory` command: good data, every kind of
bad input, idempotence, user data that is not weather."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_factory

HEADER = "date,precipitation,temp_max,temp_min,wind,weather"
GOOD_ROWS = [
    "2012-01-01,0.0,12.8,5.0,4.7,drizzle",
    "2012-01-02,10.9,10.6,2.8,4.5,rain",
    "2012-01-03,0.8,11.7,7.2,2.3,rain",
]


def snapshot_leftovers(ws: Path) -> list[str]:
    folder = ws / "data" / "snapshots"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def write(ws: Path, name: str, text: str | bytes) -> Path:
    path = ws / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


@pytest.mark.slow
def test_embedded_snapshot_is_content_addressed_and_idempotent(workspace: Path) -> None:
    first = run_factory("data", "snapshot", "--dataset", "weather", "--json", cwd=workspace)
    assert first.code == 0, first.stdout
    data = first.doc["data"]
    assert data["created"] is True
    assert data["snapshot_id"].startswith("ds-") and len(data["snapshot_id"]) == 15
    manifest = data["manifest"]
    assert manifest["rows"] == 1461
    assert manifest["time_range"] == ["2012-01-01T00:00:00", "2015-12-31T00:00:00"]
    assert manifest["schema_version"] == "weather_v1"
    assert manifest["dtypes"]["date"].startswith("datetime64")
    folder = workspace / "data" / "snapshots" / data["snapshot_id"]
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}

    again = run_factory("data", "snapshot", "--dataset", "weather", "--json", cwd=workspace)
    assert again.doc["data"]["snapshot_id"] == data["snapshot_id"]
    assert again.doc["data"]["created"] is False
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before
    assert snapshot_leftovers(workspace) == [data["snapshot_id"]]

    # The same content from a copied CSV file gets the same id.
    from core.data.sources import embedded_path

    copy = write(workspace, "copy.csv", embedded_path("seattle-weather").read_text())
    third = run_factory(
        "data", "snapshot", str(copy), "--dataset", "weather", "--json", cwd=workspace
    )
    assert third.doc["data"]["snapshot_id"] == data["snapshot_id"]

    listed = run_factory("data", "list", "--json", cwd=workspace)
    assert [s["snapshot_id"] for s in listed.doc["data"]["snapshots"]] == [data["snapshot_id"]]
    shown = run_factory("data", "show", data["snapshot_id"], "--json", cwd=workspace)
    assert shown.doc["data"]["rows"] == 1461
    sql = run_factory("query", "SELECT id, rows FROM snapshots", "--json", cwd=workspace)
    assert sql.doc["data"]["rows"] == [{"id": data["snapshot_id"], "rows": 1461}]
    created_events = run_factory(
        "query",
        "SELECT count(*) AS n FROM events WHERE event = 'snapshot.created'",
        "--json",
        cwd=workspace,
    )
    assert created_events.doc["data"]["rows"] == [{"n": 1}]


def test_changed_content_gets_new_id(workspace: Path) -> None:
    a = write(workspace, "a.csv", "\n".join([HEADER, *GOOD_ROWS]) + "\n")
    b = write(workspace, "b.csv", "\n".join([HEADER, *GOOD_ROWS[:2]]) + "\n")
    ra = run_factory("data", "snapshot", str(a), "--dataset", "weather", "--json", cwd=workspace)
    rb = run_factory("data", "snapshot", str(b), "--dataset", "weather", "--json", cwd=workspace)
    assert ra.code == rb.code == 0
    assert ra.doc["data"]["snapshot_id"] != rb.doc["data"]["snapshot_id"]


def test_parquet_source(workspace: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2012-01-01", "2012-01-02"]),
            "precipitation": [0.0, 1.5],
            "temp_max": [10.0, 11.0],
            "temp_min": [1.0, 2.0],
            "wind": [3.0, 4.0],
            "weather": ["sun", "rain"],
        }
    )
    frame.to_parquet(workspace / "w.parquet")
    ran = run_factory(
        "data", "snapshot", "w.parquet", "--dataset", "weather", "--json", cwd=workspace
    )
    assert ran.code == 0, ran.stdout
    assert ran.doc["data"]["manifest"]["rows"] == 2


BAD_CASES = {
    "missing_file": (None, 3, "source_not_found", None, None),
    "empty_file": ("", 3, "source_empty", None, None),
    "ragged": (HEADER + "\n" + GOOD_ROWS[0] + "\n2012-01-02,1,2,3\n", 3, "source_ragged", 3, None),
    "not_utf8": (
        (HEADER + "\n" + GOOD_ROWS[0] + "\n2012-01-02,1,2,3,4,r\xe9in\n").encode("latin-1"),
        3,
        "source_encoding",
        3,
        None,
    ),
    "missing_column": (
        "date,precipitation,temp_max,temp_min,weather\n2012-01-01,0.0,12.8,5.0,rain\n",
        1,
        "data_invalid",
        None,
        "wind",
    ),
    "wrong_type": (
        HEADER + "\n" + GOOD_ROWS[0] + "\n2012-01-02,lots,10.6,2.8,4.5,rain\n",
        1,
        "data_invalid",
        3,
        "precipitation",
    ),
    "null": (
        HEADER + "\n" + GOOD_ROWS[0] + "\n2012-01-02,1.0,,2.8,4.5,rain\n",
        1,
        "data_invalid",
        3,
        "temp_max",
    ),
    "out_of_range": (
        HEADER + "\n" + GOOD_ROWS[0] + "\n2012-01-02,1.0,99.0,2.8,4.5,rain\n",
        1,
        "data_invalid",
        3,
        "temp_max",
    ),
    "duplicate_dates": (
        HEADER + "\n" + GOOD_ROWS[0] + "\n" + GOOD_ROWS[0] + "\n",
        1,
        "data_invalid",
        3,
        "date",
    ),
    "unparseable_date": (
        HEADER + "\n" + GOOD_ROWS[0] + "\nnext tuesday,1.0,9.0,2.8,4.5,rain\n",
        1,
        "data_invalid",
        3,
        "date",
    ),
    "decreasing_dates": (
        HEADER + "\n" + GOOD_ROWS[1] + "\n" + GOOD_ROWS[0] + "\n",
        1,
        "data_invalid",
        3,
        "date",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_is_refused_with_location(workspace: Path, case: str) -> None:
    content, exit_code, code, line, column = BAD_CASES[case]
    name = f"{case}.csv"
    if content is not None:
        write(workspace, name, content)
    ran = run_factory("data", "snapshot", name, "--dataset", "weather", "--json", cwd=workspace)
    assert ran.code == exit_code, ran.stdout
    doc = ran.doc
    assert doc["ok"] is False
    error = doc["error"]
    assert error["code"] == code
    assert name in error["message"]
    assert error["hint"]
    if line is not None:
        assert f":{line}" in error["message"] or f"line {line}" in error["message"], error[
            "message"
        ]
    if column is not None:
        failures = error["details"]["failures"]
        assert any(f["column"] == column for f in failures), failures
        if line is not None:
            assert any(f["column"] == column and f["line"] == line for f in failures), failures
    assert snapshot_leftovers(workspace) == []

    # `validate` agrees and stores nothing either; data errors are a verdict (exit 1).
    checked = run_factory("validate", name, "--dataset", "weather", "--json", cwd=workspace)
    assert checked.code == exit_code
    if code == "data_invalid":
        assert checked.doc["ok"] is True
        assert checked.doc["data"]["verdict"] == "invalid"
        assert checked.doc["data"]["failure_count"] >= 1
    assert snapshot_leftovers(workspace) == []


def test_unknown_dataset_and_unsafe_names(workspace: Path) -> None:
    ran = run_factory("data", "snapshot", "--dataset", "nope", "--json", cwd=workspace)
    assert ran.code == 3
    assert ran.doc["error"]["code"] == "unknown_dataset"
    assert "weather" in ran.doc["error"]["hint"]
    unsafe = run_factory("data", "snapshot", "--dataset", "../x", "--json", cwd=workspace)
    assert unsafe.code == 2
    assert unsafe.doc["error"]["code"] == "invalid_name"
    bad_id = run_factory("data", "show", "../../etc", "--json", cwd=workspace)
    assert bad_id.code == 2
    missing = run_factory("data", "show", "ds-000000000000", "--json", cwd=workspace)
    assert missing.code == 3
    assert snapshot_leftovers(workspace) == []


def test_valid_file_validates_without_storing(workspace: Path) -> None:
    write(workspace, "ok.csv", "\n".join([HEADER, *GOOD_ROWS]) + "\n")
    ran = run_factory("validate", "ok.csv", "--dataset", "weather", "--json", cwd=workspace)
    assert ran.code == 0
    assert ran.doc["data"]["verdict"] == "valid"
    assert snapshot_leftovers(workspace) == []


def test_user_dataset_several_rows_per_date(workspace: Path) -> None:
    """Someone else's data: their own column names, an entity column, a category, no schema."""
    config = workspace / "factory.toml"
    config.write_text(
        config.read_text()
        + '\n[datasets.shops]\nsource = "sales.csv"\ntime_column = "day"\nentity_columns = ["store"]\n'
    )
    rows = ["day,store,region,units"]
    for day in range(1, 11):
        for store in ("s1", "s2", "s3"):
            rows.append(
                f"2024-03-{day:02d},{store},{'north' if store != 's3' else 'south'},{day * 3}"
            )
    # Unordered input is fine without a schema that demands order: the snapshot sorts it.
    write(workspace, "sales.csv", "\n".join([rows[0], *reversed(rows[1:])]) + "\n")
    ran = run_factory("data", "snapshot", "--dataset", "shops", "--json", cwd=workspace)
    assert ran.code == 0, ran.stdout
    manifest = ran.doc["data"]["manifest"]
    assert manifest["rows"] == 30
    assert manifest["distinct_times"] == 10
    assert manifest["entity_columns"] == ["store"]

    from core.data.snapshots import load_snapshot
    from core.foundation.workspace import Workspace

    frame = load_snapshot(Workspace(workspace), manifest["snapshot_id"])
    assert frame["day"].is_monotonic_increasing
    assert list(frame["store"][:3]) == ["s1", "s2", "s3"]

    # The same date twice for one store is a duplicate; for two stores it is not.
    write(
        workspace,
        "dup.csv",
        "day,store,region,units\n2024-03-01,s1,north,1\n2024-03-01,s2,north,1\n2024-03-01,s1,north,2\n",
    )
    dup = run_factory("validate", "dup.csv", "--dataset", "shops", "--json", cwd=workspace)
    assert dup.code == 1
    failures = dup.doc["data"]["failures"]
    assert [(f["line"], f["check"]) for f in failures] == [(4, "time_unique")]


def test_embedded_stocks_shape(workspace: Path) -> None:
    """vega's stocks.csv: several symbols per date, dates like 'Jan 1 2000'."""
    config = workspace / "factory.toml"
    config.write_text(
        config.read_text()
        + '\n[datasets.stocks]\nsource = "vega:stocks"\ntime_column = "date"\nentity_columns = ["symbol"]\n'
    )
    ran = run_factory("data", "snapshot", "--dataset", "stocks", "--json", cwd=workspace)
    assert ran.code == 0, ran.stdout
    manifest = ran.doc["data"]["manifest"]
    assert manifest["rows"] == 560
    assert manifest["distinct_times"] < manifest["rows"]
    assert json.dumps(manifest["time_range"]).startswith('["2000-01-01')
