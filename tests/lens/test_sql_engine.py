"""factory's SQL goes through DuckDB's compiled module (`core.foundation.sql_engine`): the
objects it uses must be the package's own, and a cold `factory query` must not pay for the
package's Python layer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from core.foundation.sql_engine import duckdb as engine
from core.foundation.workspace import Workspace
from core.foundation.workspace_init import init_workspace
from core.lens.compaction.compact import compact
from tests.lens.conftest import write_run

USED = (
    "connect",
    "tokenize",
    "DuckDBPyConnection",
    "Error",
    "IOException",
    "PermissionException",
    "OutOfMemoryException",
)


def test_the_engine_objects_are_the_packages_own() -> None:
    for name in USED:
        assert getattr(engine, name) is getattr(duckdb, name), name
    con = engine.connect()
    assert isinstance(con, duckdb.DuckDBPyConnection)
    assert con.execute("SELECT 41 + 1").fetchall() == [(42,)]
    con.close()


@pytest.mark.parametrize(("load_rows", "door"), [(250_000, False), (0, True)])
def test_a_query_over_the_views_never_imports_the_duckdb_package(
    tmp_path: Path, load_rows: int, door: bool
) -> None:
    root = tmp_path / "ws"
    init_workspace(root)
    ws = Workspace(root)
    for n in range(3):
        write_run(ws, f"r-{n:012x}", n)
    compact(ws, grace_s=0)
    write_run(ws, "r-00000000000f", 9)  # one newer than the compaction: both paths read
    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "from core.foundation.workspace import Workspace\n"
        "from core.lens.compaction import door\n"
        "from core.lens.store import connect, run_query\n"
        f"door.LOAD_ROWS = {load_rows}\n"
        f"result = run_query(Workspace(Path({str(root)!r})), "
        "'SELECT count(DISTINCT run_id) AS n FROM runs JOIN params USING (run_id)', None)\n"
        "print(result.rows, sorted(m for m in sys.modules if m.split('.')[0] == 'duckdb'),"
        " 'fsspec' in sys.modules)\n"
        # The relational API is there once asked for through `connect`.
        "print(connect(Workspace(Path(sys.argv[1]))).sql('SELECT 2').fetchall())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(root)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    # Small compacted files are loaded before the lock; with LOAD_ROWS 0 they are read
    # through the door (which needs fsspec). The package is never loaded by the query.
    assert done.stdout.splitlines() == [f"[[4]] [] {door}", "[(2,)]"]
