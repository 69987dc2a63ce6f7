"""`factory query` is read-only for real: no statement, however spelled, reads a file outside
the workspace's views or writes a file anywhere.

Two layers are tested apart, so that neither hides a hole in the other: the database's own
controls (`locked_connection`: every file operation off, configuration locked) with the
friendly statement check bypassed, and the whole command as a user or an assistant runs it.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
from pathlib import Path

import duckdb
import pytest

from core.foundation.errors import FactoryError
from core.foundation.workspace import Workspace
from core.lens.store import locked_connection, run_query
from tests.conftest import run_factory

SECRET = "FACTORY-SECRET-7f3a9c"

# {out}: a folder outside the workspace holding secrets; {ws}: the workspace itself.
FILE_ATTACKS = (
    "COPY (SELECT 1 AS a) TO '{out}/copy.csv'",
    "COPY (SELECT 'pwned' AS a) TO '{ws}/cards/rain.md' (HEADER false)",
    "COPY (SELECT 1 AS a) TO 'relative.csv'",
    "COPY (SELECT 1 AS a) TO '/dev/stdout'",
    "COPY events TO '{out}/events.parquet' (FORMAT parquet)",
    "EXPORT DATABASE '{out}/export'",
    "EXPORT DATABASE '{ws}/export'",
    "ATTACH '{out}/attached.duckdb' AS x",
    "ATTACH '{ws}/attached.duckdb' AS x",
    "INSTALL httpfs",
    "LOAD httpfs",
    "LOAD '{out}/evil.duckdb_extension'",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('{out}/secret.txt')",
    "SELECT * FROM read_blob('/proc/self/environ')",
    "SELECT * FROM read_text('/proc/self/environ')",
    "SELECT * FROM read_json('{out}/*.json')",
    "SELECT * FROM '{out}/secret.csv'",
    "SELECT * FROM read_text('{ws}/link-out.txt')",
    "SELECT * FROM read_text('{ws}/factory.toml')",
    "SELECT * FROM glob('/*')",
    "SELECT * FROM glob('{out}/*')",
    "SELECT * FROM sniff_csv('{out}/secret.csv')",
    "SELECT * FROM parquet_metadata('{out}/secret.parquet')",
    "SELECT * FROM query('SELECT * FROM read_text(''{out}/secret.txt'')')",
    "SELECT 1; COPY (SELECT 1 AS a) TO '{out}/second.csv'",
    "EXPLAIN COPY (SELECT 1 AS a) TO '{out}/explain.csv'",
    "EXPLAIN ANALYZE COPY (SELECT 1 AS a) TO '{out}/explain-analyze.csv'",
    "EXPLAIN ANALYZE COPY (SELECT 'pwned' AS a) TO '{ws}/cards/temp.md'",
    "EXPLAIN ANALYZE SELECT * FROM read_text('{out}/secret.txt')",
)
"""Statements that touch a file: the database itself must refuse every one."""

STATE_ATTACKS = (
    "SET enable_external_access = true",
    "SET allowed_directories = ['/']",
    "SET lock_configuration = false",
    "RESET enable_external_access",
    "PRAGMA enable_profiling = 'json'",
    "SET profiling_output = '{out}/profile.json'",
    "SET temp_directory = '{out}/tmp'",
    "CREATE TABLE t AS SELECT 1 AS a",
    "CREATE MACRO m(x) AS x + 1",
    "CREATE VIEW v AS SELECT 1 AS a",
    "CREATE SECRET s (TYPE s3)",
    "INSERT INTO events SELECT * FROM events",
    "DROP TABLE events",
    "SELECT 1; SET enable_external_access = true",
)
"""Statements that try to change what the connection may do or hold."""


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text(SECRET + "\n")
    (folder / "secret.csv").write_text(f"a,b\n{SECRET},1\n")
    (folder / "secret.json").write_text(f'{{"ts": "2026-11-01T00:00:00Z", "event": "{SECRET}"}}\n')
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"a": [SECRET]}), folder / "secret.parquet")
    return folder


@pytest.fixture
def armed(workspace: Path, outside: Path) -> Path:
    """A workspace with symlinks planted where views read, pointing outside."""
    events = workspace / "logs" / "events" / "date=2026-11-01"
    events.mkdir(parents=True)
    (events / "evil.jsonl").symlink_to(outside / "secret.json")
    (workspace / "logs" / "events" / "date=2026-11-02").symlink_to(outside)
    (workspace / "link-out.txt").symlink_to(outside / "secret.txt")
    return workspace


def _tree(*roots: Path) -> dict[str, str]:
    """Every file under `roots` (symlinks not followed) with a hash of its bytes."""
    found: dict[str, str] = {}
    for root in roots:
        for folder, dirs, files in os.walk(root):
            for name in files + [d for d in dirs if Path(folder, d).is_symlink()]:
                path = Path(folder, name)
                data = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
                found[str(path)] = hashlib.sha256(data).hexdigest()
    return found


def _durable(tree: dict[str, str], ws: Path) -> dict[str, str]:
    """What the query must never change: all but the event log and regenerable state,
    which every command writes to by design."""
    skip = (str(ws / "logs" / "events" / "date=20"), str(ws / ".factory"))
    return {k: v for k, v in tree.items() if not k.startswith(skip) or k.endswith("evil.jsonl")}


def _fill(sql: str, ws: Path, out: Path) -> str:
    return sql.replace("{ws}", str(ws)).replace("{out}", str(out))


@pytest.mark.parametrize("attack", FILE_ATTACKS + STATE_ATTACKS)
def test_the_database_alone_refuses_every_attack(
    armed: Path, outside: Path, attack: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The security boundary without the statement check: the statement goes straight to a
    locked connection. File attacks and setting changes raise; what remains (CREATE of an
    in-memory object) touches no file and dies with the connection."""
    monkeypatch.chdir(armed)
    ws = Workspace(armed)
    before = _tree(armed, outside)
    sql = _fill(attack, armed, outside)
    con = locked_connection(ws, sql)
    try:
        outcome: list[object] = []
        try:
            for statement in con.extract_statements(sql):
                outcome.extend(con.execute(statement).fetchall())
            raised = False
        except duckdb.Error:
            raised = True
        if attack in FILE_ATTACKS or attack.lstrip().upper().startswith(("SET", "RESET", "PRAGMA")):
            assert raised, f"the locked connection ran: {sql}"
        assert SECRET not in repr(outcome)
    finally:
        con.close()
    assert _durable(_tree(armed, outside), armed) == _durable(before, armed)


@pytest.mark.parametrize("attack", FILE_ATTACKS + STATE_ATTACKS)
def test_factory_query_refuses_every_attack_and_leaves_no_file(
    armed: Path, outside: Path, attack: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(armed)
    before = _tree(armed, outside)
    sql = _fill(attack, armed, outside)
    with pytest.raises(FactoryError) as refused:
        run_query(Workspace(armed), sql)
    assert refused.value.code in ("read_only", "sql_error"), refused.value.to_dict()
    assert refused.value.exit_code == 2
    assert SECRET not in repr(refused.value.to_dict())
    assert _durable(_tree(armed, outside), armed) == _durable(before, armed)


def test_a_symlink_planted_in_the_event_log_is_not_read(armed: Path) -> None:
    result = run_query(Workspace(armed), "SELECT * FROM events")
    assert SECRET not in repr(result.rows)
    assert result.row_count == 0


def test_views_still_answer_after_the_lock(workspace: Path) -> None:
    """The lock must not cost the lens itself: views load, join and aggregate."""
    assert run_factory("status", "--json", cwd=workspace).code == 0
    result = run_query(
        Workspace(workspace),
        "SELECT e.event, count(*) AS n FROM events e LEFT JOIN runs r USING (run_id) "
        "GROUP BY 1 ORDER BY 1",
    )
    assert result.rows == [["command", 1]]


def test_the_cli_refuses_with_an_envelope_and_writes_nothing(
    workspace: Path, outside: Path
) -> None:
    target = outside / "cli.csv"
    card = workspace / "cards" / "rain.md"
    card.parent.mkdir(exist_ok=True)
    card.write_text("---\nmodel: rain\n---\nmine\n")
    for sql in (
        f"EXPLAIN ANALYZE COPY (SELECT 1 AS a) TO '{target}'",
        f"EXPLAIN ANALYZE COPY (SELECT 'x' AS a) TO '{card}'",
        f"SELECT * FROM read_text('{outside}/secret.txt')",
    ):
        ran = run_factory("query", sql, "--json", cwd=workspace)
        assert ran.code == 2, ran.stdout
        assert ran.doc["ok"] is False and ran.doc["error"]["code"] == "read_only"
        assert SECRET not in ran.stdout + ran.stderr
    assert not target.exists()
    assert card.read_text() == "---\nmodel: rain\n---\nmine\n"


class _Boom:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("touch PWNED",))


def test_a_pickle_planted_in_the_cache_never_runs(workspace: Path) -> None:
    """Writing a file in `.factory/cache/` must not let anyone run code in the next command."""
    from core.foundation.workspace import Workspace
    from core.records.card_store import update_card

    assert run_factory("card", "rain", "--json", cwd=workspace).code == 0
    update_card(Workspace(workspace), "rain", lambda _meta: None)  # a card file to summarise
    cache = workspace / ".factory" / "cache" / "cards"
    cache.mkdir(parents=True, exist_ok=True)
    payload = pickle.dumps(_Boom())
    for name in ("rain.parsed.pickle", "rain.parsed.json", "rain.json", "plans.jsonl"):
        (cache / name).write_bytes(payload)
    for args in (("card", "rain"), ("tiers", "rain"), ("status",)):
        ran = run_factory(*args, "--json", cwd=workspace)
        assert ran.code in (0, 1, 3), ran.stdout
    assert not (workspace / "PWNED").exists()
    # The old cache's pickle is removed once the card's JSON summary is written again.
    assert not (cache / "rain.parsed.pickle").exists()
    assert json.loads((cache / "rain.json").read_bytes())["summary"]["model"] == "rain"


PICKLING = re.compile(
    r"^\s*(import|from)\s+(c?pickle|cloudpickle|dill|joblib|shelve|marshal)\b"
    r"|\b(c?pickle|cloudpickle|dill|joblib|marshal)\.(loads?|Unpickler)\b"
    r"|\bshelve\.open\b|\bread_pickle\b|\ballow_pickle\s*=\s*True",
    re.MULTILINE,
)


def test_no_module_of_factory_deserializes_pickle() -> None:
    """No module imports a pickling library or calls a loader: a word in a docstring or a
    library's name in a version list is not a deserialisation. (Dask moves task results
    between processes it started with its own serialisation, in memory; nothing is read
    from a file: adrs/0033.)"""
    root = Path(__file__).resolve().parents[1]
    offenders = [
        str(path.relative_to(root))
        for folder in ("core", "tui")
        for path in (root / folder).rglob("*.py")
        if PICKLING.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
    assert PICKLING.search("import pickle\n") and PICKLING.search("x = pickle.loads(b)")
    assert PICKLING.search("pd.read_pickle(p)") and not PICKLING.search('"cloudpickle",')
