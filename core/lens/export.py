"""The SQL views as files other engines read as they are, and the DDL that declares them
(ADR 0029): `factory export tables DIR` writes each exported view's rows as Parquet (the logs
in Hive date partitions, `DIR/events/date=YYYY-MM-DD/part-0.parquet`), and
`factory export ddl --engine athena|trino|spark|duckdb` prints the table definitions over
that layout, wherever it is copied (`--location s3://bucket/prefix`).

Why a copy and not the workspace's own files: the run views are nested summaries and
reports turned into rows by factory's SQL, and the compacted segments carry lists of stale
runs that an outside engine cannot apply (ADR 0028); the log JSONL and its compacted
Parquet hold the same lines until the JSONL is pruned, so a table over both double-counts.
The export is flat, typed and counted once. Its columns are the views' own (`DESCRIBE`), so
the DDL names every column of every exported view; types an engine cannot share (JSON,
structs, maps, lists) are exported as text.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from core.foundation import clock
from core.foundation.errors import ExitCode, FactoryError
from core.foundation.ids import validate_name
from core.foundation.sql_text import sql_string
from core.foundation.workspace import Workspace

if TYPE_CHECKING:
    import duckdb

ENGINES = ("athena", "trino", "spark", "duckdb")
PARTITION = "date"
"""The Hive partition column of the logs: a reserved word in Athena and Trino, so always
quoted (and to be written `"date"` in queries there)."""
MARKER = "_factory_export.json"
"""At the export's root: what factory wrote (engines skip files that start with `_`)."""
FORMAT = 1
BATCH_ROWS = 65_536
PROJECTION_START = "2020-01-01"
"""Athena's partition projection starts at the first exported date, or here when none."""


@dataclass(frozen=True)
class ExportTable:
    name: str
    partition_from: str | None = None
    """The time column whose UTC date names the Hive partition, or None (one folder)."""


TABLES = (
    ExportTable("events", partition_from="ts"),
    ExportTable("inference", partition_from="ts"),
    ExportTable("runs"),
    ExportTable("params"),
    ExportTable("metrics"),
    ExportTable("folds"),
    ExportTable("curves"),
)

# A DuckDB type -> (Athena/Spark Hive type, Trino type); any other is exported as text.
_TYPES = {
    "VARCHAR": ("string", "varchar"),
    "BIGINT": ("bigint", "bigint"),
    "INTEGER": ("int", "integer"),
    "SMALLINT": ("smallint", "smallint"),
    "DOUBLE": ("double", "double"),
    "FLOAT": ("float", "real"),
    "BOOLEAN": ("boolean", "boolean"),
    "DATE": ("date", "date"),
    "TIMESTAMP": ("timestamp", "timestamp(6)"),
}


class ColumnData(TypedDict):
    name: str
    type: str
    """The exported DuckDB type (VARCHAR for a column exported as text)."""
    source_type: str
    """The view's own type."""


class TableData(TypedDict):
    table: str
    columns: list[ColumnData]
    """Data columns in the view's order (the partition column excluded)."""
    partitioned_by: str | None
    """The Hive partition column (`date`), or null for a table in one folder."""


class DdlData(TypedDict):
    """`factory export ddl`."""

    engine: str
    location: str
    """Where the DDL says the exported folder is (an URL or a path)."""
    database: str
    statements: list[str]
    """Each statement, without its semicolon, in the order to run them."""
    sql: str
    """The statements as one script (each ended by a semicolon)."""
    tables: list[TableData]


class ExportedTableData(TypedDict):
    table: str
    rows: int
    files: int
    partitions: int
    """Hive date partitions written (0 for a table in one folder)."""


class ExportData(TypedDict):
    """`factory export tables`."""

    folder: str
    tables: list[ExportedTableData]
    replaced: bool
    """An earlier export in the folder was replaced (all at once, at the end)."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    """The exported DuckDB type (VARCHAR for one exported as text)."""
    source_type: str
    """The view's own type."""

    def to_dict(self) -> ColumnData:
        return {"name": self.name, "type": self.type, "source_type": self.source_type}


@dataclass(frozen=True)
class TableShape:
    name: str
    columns: list[Column]
    """Data columns, in the view's order (the partition column excluded)."""
    partitioned_by: str | None
    first_partition: str | None = None

    def to_dict(self) -> TableData:
        return {
            "table": self.name,
            "columns": [c.to_dict() for c in self.columns],
            "partitioned_by": self.partitioned_by,
        }


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _shapes(con: duckdb.DuckDBPyConnection) -> list[TableShape]:
    shapes = []
    for table in TABLES:
        described = con.execute(f"DESCRIBE {_q(table.name)}").fetchall()
        columns = []
        for row in described:
            name, kind = str(row[0]), str(row[1])
            if table.partition_from is not None and name == PARTITION:
                continue  # the log's own partition: the export's partition column
            columns.append(Column(name, kind if kind in _TYPES else "VARCHAR", kind))
        first = None
        if table.partition_from is not None:
            found = con.execute(
                f"SELECT strftime(min({_q(table.partition_from)}), '%Y-%m-%d') "
                f"FROM {_q(table.name)}"
            ).fetchall()
            first = found[0][0] if found else None
        shapes.append(
            TableShape(
                table.name,
                columns,
                PARTITION if table.partition_from is not None else None,
                first,
            )
        )
    return shapes


def _select(table: ExportTable, shape: TableShape) -> str:
    parts = [
        _q(c.name) if c.type == c.source_type else f"CAST({_q(c.name)} AS VARCHAR) AS {_q(c.name)}"
        for c in shape.columns
    ]
    if table.partition_from is not None:
        parts.append(
            f"coalesce(strftime({_q(table.partition_from)}, '%Y-%m-%d'), "
            f"'__HIVE_DEFAULT_PARTITION__') AS {_q(PARTITION)}"
        )
        order = f" ORDER BY {_q(PARTITION)}"
    else:
        order = ""
    return f"SELECT {', '.join(parts)} FROM {_q(table.name)}{order}"


# --------------------------------------------------------------------------- the DDL


@dataclass(frozen=True)
class DdlResult:
    """`factory export ddl`: one statement per line of `statements`, in order."""

    engine: str
    location: str
    database: str
    statements: list[str]
    tables: list[TableShape] = field(default_factory=list)

    @property
    def sql(self) -> str:
        return "".join(s + ";\n\n" for s in self.statements).rstrip("\n") + "\n"

    def to_dict(self) -> DdlData:
        return {
            "engine": self.engine,
            "location": self.location,
            "database": self.database,
            "statements": list(self.statements),
            "sql": self.sql,
            "tables": [t.to_dict() for t in self.tables],
        }


def _where(location: str, table: str) -> str:
    return location.rstrip("/") + "/" + table


def _hive_columns(columns: list[Column], quote: str) -> str:
    return ",\n".join(
        f"  {quote}{c.name}{quote} {_TYPES[c.type][0] if c.type in _TYPES else 'string'}"
        for c in columns
    )


def _athena(shape: TableShape, location: str, database: str) -> list[str]:
    where = _where(location, shape.name) + "/"
    sql = (
        f"CREATE EXTERNAL TABLE IF NOT EXISTS `{database}`.`{shape.name}` (\n"
        f"{_hive_columns(shape.columns, '`')}\n)"
    )
    if shape.partitioned_by is None:
        return [sql + f"\nSTORED AS PARQUET\nLOCATION {sql_string(where)}"]
    start = shape.first_partition or PROJECTION_START
    properties = {
        "projection.enabled": "true",
        f"projection.{PARTITION}.type": "date",
        f"projection.{PARTITION}.format": "yyyy-MM-dd",
        f"projection.{PARTITION}.range": f"{start},NOW",
        f"projection.{PARTITION}.interval": "1",
        f"projection.{PARTITION}.interval.unit": "DAYS",
        "storage.location.template": where + PARTITION + "=${" + PARTITION + "}/",
    }
    listed = ",\n".join(f"  {sql_string(k)} = {sql_string(v)}" for k, v in properties.items())
    return [
        sql + f"\nPARTITIONED BY (`{PARTITION}` string)\nSTORED AS PARQUET\n"
        f"LOCATION {sql_string(where)}\nTBLPROPERTIES (\n{listed}\n)"
    ]


def _trino(shape: TableShape, location: str, database: str) -> list[str]:
    columns = [
        f"  {_q(c.name)} {_TYPES[c.type][1] if c.type in _TYPES else 'varchar'}"
        for c in shape.columns
    ]
    properties = [f"external_location = {sql_string(_where(location, shape.name))}"]
    properties.append("format = 'PARQUET'")
    if shape.partitioned_by is not None:
        columns.append(f"  {_q(PARTITION)} varchar")  # partition columns come last in Trino
        properties.append(f"partitioned_by = ARRAY[{sql_string(PARTITION)}]")
    statements = [
        f"CREATE TABLE IF NOT EXISTS hive.{_q(database)}.{_q(shape.name)} (\n"
        + ",\n".join(columns)
        + "\n)\nWITH (\n  "
        + ",\n  ".join(properties)
        + "\n)"
    ]
    if shape.partitioned_by is not None:
        statements.append(
            f"CALL hive.system.sync_partition_metadata({sql_string(database)}, "
            f"{sql_string(shape.name)}, 'FULL')"
        )
    return statements


def _spark(shape: TableShape, location: str, database: str) -> list[str]:
    columns = [
        f"  `{c.name}` {(_TYPES[c.type][0] if c.type in _TYPES else 'string').upper()}"
        for c in shape.columns
    ]
    if shape.partitioned_by is not None:
        columns.append(f"  `{PARTITION}` STRING")
    sql = (
        f"CREATE TABLE IF NOT EXISTS `{database}`.`{shape.name}` (\n"
        + ",\n".join(columns)
        + "\n)\nUSING PARQUET"
    )
    if shape.partitioned_by is None:
        return [sql + f"\nLOCATION {sql_string(_where(location, shape.name))}"]
    return [
        sql
        + f"\nPARTITIONED BY (`{PARTITION}`)\nLOCATION {sql_string(_where(location, shape.name))}",
        f"MSCK REPAIR TABLE `{database}`.`{shape.name}`",
    ]


def _duckdb(shape: TableShape, location: str, database: str) -> list[str]:
    names = [_q(c.name) for c in shape.columns]
    if shape.partitioned_by is not None:
        names.append(_q(PARTITION))
        source = (
            f"read_parquet({sql_string(_where(location, shape.name) + '/*/*.parquet')}, "
            f"hive_partitioning = true, hive_types = {{{sql_string(PARTITION)}: 'VARCHAR'}})"
        )
    else:
        source = f"read_parquet({sql_string(_where(location, shape.name) + '/*.parquet')})"
    return [
        f"CREATE OR REPLACE VIEW {_q(database)}.{_q(shape.name)} AS SELECT "
        + ", ".join(names)
        + f" FROM {source}"
    ]


_WRITERS = {"athena": _athena, "trino": _trino, "spark": _spark, "duckdb": _duckdb}


def export_ddl(
    ws: Workspace, engine: str, location: str | None = None, database: str = "factory"
) -> DdlResult:
    """The table definitions of the exported views for `engine`, over `location` (default:
    `.factory/export/`, where `factory export tables` writes)."""
    if engine not in ENGINES:
        raise FactoryError(
            "usage",
            f"unknown engine {engine!r}",
            hint=f"Engines: {', '.join(ENGINES)}.",
            exit_code=ExitCode.USAGE,
        )
    validate_name(database, "database name")
    where = location or str(default_folder(ws))
    from core.lens.store import connect

    con = connect(ws)
    try:
        shapes = _shapes(con)
    finally:
        con.close()
    statements: list[str] = []
    if engine == "duckdb":
        statements.append(f"CREATE SCHEMA IF NOT EXISTS {_q(database)}")
    elif engine in ("athena", "spark"):
        statements.append(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    else:
        statements.append(
            f"CREATE SCHEMA IF NOT EXISTS hive.{_q(database)} "
            f"WITH (location = {sql_string(where.rstrip('/') + '/')})"
        )
    for shape in shapes:
        statements += _WRITERS[engine](shape, where, database)
    return DdlResult(engine, where, database, statements, shapes)


# ------------------------------------------------------------------------ the tables


@dataclass(frozen=True)
class ExportedTable:
    table: str
    rows: int
    files: int
    partitions: int

    def to_dict(self) -> ExportedTableData:
        return {
            "table": self.table,
            "rows": self.rows,
            "files": self.files,
            "partitions": self.partitions,
        }


@dataclass(frozen=True)
class ExportResult:
    """`factory export tables`: what was written where."""

    folder: str
    tables: list[ExportedTable]
    replaced: bool
    """An earlier export in the folder was replaced (all at once, at the end)."""

    def to_dict(self) -> ExportData:
        return {
            "folder": self.folder,
            "tables": [t.to_dict() for t in self.tables],
            "replaced": self.replaced,
        }


def default_folder(ws: Workspace) -> Path:
    """`.factory/export/`: regenerable (git-ignored); copy it to where the engine reads."""
    return ws.state_dir / "export"


def export_tables(ws: Workspace, folder: Path | None = None) -> ExportResult:
    """Write every exported view as Parquet under `folder` (default `.factory/export/`): built in a
    temporary folder beside it and renamed into place, so a reader or a killed export never
    sees a half-written table; an earlier export there is replaced, anything else refused."""
    import json

    target = (folder or default_folder(ws)).absolute()
    foreign = target.exists() and not (target / MARKER).is_file()
    if foreign and (not target.is_dir() or any(target.iterdir())):
        raise FactoryError(
            "export_target_in_use",
            f"{target}: exists and is not a factory export",
            hint="Name a new or empty folder, or an earlier `factory export tables` folder "
            "(it is replaced as a whole).",
            details={"folder": str(target)},
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{target.name}.*.tmp"):
        pid = stale.name[len(target.name) + 2 :].split(".")[0]  # .NAME.<pid>[.old].tmp
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    staging = target.parent / f".{target.name}.{os.getpid()}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    from core.lens.store import connect

    try:
        con = connect(ws)
        try:
            con.execute("SET preserve_insertion_order = true")
            shapes = {s.name: s for s in _shapes(con)}
            written = [_write_table(con, t, shapes[t.name], staging) for t in TABLES]
        finally:
            con.close()
        marker = {
            "format": FORMAT,
            "created_at": clock.iso(),
            "workspace": str(ws.root),
            "tables": {
                t.table: {"rows": t.rows, "partitioned_by": shapes[t.table].partitioned_by}
                for t in written
            },
        }
        from core.foundation.atomic import write_text

        write_text(staging / MARKER, json.dumps(marker, indent=2) + "\n")
        replaced = target.exists()
        old = target.parent / f".{target.name}.{os.getpid()}.old.tmp"
        if replaced:
            os.rename(target, old)
        os.rename(staging, target)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportResult(str(target), written, replaced)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write_table(
    con: duckdb.DuckDBPyConnection, table: ExportTable, shape: TableShape, root: Path
) -> ExportedTable:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = root / table.name
    folder.mkdir()
    reader = con.sql(_select(table, shape)).to_arrow_reader(BATCH_ROWS)
    schema = reader.schema
    data_schema = (
        schema.remove(schema.get_field_index(PARTITION)) if table.partition_from else schema
    )
    writer: Any = None
    current: str | None = None
    rows = files = 0
    partitions: set[str] = set()

    def open_writer(partition: str | None) -> Any:
        nonlocal files
        place = folder if partition is None else folder / f"{PARTITION}={partition}"
        place.mkdir(exist_ok=True)
        files += 1
        return pq.ParquetWriter(place / "part-0.parquet", data_schema)

    try:
        for batch in reader:
            if not table.partition_from:
                writer = writer or open_writer(None)
                writer.write_batch(batch)
                rows += batch.num_rows
                continue
            values = batch.column(schema.get_field_index(PARTITION)).to_pylist()
            data = pa.Table.from_batches([batch]).drop_columns([PARTITION])
            start = 0
            for end in range(1, len(values) + 1):
                if end < len(values) and values[end] == values[start]:
                    continue
                value = str(values[start])
                if value != current:
                    if writer is not None:
                        writer.close()
                    writer, current = open_writer(value), value
                    partitions.add(value)
                writer.write_table(data.slice(start, end - start))
                rows += end - start
                start = end
        if writer is None:  # an empty table still has a file: an empty glob is an error
            writer = open_writer(None if not table.partition_from else clock.iso()[:10])
            writer.write_table(data_schema.empty_table())
    finally:
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()
    return ExportedTable(table.name, rows, files, len(partitions))
