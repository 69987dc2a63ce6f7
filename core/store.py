"""Read-only SQL over the workspace's files: DuckDB is the lens, files are the truth.

Each query opens a fresh in-memory DuckDB connection and defines views over the files
(events, snapshots, and what later modules add). Nothing holds a database file, so a
TUI, a training run and an assistant's calls never lock each other out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import ExitCode, FactoryError
from core.modules import import_if_present
from core.workspace import Workspace

if TYPE_CHECKING:
    import duckdb

VIEW_MODULES = (
    "core.views.events",
    "core.views.snapshots",
    "core.views.runs",
    "core.views.operations",
    "core.views.cards",
)


@dataclass(frozen=True)
class ViewSpec:
    name: str
    description: str
    sql: Callable[[Workspace], str]
    """SQL of the view's SELECT for this workspace; must work when no files exist yet."""


VIEWS: dict[str, ViewSpec] = {}


def view(
    name: str, description: str
) -> Callable[[Callable[[Workspace], str]], Callable[[Workspace], str]]:
    def decorate(fn: Callable[[Workspace], str]) -> Callable[[Workspace], str]:
        VIEWS[name] = ViewSpec(name, description, fn)
        return fn

    return decorate


def _load_views() -> dict[str, ViewSpec]:
    for module in VIEW_MODULES:
        import_if_present(module)
    return VIEWS


def sql_path(path: Path) -> str:
    """A path as a SQL string literal."""
    return "'" + str(path).replace("'", "''") + "'"


def has_files(folder: Path, pattern: str) -> bool:
    """Whether `pattern` matches anything: an empty glob is an error in DuckDB, not zero
    rows, so views fall back to an empty typed SELECT."""
    return folder.is_dir() and next(folder.glob(pattern), None) is not None


def empty_select(columns: dict[str, str]) -> str:
    """A SELECT with the given typed columns and no rows, for a view with no files yet."""
    cols = ", ".join(f'CAST(NULL AS {t}) AS "{name}"' for name, t in columns.items())
    return f"SELECT {cols} WHERE false"


def connect(workspace: Workspace) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with every view defined."""
    import duckdb

    con = duckdb.connect(
        ":memory:",
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
    )
    for spec in _load_views().values():
        con.execute(f'CREATE OR REPLACE VIEW "{spec.name}" AS {spec.sql(workspace)}')
    return con


ALLOWED_STATEMENTS = ("SELECT", "EXPLAIN")


def check_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Refuse anything but SELECT (and EXPLAIN): no COPY, INSERT, CREATE, ATTACH, INSTALL."""
    import duckdb

    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise FactoryError(
            "sql_error",
            f"SQL does not parse: {exc}",
            hint="Run `factory query --tables` for the views and their columns.",
            details={"sql": sql},
            exit_code=ExitCode.USAGE,
        ) from None
    if not statements:
        raise FactoryError("sql_error", "No SQL statement given", exit_code=ExitCode.USAGE)
    for statement in statements:
        kind = statement.type.name
        if kind not in ALLOWED_STATEMENTS:
            raise FactoryError(
                "read_only",
                f"Refused a {kind} statement: `factory query` is read-only.",
                hint="Only SELECT (with WITH, DESCRIBE, SHOW, SUMMARIZE) and EXPLAIN run here; "
                "files are written by factory commands, never by SQL.",
                details={"statement": kind, "sql": sql},
                exit_code=ExitCode.USAGE,
            )


@dataclass(frozen=True)
class QueryResult:
    sql: str
    columns: list[str]
    types: list[str]
    rows: list[list[Any]]
    row_count: int
    truncated: bool
    """More rows matched than `limit`."""
    elapsed_ms: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "sql": self.sql,
            "columns": self.columns,
            "types": self.types,
            "rows": [dict(zip(self.columns, row, strict=False)) for row in self.rows],
            "row_count": self.row_count,
            "truncated": self.truncated,
            "elapsed_ms": self.elapsed_ms,
        }


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def run_query(workspace: Workspace, sql: str, limit: int | None = 1000) -> QueryResult:
    """Run read-only SQL against the workspace views."""
    import duckdb

    started = time.perf_counter()
    con = connect(workspace)
    try:
        check_read_only(con, sql)
        try:
            statements = con.extract_statements(sql)
            for statement in statements[:-1]:
                con.execute(statement)
            relation = con.execute(statements[-1])
            columns = [d[0] for d in relation.description or []]
            types = [str(d[1]) for d in relation.description or []]
            fetched = relation.fetchmany(limit + 1) if limit else relation.fetchall()
        except duckdb.Error as exc:
            raise FactoryError(
                "sql_error",
                f"{type(exc).__name__}: {exc}",
                hint="Run `factory query --tables` for the views and their columns.",
                details={"sql": sql},
                exit_code=ExitCode.USAGE,
            ) from None
    finally:
        con.close()
    truncated = bool(limit) and len(fetched) > (limit or 0)
    rows = [[_plain(v) for v in row] for row in fetched[: limit or None]]
    return QueryResult(
        sql=sql,
        columns=columns,
        types=types,
        rows=rows,
        row_count=len(rows),
        truncated=truncated,
        elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
    )


@dataclass(frozen=True)
class TableInfo:
    name: str
    description: str
    columns: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class TablesResult:
    tables: list[TableInfo]


def list_tables(workspace: Workspace) -> TablesResult:
    con = connect(workspace)
    try:
        tables = []
        for spec in VIEWS.values():
            described = con.execute(f'DESCRIBE "{spec.name}"').fetchall()
            tables.append(
                TableInfo(
                    spec.name,
                    spec.description,
                    [{"name": row[0], "type": str(row[1])} for row in described],
                )
            )
    finally:
        con.close()
    return TablesResult(tables)
