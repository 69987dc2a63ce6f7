"""`factory export tables` writes the views as Parquet other engines read as they are, and
`factory export ddl` declares them (ADR 0029): every statement parses for its engine
(sqlglot), names every column of the views, and DuckDB reading the files through its DDL
answers what `factory query` answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.foundation.workspace import Workspace
from tests.conftest import run_factory
from tests.lens.conftest import write_event, write_run

DIALECTS = {"athena": "athena", "trino": "trino", "spark": "spark", "duckdb": "duckdb"}
PARTITIONED = {"events", "inference"}
DATES = ("2026-11-28", "2026-11-29", "2026-11-30")


@pytest.fixture
def filled(workspace: Path) -> Path:
    ws = Workspace(workspace)
    for n in range(4):
        write_run(ws, f"r-{n:012x}", n)
    for day, date in enumerate(DATES):
        for n in range(3 + day):
            write_event(ws, date, f"s-{day}", n, note="it's quoted")
    return workspace


def view_columns(ws: Path) -> dict[str, list[str]]:
    listed = run_factory("query", "--tables", "--json", cwd=ws)
    assert listed.code == 0, listed.stdout + listed.stderr
    return {t["name"]: [c["name"] for c in t["columns"]] for t in listed.doc["data"]["tables"]}


def count(ws: Path, sql: str) -> Any:
    ran = run_factory("query", sql, "--json", cwd=ws)
    assert ran.code == 0, ran.stdout + ran.stderr
    return ran.doc["data"]["rows"]


@pytest.mark.slow
def test_duckdb_reads_the_export_through_its_ddl_as_the_views_answer(filled: Path) -> None:
    import duckdb

    exported = run_factory("export", "tables", "--json", cwd=filled)
    assert exported.code == 0, exported.stdout + exported.stderr
    tables = {t["table"]: t for t in exported.doc["data"]["tables"]}
    assert tables["events"]["partitions"] == 3
    folder = Path(exported.doc["data"]["folder"])
    assert sorted(p.name for p in (folder / "events").iterdir()) == [f"date={d}" for d in DATES]

    ddl = run_factory("export", "ddl", "--engine", "duckdb", "--json", cwd=filled)
    assert ddl.code == 0, ddl.stdout + ddl.stderr
    con = duckdb.connect(":memory:")
    for statement in ddl.doc["data"]["statements"]:
        con.execute(statement)
    columns = view_columns(filled)
    for table, shape in tables.items():
        got = con.execute(f'SELECT count(*) FROM factory."{table}"').fetchall()[0][0]
        assert got == shape["rows"], table
        # Every command appends an event: the log's own lines are compared, not its total.
        where = " WHERE event = 'test.event'" if table == "events" else ""
        got = con.execute(f'SELECT count(*) FROM factory."{table}"{where}').fetchall()[0][0]
        assert got == count(filled, f'SELECT count(*) AS n FROM "{table}"{where}')[0]["n"], table
        names = [r[0] for r in con.execute(f'DESCRIBE factory."{table}"').fetchall()]
        view = [c for c in columns[table] if c != "date"]
        assert names == view + (["date"] if table in PARTITIONED else []), table
    assert tables["runs"]["rows"] == 4 and tables["curves"]["rows"] > 0
    per_day = con.execute(
        "SELECT \"date\", count(*) FROM factory.events WHERE event = 'test.event' "
        "GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert per_day == [(d, 3 + i) for i, d in enumerate(DATES)]
    best = con.execute(
        "SELECT run_id FROM factory.runs ORDER BY primary_mean DESC LIMIT 1"
    ).fetchall()
    assert (
        best[0][0]
        == count(filled, "SELECT run_id FROM runs ORDER BY primary_mean DESC LIMIT 1")[0]["run_id"]
    )


@pytest.mark.parametrize("engine", sorted(DIALECTS))
def test_every_statement_parses_and_names_every_view_column(filled: Path, engine: str) -> None:
    import sqlglot
    from sqlglot import exp

    ran = run_factory(
        "export", "ddl", "--engine", engine, "--location", "s3://bucket/factory", "--json",
        cwd=filled,
    )  # fmt: skip
    assert ran.code == 0, ran.stdout + ran.stderr
    columns = view_columns(filled)
    declared: dict[str, list[str]] = {}
    for statement in ran.doc["data"]["statements"]:
        parsed = sqlglot.parse_one(statement, read=DIALECTS[engine])
        if isinstance(parsed, exp.Command):  # the partition sync, kept verbatim by sqlglot
            assert statement.startswith(("CALL hive.system.sync_partition_metadata", "MSCK"))
            continue
        assert isinstance(parsed, exp.Create), statement
        if parsed.kind in ("DATABASE", "SCHEMA"):
            continue
        table = parsed.find(exp.Table)
        assert table is not None
        if engine == "duckdb":
            select = parsed.find(exp.Select)
            assert select is not None
            names = [e.alias_or_name for e in select.expressions]
        else:
            names = [c.name for c in parsed.find_all(exp.ColumnDef)]
        declared[table.name] = names
    assert set(declared) == {"events", "inference", "runs", "params", "metrics", "folds", "curves"}
    for table, names in declared.items():
        view = [c for c in columns[table] if c != "date"]
        assert names == view + (["date"] if table in PARTITIONED else []), (engine, table)
    sql = ran.doc["data"]["sql"]
    assert "s3://bucket/factory/events" in sql
    if engine == "athena":
        assert "PARTITIONED BY (`date` string)" in sql
        assert "'projection.date.range' = '2026-11-28,NOW'" in sql
        assert "'storage.location.template' = 's3://bucket/factory/events/date=${date}/'" in sql
    if engine == "trino":
        assert "partitioned_by = ARRAY['date']" in sql


@pytest.mark.slow
def test_an_export_replaces_an_earlier_one_and_refuses_other_folders(filled: Path) -> None:
    target = filled / "out"
    first = run_factory("export", "tables", str(target), "--json", cwd=filled)
    assert first.code == 0 and first.doc["data"]["replaced"] is False
    write_event(Workspace(filled), DATES[0], "s-late", 99)
    second = run_factory("export", "tables", str(target), "--json", cwd=filled)
    assert second.doc["data"]["replaced"] is True
    before = {t["table"]: t for t in first.doc["data"]["tables"]}["events"]["rows"]
    events = {t["table"]: t for t in second.doc["data"]["tables"]}["events"]
    assert events["rows"] == before + 2  # the line written, and the first export's event
    assert sorted(p.name for p in filled.iterdir() if p.name.startswith(".out")) == []

    other = filled / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    refused = run_factory("export", "tables", str(other), "--json", cwd=filled)
    assert refused.code == 3
    assert refused.doc["error"]["code"] == "export_target_in_use"
    assert [p.name for p in other.iterdir()] == ["notes.txt"]
