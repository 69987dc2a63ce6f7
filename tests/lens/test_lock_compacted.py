"""The SQL lock still holds when the views read compacted Parquet through the door
(`core.lens.compaction.door`): every attack of `tests/test_sql_lock.py` is refused by a
locked connection over a compacted workspace, and so is every attack through the door's own
protocol (reading a path it was not given, writing to one it was); a symlink or a manifest
pointing outside is never followed."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from core.foundation.workspace import Workspace
from core.foundation.workspace_init import init_workspace
from core.lens.compaction import door
from core.lens.compaction.compact import compact
from core.lens.compaction.door import PROTOCOL
from core.lens.store import locked_connection, run_query
from tests.lens.conftest import days_ago, write_event, write_run
from tests.test_sql_lock import FILE_ATTACKS, SECRET, STATE_ATTACKS, _tree

DOOR = f"{PROTOCOL}://"
# {seg}: a Parquet file the door serves for `runs`; every statement names a view, so that
# the door is registered on the connection.
DOOR_ATTACKS = (
    "SELECT * FROM runs, read_parquet('" + DOOR + "{out}/secret.parquet')",
    "SELECT * FROM runs, read_text('" + DOOR + "{out}/secret.txt')",
    "SELECT * FROM runs, read_text('" + DOOR + "/proc/self/environ')",
    "SELECT * FROM runs, read_text('" + DOOR + "{ws}/factory.toml')",
    "SELECT * FROM runs, read_csv('" + DOOR + "{out}/secret.csv')",
    "SELECT * FROM runs, parquet_metadata('" + DOOR + "{out}/secret.parquet')",
    "SELECT * FROM runs, glob('" + DOOR + "{out}/*')",
    "COPY runs TO '" + DOOR + "{seg}' (FORMAT parquet)",
    "COPY (SELECT 1 AS a) TO '" + DOOR + "{out}/door.csv'",
    "COPY (SELECT 'pwned' AS a FROM runs) TO '" + DOOR + "{ws}/cards/rain.md' (HEADER false)",
    "COPY events TO '" + DOOR + "{ws}/logs/events.parquet' (FORMAT parquet)",
    "EXPORT DATABASE '" + DOOR + "{ws}/export'",
    "SELECT count(*) FROM runs; SET allowed_paths = ['" + DOOR + "{out}/secret.txt']",
    "SELECT count(*) FROM runs; SET enable_external_access = true",
)
"""Statements through the door: the locked connection must refuse each one."""


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("compacted") / "ws"
    init_workspace(root)
    ws = Workspace(root)
    for n in range(4):
        write_run(ws, f"r-{n:012x}", n)
        write_event(ws, days_ago(2), "s-0", n)
    compact(ws, grace_s=0)
    return root


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text(SECRET + "\n")
    (folder / "secret.csv").write_text(f"a,b\n{SECRET},1\n")
    pq.write_table(pa.table({"run_id": [SECRET], "model": [SECRET]}), folder / "secret.parquet")
    return folder


@pytest.fixture(params=["door", "loaded"])
def compacted(
    template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[Path]:
    """The compacted workspace, its Parquet read through the door (every file, whatever its
    size) or loaded into memory before the lock (the small-file path)."""
    monkeypatch.setattr(door, "LOAD_ROWS", 0 if request.param == "door" else 10**9)
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    monkeypatch.chdir(root)
    monkeypatch.delenv("FACTORY_WORKSPACE", raising=False)
    # The copy moved `reports/`: a first reader lists it and keeps its listing (factory's
    # own cache); from then on only a statement could change the tree.
    old = 1_600_000_000_000_000_000  # at rest, whenever the template was built
    os.utime(root / "reports", ns=(old, old))
    run_query(Workspace(root), "SELECT count(*) FROM runs")
    assert (root / ".factory" / "lens" / "runs" / "listing.json").is_file()
    yield root


def _segment_file(root: Path) -> Path:
    return next((root / ".factory" / "lens" / "runs").glob("seg-*/runs.parquet"))


def _fill(sql: str, ws: Path, out: Path) -> str:
    seg = str(_segment_file(ws).resolve())
    return sql.replace("{seg}", seg).replace("{ws}", str(ws.resolve())).replace("{out}", str(out))


@pytest.mark.parametrize("attack", FILE_ATTACKS + STATE_ATTACKS + DOOR_ATTACKS)
def test_a_locked_connection_over_compacted_views_refuses_every_attack(
    compacted: Path, outside: Path, attack: str
) -> None:
    before = _tree(compacted, outside)
    sql = _fill(attack, compacted, outside)
    con = locked_connection(Workspace(compacted), sql)
    try:
        outcome: list[object] = []
        try:
            for statement in con.extract_statements(sql):
                outcome.extend(con.execute(statement).fetchall())
            raised = False
        except (duckdb.Error, PermissionError):
            raised = True
        writes = attack.lstrip().upper().startswith(("SET", "RESET", "PRAGMA", "COPY", "EXPORT"))
        if attack in FILE_ATTACKS or attack in DOOR_ATTACKS or writes:
            assert raised, f"the locked connection ran: {sql}"
        assert SECRET not in repr(outcome)
    finally:
        con.close()
    assert _tree(compacted, outside) == before


def test_the_compacted_views_still_answer_through_the_lock(compacted: Path) -> None:
    ws = Workspace(compacted)
    got = run_query(
        ws,
        "SELECT count(*) FROM runs r JOIN params p USING (run_id) WHERE p.name = 'depth'",
    )
    assert got.rows == [[4]]
    assert run_query(ws, "SELECT count(*) FROM events").rows == [[4]]
    assert run_query(ws, "SELECT count(*) FROM curves WHERE run_id = 'r-000000000001'").rows == [
        [3 * 2 * 6]
    ]


def test_a_symlink_planted_among_compacted_files_is_never_read(
    compacted: Path, outside: Path
) -> None:
    ws = Workspace(compacted)
    segment = _segment_file(compacted)
    segment.unlink()
    segment.symlink_to(outside / "secret.parquet")
    part = next((compacted / "logs" / "compacted" / "events").glob("date=*/part-*.parquet"))
    part.unlink()
    part.symlink_to(outside / "secret.parquet")
    for sql in ("SELECT * FROM runs", "SELECT * FROM events"):
        assert SECRET not in repr(run_query(ws, sql).rows)


def test_a_manifest_naming_a_file_outside_is_never_followed(compacted: Path, outside: Path) -> None:
    ws = Workspace(compacted)
    manifest_path = compacted / ".factory" / "lens" / "runs" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    escape = "../../../../outside/secret.parquet"
    assert (manifest_path.parent / escape).resolve() == (outside / "secret.parquet").resolve()
    manifest["segments"][0]["files"]["runs"] = [escape]
    manifest_path.write_text(json.dumps(manifest))
    assert SECRET not in repr(run_query(ws, "SELECT * FROM runs").rows)


def test_a_listing_naming_a_file_outside_is_never_followed(compacted: Path, outside: Path) -> None:
    """A reader's kept listing (`listing.json`) names runs whose files the views read: a
    name that is not a plain run id makes the reader list `reports/` again instead."""
    ws = Workspace(compacted)
    summaries = compacted / ".factory" / "index" / "runs"
    planted = json.loads(next(summaries.glob("r-*.json")).read_text())
    planted["run_id"] = planted["model"] = SECRET
    (outside / "secret.json").write_text(json.dumps(planted))
    escape = "../../../../outside/secret"
    assert (summaries / f"{escape}.json").resolve() == (outside / "secret.json").resolve()
    listing = compacted / ".factory" / "lens" / "runs" / "listing.json"
    kept = json.loads(listing.read_text())
    before = run_query(ws, "SELECT run_id, model FROM runs ORDER BY run_id").rows
    listing.write_text(json.dumps({**kept, "loose": [escape]}))
    after = run_query(ws, "SELECT run_id, model FROM runs ORDER BY run_id").rows
    assert SECRET not in repr(after)
    assert after == before
