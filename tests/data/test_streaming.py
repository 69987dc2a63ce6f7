"""Sources larger than one chunk are checked and stored a chunk at a time (ADR 0029), with
the same answers as a whole-file read: the same snapshot id, the same rows, the same
failures at the same file line and column. A small `FACTORY_DATA_CHUNK_BYTES` makes a
100 KB file dozens of chunks; `bench/data.py` measures peak memory on large files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_factory

SMALL_CHUNKS = {"FACTORY_DATA_CHUNK_BYTES": "4096"}

# Ids of `sales_csv()` and of its Parquet copy (below), computed by factory before chunked reading
# existed (the whole-file path at commit fb0601c): a snapshot id never depends on the path.
SALES_CSV_ID = "ds-6261970cd989"
SALES_PARQUET_ID = "ds-97fe60c760aa"
"""The Parquet copy with `region` as a pandas category (the dtype is part of the id)."""
WEATHER_SNAPSHOT_ID = "ds-b08231b62481"


def sales_csv(rows: int = 2400) -> str:
    """A user's export: their own column names, three stores per day (rows out of time
    order within a day), a category, offsets that change with daylight saving, booleans."""
    from datetime import date, timedelta

    lines = ["day,store,region,units,price,promo"]
    for i in range(rows):
        day, store = divmod(i, 3)
        when = date(2024, 1, 1) + timedelta(days=day)
        month_day = when.isoformat()
        offset = "+02:00" if 3 < when.month < 11 else "+01:00"
        region = ("north", "south", "east")[(i * 7) % 3]
        lines.append(
            f"{month_day}T00:00:00{offset},s{3 - store},{region},{(i * 37) % 101},"
            f"{(i * 13) % 997 / 10:.1f},{'true' if i % 5 == 0 else 'false'}"
        )
    return "\n".join(lines) + "\n"


def add_sales(ws: Path, source: str, extra: str = "") -> None:
    config = ws / "factory.toml"
    config.write_text(
        config.read_text() + f'\n[datasets.sales]\nsource = "{source}"\ntime_column = "day"\n'
        f'entity_columns = ["store"]\n{extra}'
    )


def snapshot_id(doc: dict[str, Any]) -> str:
    data = doc["data"]
    return str(data.get("snapshot_id") or data.get("id"))


def leftovers(ws: Path) -> list[str]:
    found = []
    for folder in (ws / "data" / "snapshots", ws / ".factory" / "staging"):
        if folder.is_dir():
            found += sorted(p.name for p in folder.iterdir())
    return found


@pytest.mark.slow
def test_a_snapshot_in_chunks_has_the_id_and_rows_of_a_whole_read(workspace: Path) -> None:
    (workspace / "sales.csv").write_text(sales_csv())
    add_sales(workspace, "sales.csv")
    chunked = run_factory("data", "snapshot", "--dataset", "sales", "--json", cwd=workspace,
                          env=SMALL_CHUNKS)  # fmt: skip
    assert chunked.code == 0, chunked.stdout + chunked.stderr
    assert snapshot_id(chunked.doc) == SALES_CSV_ID
    manifest = chunked.doc["data"]["manifest"]
    assert manifest["rows"] == 2400
    assert manifest["distinct_times"] == 800
    assert manifest["dtypes"]["day"] == "datetime64[ns]"
    assert manifest["source_time_zone"] == {"offsets": ["+01:00", "+02:00"], "mode": "wall_clock"}
    assert leftovers(workspace) == [SALES_CSV_ID]

    from core.data.snapshots import load_snapshot
    from core.foundation.workspace import Workspace

    stored = load_snapshot(Workspace(workspace), SALES_CSV_ID)
    # Rows in time then store order; the wall clock kept (the first day stays Jan 1st).
    assert stored["day"].is_monotonic_increasing
    assert str(stored["day"].iloc[0]) == "2024-01-01 00:00:00"
    assert list(stored["store"][:3]) == ["s1", "s2", "s3"]

    # With quotes (read by the csv reader, not split into lines) the rows are the same.
    (workspace / "quoted.csv").write_text(sales_csv().replace("day,", '"day",', 1))
    quoted = run_factory("data", "snapshot", "quoted.csv", "--dataset", "sales", "--json",
                         cwd=workspace, env=SMALL_CHUNKS)  # fmt: skip
    assert snapshot_id(quoted.doc) == SALES_CSV_ID, quoted.stdout

    # The same file read whole: nothing new is written, the id is the same.
    whole = run_factory("data", "snapshot", "--dataset", "sales", "--json", cwd=workspace)
    assert snapshot_id(whole.doc) == SALES_CSV_ID
    assert whole.doc["data"]["created"] is False

    # The embedded weather (a pandera schema, increasing times) keeps its id in chunks too.
    weather = run_factory("data", "snapshot", "--dataset", "weather", "--json", cwd=workspace,
                          env=SMALL_CHUNKS)  # fmt: skip
    assert weather.code == 0, weather.stdout
    assert snapshot_id(weather.doc) == WEATHER_SNAPSHOT_ID


def test_a_parquet_source_in_row_groups_keeps_categories_and_its_id(workspace: Path) -> None:
    import pandas as pd

    (workspace / "sales.csv").write_text(sales_csv())
    frame = pd.read_csv(workspace / "sales.csv")
    frame["region"] = frame["region"].astype("category")
    frame.to_parquet(workspace / "sales.parquet", row_group_size=200)
    add_sales(workspace, "sales.parquet")
    ran = run_factory("data", "snapshot", "--dataset", "sales", "--json", cwd=workspace,
                      env=SMALL_CHUNKS)  # fmt: skip
    assert ran.code == 0, ran.stdout + ran.stderr
    manifest = ran.doc["data"]["manifest"]
    assert manifest["dtypes"]["region"] == "category"
    assert manifest["rows"] == 2400
    assert snapshot_id(ran.doc) == SALES_PARQUET_ID


def test_the_chunked_path_is_the_one_taken(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process, with a spy: a file of many chunks goes through `_ingest_chunks`, and its
    rows are read in pieces no larger than the chunk (plus one line)."""
    import core.data.snapshots as snapshots
    from core.data.sources import SourceStream
    from core.foundation.workspace import Workspace

    (workspace / "sales.csv").write_text(sales_csv())
    add_sales(workspace, "sales.csv")
    monkeypatch.setenv("FACTORY_DATA_CHUNK_BYTES", "4096")
    pieces = list(SourceStream(workspace, "sales.csv").chunks())
    assert len(pieces) > 20
    assert sum(len(p.frame) for p in pieces) == 2400
    assert max(len(p.frame) for p in pieces) * 40 < 4096 + 200

    calls: list[str] = []
    real = snapshots._ingest_chunks

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append("chunks")
        return real(*args, **kwargs)

    monkeypatch.setattr(snapshots, "_ingest_chunks", spy)
    made = snapshots.create_snapshot(Workspace(workspace), "sales")
    assert calls == ["chunks"]
    assert made.id == SALES_CSV_ID
    monkeypatch.setenv("FACTORY_DATA_CHUNK_BYTES", str(10**8))
    calls.clear()
    checked = snapshots.validate_only(Workspace(workspace), "sales", "sales.csv")
    assert checked.ok and calls == []


def _bad(text: str, line: int, old: str, new: str) -> str:
    lines = text.splitlines()
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("chunks", "quoted"),
    [(SMALL_CHUNKS, False), (SMALL_CHUNKS, True), ({}, False)],
    ids=["chunked", "chunked-csv-reader", "whole"],
)
@pytest.mark.slow
def test_bad_rows_deep_in_a_file_name_their_line_and_column(
    workspace: Path, chunks: dict[str, str], quoted: bool
) -> None:
    """Lines without quotes are split and counted with numpy; a file with quotes (here in
    its header) is read by Python's csv reader: both name the same lines."""
    good = sales_csv()
    if quoted:
        good = good.replace("day,", '"day",', 1)
    add_sales(workspace, "sales.csv")

    def check(text: str | bytes) -> Any:
        path = workspace / "sales.csv"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        return run_factory("validate", "sales.csv", "--dataset", "sales", "--json",
                           cwd=workspace, env=chunks)  # fmt: skip

    bad_time = check(_bad(good, 2001, "T00:00:00", "Tnoon"))
    assert bad_time.code == 1, bad_time.stdout
    failures = bad_time.doc["data"]["failures"]
    assert [(f["line"], f["row"], f["column"], f["check"]) for f in failures] == [
        (2001, 2000, "day", "time_parseable")
    ]

    # A duplicate of line 2's day and store, 2,000 lines later (another chunk).
    lines = good.splitlines()
    duplicate = check("\n".join([*lines[:2100], lines[1], *lines[2101:]]) + "\n")
    failures = duplicate.doc["data"]["failures"]
    assert [(f["line"], f["check"]) for f in failures] == [(2101, "time_unique")]
    assert "first seen at line 2" in failures[0]["message"]

    ragged = check(_bad(good, 2301, ",s", ",extra,s"))
    assert ragged.code == 3
    assert ragged.doc["error"]["code"] == "source_ragged"
    assert "line 2301 has 7 fields" in ragged.doc["error"]["message"]

    data = good.encode()
    at = data.index(lines[2200].encode()) + 4
    encoding = check(data[:at] + b"\xe9" + data[at + 1 :])
    assert encoding.doc["error"]["code"] == "source_encoding"
    assert encoding.doc["error"]["details"]["line"] == 2201
    assert encoding.doc["error"]["details"]["column"] == 5
    assert leftovers(workspace) == []


def test_what_cannot_be_read_in_bounded_memory_is_refused_up_front(workspace: Path) -> None:
    # A schema check that needs every row at once cannot run a chunk at a time.
    folder = workspace / "components" / "schemas"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sales_unique_v1.py").write_text(
        "import pandera.pandas as pa\n\nTIME_ORDER = 'any'\n"
        "SCHEMA = pa.DataFrameSchema({'price': pa.Column(float, unique=True, coerce=True)})\n"
    )
    (workspace / "sales.csv").write_text(sales_csv())
    add_sales(workspace, "sales.csv", 'schema = "sales_unique_v1"\n')
    ran = run_factory("data", "snapshot", "--dataset", "sales", "--json", cwd=workspace,
                      env=SMALL_CHUNKS)  # fmt: skip
    assert ran.code == 3, ran.stdout + ran.stderr
    error = ran.doc["error"]
    assert error["code"] == "schema_not_streamable"
    assert "price: unique=True" in error["message"]
    assert error["details"]["file"].endswith("sales.csv")
    assert leftovers(workspace) == []
    # Read whole (a file within one chunk), the same schema is checked as before.
    whole = run_factory("validate", "sales.csv", "--dataset", "sales", "--json", cwd=workspace)
    assert whole.code == 1 and whole.doc["data"]["verdict"] == "invalid"


def test_a_row_group_or_line_too_large_to_hold_is_refused(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pandas as pd

    import core.data.sources as sources
    from core.data.snapshots import create_snapshot
    from core.foundation.errors import FactoryError
    from core.foundation.workspace import Workspace

    (workspace / "sales.csv").write_text(sales_csv())
    pd.read_csv(workspace / "sales.csv").to_parquet(workspace / "sales.parquet")
    add_sales(workspace, "sales.parquet")
    monkeypatch.setattr(sources, "MAX_ROW_GROUP_BYTES", 10_000)
    with pytest.raises(FactoryError) as caught:
        create_snapshot(Workspace(workspace), "sales")
    assert caught.value.code == "source_too_large"
    assert "row group 0" in str(caught.value)

    monkeypatch.setattr(sources, "MAX_LINE_BYTES", 1000)
    monkeypatch.setattr(sources, "BLOCK_BYTES", 512)
    (workspace / "long.csv").write_text("day,store\n2024-01-01," + "x" * 5000 + "\n")
    with pytest.raises(FactoryError) as caught:
        create_snapshot(Workspace(workspace), "sales", "long.csv")
    assert caught.value.code == "source_too_large"
    assert ":2: line 2 is longer" in str(caught.value)
    assert leftovers(workspace) == []


def test_a_memory_limit_too_small_for_the_chunks_is_refused_before_reading(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under a memory limit below what chunked reading needs, the command says so and what
    to change instead of being killed half-way (issue 14: killed with no message)."""
    import core.data.streaming as streaming
    from core.data.snapshots import create_snapshot
    from core.foundation.errors import FactoryError
    from core.foundation.workspace import Workspace

    (workspace / "sales.csv").write_text(sales_csv())
    add_sales(workspace, "sales.csv")
    monkeypatch.setenv("FACTORY_DATA_CHUNK_BYTES", "4096")
    held = streaming._resident()
    monkeypatch.setattr(streaming, "memory_limit", lambda: held + 100 * 2**20)
    with pytest.raises(FactoryError) as caught:
        create_snapshot(Workspace(workspace), "sales")
    assert caught.value.code == "data_out_of_memory"
    assert "sales.csv" in str(caught.value) and "memory limit" in str(caught.value)
    assert leftovers(workspace) == []
    # With room for DuckDB's budget and the chunks, the same snapshot is made.
    monkeypatch.setattr(streaming, "memory_limit", lambda: held + 2 * 2**30)
    assert create_snapshot(Workspace(workspace), "sales").id == SALES_CSV_ID


def test_the_memory_limit_is_read_from_the_process_limits() -> None:
    """A process started under an address-space limit reports it (or a lower cgroup one)."""
    import subprocess
    import sys

    from tests.conftest import REPO

    limit = 8 * 2**30
    code = (
        "import resource; "
        f"resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit})); "
        "from core.data.streaming import memory_limit; print(memory_limit())"
    )
    ran = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 0, ran.stderr
    assert 0 < int(ran.stdout) <= limit
