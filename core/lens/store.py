"""Read-only SQL over the workspace's files: DuckDB is the lens, files are the truth.

Each query opens a fresh in-memory DuckDB connection, loads the views it names from the
files (events, snapshots, runs, ...) with factory's own SQL, then turns off every file
access and locks the configuration before the statement runs: whatever it says, it can read
nothing outside those views and write nothing anywhere. Nothing holds a database file, so a
TUI, a training run and an assistant's calls never lock each other out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

from core.foundation.errors import ExitCode, FactoryError
from core.foundation.workspace import Workspace
from core.lens.views.sql import ViewSpec

if TYPE_CHECKING:
    from core.foundation.sql_engine import duckdb
    from core.lens.compaction.door import Attachment


def _load_views() -> dict[str, ViewSpec]:
    from core.lens.views.catalog import views

    return views()


def _base_connection() -> duckdb.DuckDBPyConnection:
    from core.foundation.sql_engine import duckdb

    return duckdb.connect(
        ":memory:",
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
    )


def _define(
    con: duckdb.DuckDBPyConnection,
    attachment: Attachment,
    workspace: Workspace,
    spec: ViewSpec,
    kind: str,
) -> None:
    """Define one view: a lazy one over compacted Parquet (through the attachment's door)
    and its memory tables; any other loaded whole into a memory table (`kind` TABLE) or
    defined as a view over the files (`kind` VIEW, external access still on)."""
    if spec.lazy is not None:
        con.execute(f'CREATE OR REPLACE VIEW "{spec.name}" AS {spec.lazy(workspace, attachment)}')
    elif spec.sql is not None:
        con.execute(f'CREATE OR REPLACE {kind} "{spec.name}" AS {spec.sql(workspace)}')


def connect(workspace: Workspace) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with every view defined, external access still on.

    For factory's own fixed SQL only (describing the views); a statement someone else wrote
    goes through `locked_connection`."""
    import duckdb as package  # noqa: F401  (adds the relational API `export` reads with)

    from core.lens.compaction.door import Attachment

    con = _base_connection()
    attachment = Attachment(con, workspace.root)
    for spec in _load_views().values():
        _define(con, attachment, workspace, spec, "VIEW")
    return con


def views_named(sql: str) -> list[str]:
    """The views whose names appear as identifiers in `sql` (DuckDB's own tokenizer).

    This decides what to load, not what is allowed: a name picked up from a comment only
    loads a view for nothing, and a view missed is simply absent (the statement fails)."""
    from core.foundation.sql_engine import duckdb

    views = _load_views()
    try:
        tokens = duckdb.tokenize(sql)
    except Exception:  # a statement the tokenizer refuses: load every view
        return list(views)
    bounds = [start for start, _ in tokens] + [len(sql)]
    wanted: set[str] = set()
    for (start, kind), end in zip(tokens, bounds[1:], strict=True):
        # A view's name may also be an unreserved keyword (`plans`): count both.
        if kind.name not in ("identifier", "keyword"):
            continue
        word = sql[start:end].strip().strip('"').lower()
        if word in views:
            wanted.add(word)
    return [name for name in views if name in wanted]


def lock_down(con: duckdb.DuckDBPyConnection) -> None:
    """No file access at all from here on, and no setting can be changed back.

    With external access off and no allowed directory, DuckDB refuses every file system
    operation (COPY, EXPORT, ATTACH of a file, read_* and glob of any path, INSTALL, LOAD,
    replacement scans of Python objects); the configuration lock makes that final. This is
    the security boundary of `factory query`, whatever the statement's spelling."""
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def locked_connection(workspace: Workspace, sql: str) -> duckdb.DuckDBPyConnection:
    """A connection for a statement someone else wrote: the views it names are loaded into
    memory tables by factory's own SQL over the workspace's files (compacted Parquet stays
    lazy, served read-only by the door of `core.lens.compaction.door`), then the connection
    is locked down (`lock_down`) before the statement is seen by the database."""
    return _locked(workspace, sql)[0]


def _locked(
    workspace: Workspace, sql: str, fresh: duckdb.DuckDBPyConnection | None = None
) -> tuple[duckdb.DuckDBPyConnection, Attachment]:
    """As `locked_connection`, on `fresh` (a new, unlocked connection nothing has run on but
    parsing) when given: opening a connection costs about 20 ms."""
    from core.lens.compaction.door import Attachment

    views = _load_views()
    con = fresh if fresh is not None else _base_connection()
    attachment = Attachment(con, workspace.root)
    try:
        for name in views_named(sql):
            _define(con, attachment, workspace, views[name], "TABLE")
        attachment.seal()
        lock_down(con)
    except BaseException:
        con.close()
        raise
    return con, attachment


ALLOWED_STATEMENTS = ("SELECT", "EXPLAIN")


def check_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """A friendly refusal of anything but SELECT (and EXPLAIN) before it runs. Not the
    security boundary (`lock_down` is): it only says early, in words, what would fail."""
    from core.foundation.sql_engine import duckdb

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
            raise _refused(kind, sql)


def _refused(kind: str, sql: str) -> FactoryError:
    return FactoryError(
        "read_only",
        f"Refused a {kind} statement: `factory query` is read-only.",
        hint="Only SELECT (with WITH, DESCRIBE, SHOW, SUMMARIZE) and EXPLAIN run here, over "
        "the views of `factory query --tables`; no file is read or written by SQL.",
        details={"statement": kind, "sql": sql},
        exit_code=ExitCode.USAGE,
    )


class QueryData(TypedDict):
    """`factory query SQL`: the rows, each an object by column name."""

    sql: str
    columns: list[str]
    types: list[str]
    """DuckDB's type of each column, in `columns` order."""
    rows: list[dict[str, Any]]
    """Column -> value."""
    row_count: int
    truncated: bool
    """More rows matched than `--limit`."""
    elapsed_ms: float


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

    def to_dict(self) -> QueryData:
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


RETRIES = 2


class _Retired(Exception):
    """A file named by the manifest this query read is gone (see `run_query`)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _execute(
    workspace: Workspace, sql: str, limit: int | None, fresh: duckdb.DuckDBPyConnection | None
) -> tuple[list[str], list[str], list[Any]]:
    from core.foundation.sql_engine import duckdb

    try:
        con, attachment = _locked(workspace, sql, fresh)
    except duckdb.IOException as exc:
        raise _Retired(str(exc)) from None  # a file listed a moment ago was gone when read
    try:
        try:
            statements = con.extract_statements(sql)
            for statement in statements[:-1]:
                con.execute(statement)
            relation = con.execute(statements[-1])
            columns = [d[0] for d in relation.description or []]
            types = [str(d[1]) for d in relation.description or []]
            fetched = relation.fetchmany(limit + 1) if limit else relation.fetchall()
        except duckdb.PermissionException:
            raise _refused("file access", sql) from None
        except duckdb.Error as exc:
            if attachment.missing:
                raise _Retired(str(exc)) from None
            raise FactoryError(
                "sql_error",
                f"{type(exc).__name__}: {exc}",
                hint="Run `factory query --tables` for the views and their columns.",
                details={"sql": sql},
                exit_code=ExitCode.USAGE,
            ) from None
    finally:
        con.close()
    return columns, types, fetched


def run_query(workspace: Workspace, sql: str, limit: int | None = 1000) -> QueryResult:
    """Run read-only SQL against the workspace views (see `locked_connection`)."""

    started = time.perf_counter()
    # The statement is checked on the connection its first attempt then runs on: parsing
    # changes nothing on it, and a second connection would cost as much as the check.
    checker = _base_connection()
    try:
        check_read_only(checker, sql)
    except BaseException:
        checker.close()
        raise
    fresh: duckdb.DuckDBPyConnection | None = checker
    for attempt in range(RETRIES + 1):
        try:
            columns, types, fetched = _execute(workspace, sql, limit, fresh)
            break
        except _Retired as retired:
            fresh = None  # closed by the attempt that used it
            # A file was gone when read: a compaction retired it after we read its
            # manifest, or a run was deleted after the listing. Read everything again.
            if attempt == RETRIES:
                raise FactoryError(
                    "files_changed",
                    f"Files under the views changed while the query read them: {retired.message}",
                    hint="Run the query again; if it keeps failing, run `factory compact`, "
                    "which writes the compacted files anew from the runs and logs themselves.",
                    details={"sql": sql},
                    exit_code=ExitCode.INPUT,
                ) from None
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
    from core.foundation.sql_engine import duckdb

    try:
        con = connect(workspace)
    except duckdb.IOException as exc:
        raise _unreadable(exc) from None
    try:
        tables = []
        for spec in _load_views().values():
            try:
                described = con.execute(f'DESCRIBE "{spec.name}"').fetchall()
            except duckdb.IOException as exc:
                raise _unreadable(exc) from None
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


def _unreadable(exc: Exception) -> FactoryError:
    """A compacted file the manifest names is gone (deleted by hand, or retired by a
    compaction a moment ago): the user's to fix, not "a bug in factory"."""
    return FactoryError(
        "files_changed",
        f"The views could not read their files: {exc}",
        hint="Run the command again; if it keeps failing, run `factory compact`, which writes "
        "the compacted files anew from the runs and logs themselves (they are copies: nothing "
        "is lost).",
        exit_code=ExitCode.INPUT,
    )
