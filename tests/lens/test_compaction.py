"""The compacted views answer exactly as the files do: a fresh workspace answers every view
with nothing; compacted, compacted with newer files beside it, pruned, merged, the answers
equal those of the same files never compacted (full result sets compared)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from core.foundation.workspace import Workspace
from core.lens.compaction import door
from core.lens.compaction import runs as run_compaction
from core.lens.compaction.compact import compact, compact_after_training
from core.lens.store import run_query
from core.lens.views.catalog import views
from tests.conftest import run_factory
from tests.lens.conftest import days_ago, write_event, write_run

LENS_VIEWS = ("runs", "params", "folds", "metrics", "curves", "events", "inference")
QUERIES = {
    **{name: f"SELECT * FROM {name} ORDER BY ALL" for name in LENS_VIEWS},
    "join": "SELECT r.run_id, r.primary_mean, p.value FROM runs r JOIN params p USING (run_id) "
    "WHERE p.name = 'depth' ORDER BY ALL",
    "effect": "SELECT p.value, round(avg(m.value), 9), count(*) FROM metrics m JOIN params p "
    "USING (run_id) WHERE p.name = 'depth' AND m.metric = 'auc' GROUP BY 1 ORDER BY 1",
    "one curve": "SELECT fold, split, min(value), arg_min(iteration, value), count(*) "
    "FROM curves WHERE run_id = 'r-00000000000a' GROUP BY ALL ORDER BY ALL",
    "counts": "SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM curves), "
    "(SELECT count(*) FROM events), (SELECT count(DISTINCT work_session) FROM events)",
}


def answers(root: Path) -> dict[str, list[list[object]]]:
    """Every query's full result set, sorted, read in one statement (one connection)."""
    parts = ", ".join(
        f'(SELECT list(x ORDER BY x) FROM ({sql}) x) AS "{name}"' for name, sql in QUERIES.items()
    )
    row = run_query(Workspace(root), f"SELECT {parts}", limit=None).rows[0]
    return {
        name: [list(item.values()) for item in rows or []]
        for name, rows in zip(QUERIES, row, strict=True)
    }


def uncompacted(root: Path, scratch: Path) -> dict[str, list[list[object]]]:
    """The answers of the same files with every compaction removed."""
    shutil.copytree(root, scratch, symlinks=True)
    shutil.rmtree(scratch / ".factory" / "lens", ignore_errors=True)
    shutil.rmtree(scratch / "logs" / "compacted", ignore_errors=True)
    return answers(scratch)


def populate(ws: Workspace, runs: range) -> None:
    for n in runs:
        write_run(ws, f"r-{n:012x}", n)
    for days in (3, 2, 1):
        for n in range(runs.start, runs.stop):
            write_event(ws, days_ago(days), f"s-{n % 3}", n)


@pytest.mark.slow
def test_a_fresh_workspace_answers_every_view_with_no_rows(workspace: Path) -> None:
    ws = Workspace(workspace)
    (workspace / "logs" / "events").mkdir(parents=True, exist_ok=True)
    (workspace / "logs" / "inference").mkdir(parents=True, exist_ok=True)
    (workspace / ".factory" / "lens" / "runs").mkdir(parents=True)
    for state in ("never compacted", "compacted"):
        for name in views():
            result = run_query(ws, f'SELECT * FROM "{name}"')
            assert result.rows == [], (state, name)
        compact(ws, grace_s=0)
    assert compact(ws, grace_s=0).runs.runs == 0


@pytest.mark.slow
@pytest.mark.parametrize("load_rows", [0, 10**9], ids=["door", "loaded"])
def test_compacted_and_newer_files_answer_as_the_files_alone(
    workspace: Path, tmp_path: Path, load_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(door, "LOAD_ROWS", load_rows)
    ws = Workspace(workspace)
    populate(ws, range(0, 40))
    before = answers(workspace)
    assert len(before["runs"]) == 40 and before["counts"][0][2] == 120
    done = compact(ws, grace_s=0)
    assert done.runs.compacted == 40 and done.logs[0].partitions == 3
    assert answers(workspace) == before

    # Newer runs and lines beside the compaction: new runs, a rewritten run, a deleted one,
    # lines appended to a compacted file, a new file in a compacted partition, today's.
    populate(ws, range(40, 47))
    write_run(ws, "r-000000000003", 1003)
    (ws.reports_dir / "r-000000000005.json").unlink()
    write_event(ws, days_ago(2), "s-0", 9000)
    write_event(ws, days_ago(2), "late", 9001)
    write_event(ws, days_ago(0), "today", 9002)
    expected = uncompacted(workspace, tmp_path / "plain-1")
    assert len(expected["runs"]) == 46
    assert answers(workspace) == expected

    # Compacted again (a second segment, the rewritten and deleted runs dropped), then pruned.
    done = compact(ws, grace_s=0)
    assert done.runs.compacted == 8 and done.runs.dropped == 2
    assert answers(workspace) == expected
    assert compact(ws, prune=True, grace_s=0).logs[0].pruned == 0  # the newest 14 days stay
    pruned = compact(ws, prune=True, grace_s=0, keep_days=0)
    assert pruned.logs[0].pruned == 3 * 3 + 1  # 3 sessions x 3 closed days, and "late"
    assert not list((ws.events_dir / f"date={days_ago(2)}").glob("*.jsonl"))
    assert answers(workspace) == expected
    # A late line lands in a pruned file's name: a new file, read beside the Parquet.
    write_event(ws, days_ago(2), "s-1", 9003)
    got = answers(workspace)
    assert got["counts"][0][2] == expected["counts"][0][2] + 1
    compact(ws, grace_s=0)
    assert answers(workspace) == got


def test_a_second_compaction_with_nothing_new_writes_nothing(workspace: Path) -> None:
    ws = Workspace(workspace)
    populate(ws, range(0, 5))
    compact(ws, grace_s=0)
    compact(ws, grace_s=0)  # publishes the settled stamp at most
    state = {p: p.stat().st_mtime_ns for p in (workspace / ".factory" / "lens").rglob("*")}
    again = compact(ws, grace_s=0)
    assert again.runs.compacted == 0 and again.logs[0].partitions == 0
    after = {p: p.stat().st_mtime_ns for p in (workspace / ".factory" / "lens").rglob("*")}
    assert {str(p) for p in after} == {str(p) for p in state}


def test_segments_merge_and_keep_the_answers(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = Workspace(workspace)
    populate(ws, range(0, 10))
    compact(ws, grace_s=0)
    reference = answers(workspace)
    for start in (10, 14):
        populate(ws, range(start, start + 4))
        done = compact(ws, grace_s=0)
    manifest = run_compaction.read_manifest(ws)
    assert manifest is not None
    # 10 then 4 (10 <= 4 x 4: merged into 14), then 4 more (14 <= 16: merged into 18).
    assert done.runs.merged == 1 and [s["runs"] for s in manifest["segments"]] == [18]
    got = answers(workspace)
    assert len(got["runs"]) == 18
    assert [r for r in got["runs"] if r[0] < "r-00000000000a"] == reference["runs"]


def test_a_view_reads_no_listing_when_nothing_moved(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At rest (the reports folder unchanged since the compaction listed it, and older
    than the racy window), a query opens the manifest and the Parquet, never lists runs."""
    ws = Workspace(workspace)
    populate(ws, range(0, 5))
    old = 1_600_000_000_000_000_000
    os.utime(ws.reports_dir, ns=(old, old))
    compact(ws, grace_s=0)
    listed: list[int] = []
    real = run_compaction._list_reports
    monkeypatch.setattr(run_compaction, "_list_reports", lambda w: listed.append(1) or real(w))
    assert run_query(ws, "SELECT count(*) FROM runs").rows == [[5]]
    assert listed == []
    write_run(ws, "r-0000000000ff", 255)
    assert run_query(ws, "SELECT count(*) FROM runs").rows == [[6]]
    assert listed == [1]

    # Newer runs beside the compaction, at rest: the first reader lists, the next ones
    # reuse its comparison while the folder does not move.
    os.utime(ws.reports_dir, ns=(old + 1, old + 1))
    for _ in range(3):
        assert run_query(ws, "SELECT count(*) FROM runs").rows == [[6]]
    assert listed == [1, 1]
    # A run added, one deleted: the folder moved, so the next reader lists again.
    write_run(ws, "r-0000000000fe", 254)
    (ws.reports_dir / "r-000000000001.json").unlink()
    os.utime(ws.reports_dir, ns=(old + 2, old + 2))
    sql = "SELECT count(*), count(*) FILTER (run_id = 'r-000000000001') FROM runs"
    assert run_query(ws, sql).rows == [[6, 0]]
    assert run_query(ws, sql).rows == [[6, 0]]
    assert listed == [1, 1, 1]
    # A new compaction starts from its own listing, whatever a reader kept before it.
    compact(ws, grace_s=0)
    os.utime(ws.reports_dir, ns=(old + 3, old + 3))
    assert run_query(ws, sql).rows == [[6, 0]]


def test_train_compacts_only_when_many_runs_wait(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = Workspace(workspace)
    monkeypatch.setattr(run_compaction, "AUTO_LOOSE", 5)
    monkeypatch.setattr("core.lens.compaction.compact.AUTO_LOOSE", 5)
    populate(ws, range(0, 4))
    assert compact_after_training(ws) is None
    populate(ws, range(4, 5))
    done = compact_after_training(ws)
    assert done is not None and done.compacted == 5
    assert compact_after_training(ws) is None


def test_factory_compact_is_a_command(workspace: Path) -> None:
    write_run(Workspace(workspace), "r-000000000001", 1)
    ran = run_factory("compact", "--json", cwd=workspace)
    assert ran.code == 0, ran.stderr
    assert ran.doc["data"]["runs"]["compacted"] == 1
    ran = run_factory("query", "SELECT count(*) AS n FROM curves", "--json", cwd=workspace)
    assert ran.doc["data"]["rows"] == [{"n": 36}]


def _inference_batch(ws: Workspace, date: str, batch: str, rows: int, start: int = 0) -> None:
    """A batch file of the inference log as `predict` writes it (schema 2): the batch's
    record first, then one short line per prediction."""
    from core.foundation.atomic import append_line

    path = ws.inference_dir / f"date={date}" / f"b-{batch}.jsonl"
    if start == 0:
        record = {
            "kind": "batch",
            "batch_id": batch,
            "v": 2,
            "ts": f"{date}T10:00:00.000Z",
            "session_id": "s-1",
            "mode": "batch",
            "model": "rain",
            "run_id": "r-000000000001",
            "tier": "prod",
            "status": "ok",
            "inference": {"version": "batch_v1", "hash": "i" * 16},
            "latency_ms": 0.5,
            "input_file": "in.csv",
        }
        append_line(path, json.dumps(record))
    for n in range(start, start + rows):
        line = {
            "batch_id": batch,
            "request_id": f"{batch}-{n}",
            "row": n,
            "ts": f"{date}T10:00:01.000Z",
            "input_hash": f"h{n}",
            "prediction": n / 10,
        }
        append_line(path, json.dumps(line))


def test_the_inference_log_compacts_and_answers_as_its_files(
    workspace: Path, tmp_path: Path
) -> None:
    ws = Workspace(workspace)
    sql = "SELECT * FROM inference ORDER BY ALL"
    for days in (3, 2):
        _inference_batch(ws, days_ago(days), f"b{days}", 5)
    _inference_batch(ws, days_ago(0), "today", 2)
    before = run_query(ws, sql, limit=None).rows
    assert len(before) == 12 and {row[1] for row in before} == {"s-1"}  # completed by record
    done = compact(ws, grace_s=0)
    inference = next(log for log in done.logs if log.family == "inference")
    assert inference.partitions == 2 and inference.rows == 2 * 6
    assert run_query(ws, sql, limit=None).rows == before
    # Lines appended to a compacted batch file: read from the file, not twice.
    _inference_batch(ws, days_ago(2), "b2", 3, start=5)
    expected = uncompacted(workspace, tmp_path / "plain")["inference"]
    assert len(expected) == 15
    assert run_query(ws, sql, limit=None).rows == expected
    compact(ws, grace_s=0)
    assert run_query(ws, sql, limit=None).rows == expected
    # Pruned: only today's file is left, and the view still reads every line.
    pruned = compact(ws, prune=True, grace_s=0, keep_days=0)
    assert next(log for log in pruned.logs if log.family == "inference").pruned == 2
    assert len(list(ws.inference_dir.glob("date=*/*.jsonl"))) == 1
    assert run_query(ws, sql, limit=None).rows == expected


def test_status_and_runs_stay_free_of_duckdb_beside_a_compaction(workspace: Path) -> None:
    from tests.test_status_light import _loaded_after

    ws = Workspace(workspace)
    populate(ws, range(0, 3))
    compact(ws, grace_s=0)
    populate(ws, range(3, 5))  # and a few runs newer than it
    for args in (["status", "--json"], ["runs", "--json"]):
        result = _loaded_after(args, workspace)
        assert result["code"] == 0, result
        assert "duckdb" not in set(result["loaded"]), args  # type: ignore[arg-type]


def test_a_compacted_file_deleted_by_hand_is_repaired_by_the_next_compaction(
    workspace: Path, tmp_path: Path
) -> None:
    from core.foundation.errors import FactoryError

    ws = Workspace(workspace)
    populate(ws, range(0, 6))
    before = answers(workspace)
    compact(ws, grace_s=0)
    lens = workspace / ".factory" / "lens" / "runs"
    next(lens.glob("seg-*/params.parquet")).unlink()
    next((workspace / "logs" / "compacted" / "events").glob("date=*/part-*.parquet")).unlink()
    with pytest.raises(FactoryError) as failed:
        run_query(ws, "SELECT count(*) FROM params")
    assert failed.value.code == "files_changed" and "factory compact" in str(failed.value.hint)
    # In a copy: the command's own event would change the answers compared below.
    shutil.copytree(workspace, tmp_path / "copy", symlinks=True)
    tables = run_factory("query", "--tables", "--json", cwd=tmp_path / "copy")
    assert tables.code == 3, tables.stdout
    assert tables.doc["error"]["code"] == "files_changed"
    done = compact(ws, grace_s=0)
    assert done.runs.compacted == 6 and done.logs[0].partitions == 1
    assert answers(workspace) == before
