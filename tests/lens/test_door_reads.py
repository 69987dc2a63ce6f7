"""The door reads a Parquet file correctly when DuckDB reads it from several threads at once.

DuckDB shares one file handle among its threads and turns each positioned read into `seek`
then `read`; with one shared position another thread's seek lands in between. At 100,000
runs (tables of several row groups) that failed the join of `metrics` and `params` with
`TProtocolException: Invalid data`."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pytest

from core.lens.compaction import door
from core.lens.compaction.door import Attachment, PositionalFile


def test_each_thread_reads_from_where_it_sought_itself(tmp_path: Path) -> None:
    path = tmp_path / "bytes"
    path.write_bytes(bytes(range(256)))
    handle = PositionalFile(str(path))
    sought = threading.Event()
    other_sought = threading.Event()
    got: dict[str, bytes] = {}

    def first() -> None:
        handle.seek(10)
        sought.set()
        other_sought.wait(5)
        got["first"] = handle.read(4)

    def second() -> None:
        sought.wait(5)
        handle.seek(200)
        other_sought.set()
        got["second"] = handle.read(4)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    handle.close()
    # The second thread sought between the first thread's seek and its read.
    assert got == {"first": bytes([10, 11, 12, 13]), "second": bytes([200, 201, 202, 203])}


def test_seek_from_the_end_and_read_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "bytes"
    path.write_bytes(b"0123456789")
    with PositionalFile(str(path)) as handle:
        assert handle.seek(-3, 2) == 7
        assert handle.read() == b"789"
        assert handle.tell() == 10
        assert handle.read(5) == b""
        with pytest.raises(PermissionError):
            handle.write(b"x")
    assert handle.closed


def test_a_many_row_group_file_reads_the_same_through_the_door_on_many_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(door, "LOAD_ROWS", 0)
    target = tmp_path / "params.parquet"
    with duckdb.connect() as con:
        con.execute(
            "COPY (SELECT 'r' || lpad((i // 10)::VARCHAR, 7, '0') AS run_id, "
            "'p' || (i % 10) AS name, (i % 7)::VARCHAR AS value FROM range(600000) t(i) "
            f"ORDER BY run_id) TO '{target}' (FORMAT parquet, ROW_GROUP_SIZE 20000)"
        )
        groups = con.execute(
            f"SELECT count(DISTINCT row_group_id) FROM parquet_metadata('{target}')"
        ).fetchone()
        assert groups is not None and groups[0] >= 20
        sql = "SELECT value, count(*), count(DISTINCT run_id) FROM {src} GROUP BY 1 ORDER BY 1"
        expected = con.execute(sql.format(src=f"read_parquet('{target}')")).fetchall()
    con = duckdb.connect(config={"threads": 8})
    attachment = Attachment(con, tmp_path)
    source = attachment.parquet([target.resolve()])
    attachment.seal()
    con.execute("SET enable_external_access = false")
    assert source.startswith("read_parquet(")  # through the door, not loaded
    for _ in range(8):
        assert con.execute(sql.format(src=source)).fetchall() == expected
    con.close()
