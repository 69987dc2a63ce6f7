"""Pruning loses nothing a reader reads: after `factory compact --prune`, every line reader
(history, feedback, rollouts, the serving check, `perf`) gets what it got from the files,
each pruned file's lines come back byte for byte and in order, partitions compacted before
rows kept their lines are read and upgraded, and the newest days are kept as JSONL."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from core.foundation import log_archive
from core.foundation.atomic import write_json
from core.foundation.events import event_sources, read_events
from core.foundation.workspace import Workspace
from core.lens.compaction.compact import compact
from tests.conftest import run_factory
from tests.lens.conftest import days_ago, write_event

ODD_LINES = [
    '{"kind": "note",  "text": "spaces and key order kept", "z": 1, "a": 2}',
    '{"request_id": "q-9", "prediction": 0.25, "input": {"city": "Zürich \\u2603"}}',
    '{"kind": "note", "text": "a line separator \u2028 inside a string, as written"}',
    "not json at all",
    "[1, 2, 3]",
]


def _write(path: Path, lines: list[str], torn: str = "") -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = ("".join(line + "\n" for line in lines) + torn).encode()
    path.write_bytes(data)
    return data


def _whole_objects(data: bytes) -> bytes:
    """What a file's lines are to a reader: whole lines that are JSON objects."""
    kept = []
    for line in data.split(b"\n")[:-1]:
        try:
            if isinstance(json.loads(line), dict):
                kept.append(line + b"\n")
        except ValueError:
            continue
    return b"".join(kept)


def _inference_log(ws: Workspace, date: str, tag: str) -> dict[str, bytes]:
    """A batch file (record, then short lines) and an online file (records and lines that
    carry every field, with the request's input), as `predict` and `serve` write them."""
    batch = [
        json.dumps({"kind": "batch", "batch_id": f"b{tag}", "model": "rain", "run_id": "r-1",
                    "tier": "prod", "ts": f"{date}T10:00:00.000Z", "time_column": "date",
                    "entity_columns": [], "inference": {"version": "batch_v1"}}),
        *[json.dumps({"batch_id": f"b{tag}", "request_id": f"b{tag}-{n}", "row": n,
                      "time": f"{date}", "input_hash": f"h{n}", "prediction": n / 10})
          for n in range(4)],
        *ODD_LINES,
    ]  # fmt: skip
    online = [
        json.dumps({"kind": "batch", "batch_id": f"o{tag}", "model": "rain", "run_id": "r-1",
                    "mode": "online", "ts": f"{date}T11:00:00.000Z",
                    "history": {"weather": {"snapshot_id": None}}}),
        *[json.dumps({"model": "rain", "run_id": "r-1", "mode": "online", "status": "ok",
                      "tier": "prod", "request_id": f"o{tag}-{n}", "row": n, "latency_ms": 1.5,
                      "ts": f"{date}T11:00:0{n}.000Z", "input": {"temp_max": n}, "prediction": n})
          for n in range(3)],
    ]  # fmt: skip
    folder = ws.inference_dir / f"date={date}"
    return {
        f"date={date}/b-{tag}.jsonl": _write(folder / f"b-{tag}.jsonl", batch, torn='{"torn'),
        f"date={date}/o-s.1-{tag}.jsonl": _write(folder / f"o-s.1-{tag}.jsonl", online),
    }


def _readers(ws: Workspace) -> dict[str, Any]:
    """What every line reader of the logs answers."""
    from core.foundation.sql_engine import duckdb
    from core.foundation.timeparse import resolve_range
    from core.operations.feedback.inference_log import predictions
    from core.operations.perf import inference_sql
    from core.operations.rollouts.observations import log_files
    from core.overview.history import history
    from core.serve.check import _online_lines

    everything = history(ws, resolve_range(None, None, None), include_read_only=True, limit=None)
    con = duckdb.connect()
    try:
        perf_rows = sorted(map(str, con.execute(f"SELECT * FROM ({inference_sql(ws)})").fetchall()))
    finally:
        con.close()
    return {
        "history": [(s.session_id, s.events) for s in everything.sessions],
        "events": sorted(json.dumps(e, sort_keys=True) for e in read_events(event_sources(ws))),
        "predictions": sorted(json.dumps(p, sort_keys=True) for p in predictions(ws)),
        "online": [(s.name, lines) for s, lines in _online_lines(ws, {"rain"})],
        "rollout files": sorted(s.name for s in log_files(ws, "2000-01-01", "2999-01-01")),
        "perf": perf_rows,
    }


def _populate(ws: Workspace) -> dict[str, bytes]:
    written = {}
    for days in (30, 20, 2):
        written.update(_inference_log(ws, days_ago(days), str(days)))
        for n in range(3):
            write_event(ws, days_ago(days), f"s-{n}", days * 10 + n)
    return written


@pytest.mark.parametrize("whole", [True, False], ids=["partition-whole", "file-by-file"])
def test_pruned_files_read_back_byte_for_byte_and_every_reader_answers_the_same(
    workspace: Path, whole: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not whole:
        monkeypatch.setattr(log_archive, "WHOLE_PARTITION_BYTES", 0)
    ws = Workspace(workspace)
    written = _populate(ws)
    before = _readers(ws)
    assert len(before["predictions"]) == 3 * (4 + 1 + 3) and len(before["online"]) == 3

    done = compact(ws, prune=True, grace_s=0)
    # The 14 newest days stay as JSONL: days 30 and 20 are pruned, day 2 kept.
    assert {log.family: log.pruned for log in done.logs} == {"events": 6, "inference": 4}
    assert (
        sorted(p.parent.name for p in ws.inference_dir.glob("date=*/*.jsonl"))
        == [f"date={days_ago(2)}"] * 2
    )
    assert _readers(ws) == before

    sources = log_archive.log_sources(ws, "inference", ws.inference_dir)
    archived = {s.source: s.data() for s in sources if s.path is None}
    assert sorted(archived) == sorted(k for k in written if days_ago(2) not in k)
    for source, data in archived.items():
        assert data == _whole_objects(written[source]), source


def test_a_pruned_name_written_again_reads_the_old_lines_then_the_new(workspace: Path) -> None:
    ws = Workspace(workspace)
    day = days_ago(20)
    for n in range(3):
        write_event(ws, day, "s-0", n)
    compact(ws, grace_s=0)
    assert compact(ws, prune=True, grace_s=0).logs[0].pruned == 1
    write_event(ws, day, "s-0", 3)  # a late line lands in the pruned file's name
    ns = [e["data"]["n"] for e in read_events(event_sources(ws))]
    assert ns == [0, 1, 2, 3]
    compact(ws, grace_s=0)  # the old rows are relabelled, the new file compacted
    compact(ws, prune=True, grace_s=0)
    assert not list(ws.events_dir.glob("date=*/*.jsonl"))
    assert sorted(e["data"]["n"] for e in read_events(event_sources(ws))) == [0, 1, 2, 3]
    names = sorted(s.name for s in event_sources(ws))
    assert len(names) == 2 and names[0] == "s-0.jsonl" and names[1].startswith("s-0.jsonl~")


def _make_legacy(ws: Workspace, log: str) -> None:
    """Rewrite a compaction as the previous version left it: no `_line`/`_raw` columns, no
    `lines` in the manifest, its JSONL pruned."""
    from core.foundation.sql_engine import duckdb

    path = log_archive.manifest_path(ws, log)
    manifest = json.loads(path.read_text())
    for date, entry in manifest["partitions"].items():
        parquet = log_archive.compacted_root(ws, log) / entry["file"]
        con = duckdb.connect()
        old = str(parquet).replace("'", "''")
        con.execute(
            f"COPY (SELECT * EXCLUDE (_line, _raw) FROM read_parquet('{old}')) "
            f"TO '{old}.tmp' (FORMAT parquet)"
        )
        con.close()
        Path(f"{parquet}.tmp").replace(parquet)
        del entry["lines"]
        for name, source in entry["sources"].items():
            (ws.logs_dir / log / f"date={date}" / name).unlink()
            source["pruned"] = True
    write_json(path, manifest)


def test_a_partition_compacted_before_lines_were_kept_is_read_and_upgraded(
    workspace: Path,
) -> None:
    from core.foundation.timeparse import resolve_range
    from core.overview.history import history

    ws = Workspace(workspace)
    for days in (30, 20):
        for n in range(3):
            write_event(ws, days_ago(days), f"s-{n}", days * 10 + n)
    plain = [e for e in read_events(event_sources(ws))]
    sessions = history(ws, resolve_range(None, None, None), include_read_only=True)
    compact(ws, grace_s=0)
    _make_legacy(ws, "events")
    assert not list(ws.events_dir.glob("date=*/*.jsonl"))
    # Rebuilt from the columns: the same events, field for field.
    assert [e for e in read_events(event_sources(ws))] == plain
    again = history(ws, resolve_range(None, None, None), include_read_only=True)
    assert again.sessions == sessions.sessions and len(again.sessions) == 3
    # The next compaction rewrites those partitions with their lines; pruning may follow.
    done = compact(ws, grace_s=0)
    assert done.logs[0].partitions == 2
    manifest = log_archive.read_manifest(ws, "events")
    assert manifest is not None and all(e["lines"] for e in manifest["partitions"].values())
    assert [e for e in read_events(event_sources(ws))] == plain


def test_pruning_keeps_the_newest_days_and_status_stays_free_of_duckdb(workspace: Path) -> None:
    from tests.test_status_light import _loaded_after

    ws = Workspace(workspace)
    for days in (40, log_archive.PRUNE_KEEP_DAYS + 1, log_archive.PRUNE_KEEP_DAYS, 1):
        write_event(ws, days_ago(days), "s-0", days)
    compact(ws, grace_s=0)
    assert compact(ws, prune=True, grace_s=0).logs[0].pruned == 2
    kept = sorted(p.parent.name[5:] for p in ws.events_dir.glob("date=*/*.jsonl"))
    assert kept == [days_ago(log_archive.PRUNE_KEEP_DAYS), days_ago(1)]
    result = _loaded_after(["status", "--json"], workspace)
    assert result["code"] == 0, result
    assert "_duckdb" not in set(result["loaded"]) and "duckdb" not in set(result["loaded"])

    ran = run_factory("compact", "--prune", "--keep-days", "0", "--json", cwd=workspace)
    assert ran.code == 0, ran.stderr
    assert ran.doc["data"]["keep_days"] == 0 and ran.doc["data"]["prune"] is True
    refused = run_factory("compact", "--prune", "--keep-days", "-1", "--json", cwd=workspace)
    assert refused.code == 2 and "--keep-days" in refused.doc["error"]["message"]


def test_a_file_pruned_after_it_was_listed_is_read_from_the_parquet(workspace: Path) -> None:
    ws = Workspace(workspace)
    day = days_ago(20)
    for n in range(3):
        write_event(ws, day, "s-0", n)
    compact(ws, grace_s=0)
    listed = event_sources(ws)
    assert [(s.path is not None, s.parquet is not None) for s in listed] == [(True, True)]
    compact(ws, prune=True, grace_s=0)  # deletes the file after the listing
    assert not (ws.events_dir / f"date={day}" / "s-0.jsonl").exists()
    assert [e["data"]["n"] for e in read_events(listed)] == [0, 1, 2]


def _everything(ws: Workspace, log: str) -> bytes:
    return b"".join(s.data() for s in log_archive.log_sources(ws, log, ws.logs_dir / log))


def test_a_manifest_naming_a_file_outside_the_workspace_is_never_read(
    workspace: Path, tmp_path: Path
) -> None:
    from core.foundation.sql_engine import duckdb
    from core.operations.perf import inference_sql

    ws = Workspace(workspace)
    day = days_ago(20)
    write_event(ws, day, "s-0", 1)
    _inference_log(ws, day, "x")
    compact(ws, prune=True, grace_s=0)
    secret = tmp_path / "outside" / "secret.parquet"
    secret.parent.mkdir()
    for log in ("events", "inference"):
        manifest_file = log_archive.manifest_path(ws, log)
        manifest = json.loads(manifest_file.read_text())
        entry = manifest["partitions"][day]
        inside = log_archive.compacted_root(ws, log) / entry["file"]
        shutil.copy(inside, secret)
        inside.unlink()
        # Named by a path that climbs out, and by a symlink planted where the file was.
        entry["file"] = "../../../../outside/secret.parquet"
        write_json(manifest_file, manifest)
        assert not list(read_events(event_sources(ws))) or log == "inference"
        assert _everything(ws, log) == b""
        entry["file"] = f"date={day}/part-9.parquet"
        write_json(manifest_file, manifest)
        inside.with_name("part-9.parquet").symlink_to(secret)
        assert _everything(ws, log) == b""
    con = duckdb.connect()
    try:
        assert con.execute(f"SELECT count(*) FROM ({inference_sql(ws)})").fetchone() == (0,)
    finally:
        con.close()


def _newest_per_run(pairs: Any) -> dict[str, str]:
    newest: dict[str, str] = {}
    for run_id, ts in pairs:
        newest[run_id] = max(newest.get(run_id, ""), ts)
    return newest


def test_when_each_run_last_predicted_is_known_without_opening_the_parquet(
    workspace: Path, monkeypatch: Any
) -> None:
    from core.operations.feedback.inference_log import logged_times, predictions

    ws = Workspace(workspace)
    _populate(ws)
    # Today's file is never compacted: read as lines. r-1's newest is a compacted day's.
    today = ws.inference_dir / f"date={days_ago(0)}" / "o-s.1-today.jsonl"
    today.parent.mkdir(parents=True)
    today.write_text(
        json.dumps({"model": "rain", "run_id": "r-2", "request_id": "q",
                    "ts": f"{days_ago(0)}T23:00:00.000Z"}) + "\n"
    )  # fmt: skip
    expected = _newest_per_run(
        (p["run_id"], p["ts"]) for p in predictions(ws, "rain") if p.get("ts")
    )
    assert set(expected) == {"r-1", "r-2"} and expected["r-1"] == f"{days_ago(2)}T11:00:02.000Z"
    compact(ws, prune=True, grace_s=0)

    def no_parquet(*_args: Any) -> dict[str, bytes]:
        raise AssertionError("read the Parquet")

    monkeypatch.setattr(log_archive, "archived_lines", no_parquet)
    assert _newest_per_run(logged_times(ws, "rain")) == expected
    assert list(logged_times(ws, "snow")) == []


@pytest.mark.parametrize("pruned", [True, False])
def test_a_withdrawn_file_is_read_by_nobody_until_it_is_put_back(
    workspace: Path, pruned: bool
) -> None:
    """`withdraw` (what `sunset removal-list --apply` calls once a file is archived, pruned
    or still on disk): its compacted lines leave the views and the line readers alike, the
    other file of the day stays; a file put back under its name is read whole again, once."""
    from core.lens.store import run_query

    ws = Workspace(workspace)
    day = days_ago(20)
    for session, n in (("s-0", 0), ("s-0", 1), ("s-1", 2)):
        write_event(ws, day, session, n)
    compact(ws, grace_s=0)
    gone = ws.events_dir / f"date={day}" / "s-0.jsonl"
    if pruned:
        compact(ws, prune=True, grace_s=0)
        assert not gone.exists()
    kept = log_archive.log_sources(ws, "events", ws.events_dir)
    saved = next(s.data() for s in kept if s.name == "s-0.jsonl")
    gone.unlink(missing_ok=True)  # moved to the archive

    def counted() -> tuple[list[int], list[int]]:
        sql = "SELECT CAST(data->>'n' AS INT) FROM events ORDER BY 1"
        viewed = [int(r[0]) for r in run_query(ws, sql).rows]
        read = sorted(int(e["data"]["n"]) for e in read_events(event_sources(ws)))
        return viewed, read

    assert counted() == ([0, 1, 2], [0, 1, 2])
    assert log_archive.withdraw(ws, "events", [f"date={day}/s-0.jsonl"], "rm-test") == 1
    assert log_archive.withdraw(ws, "events", [f"date={day}/s-0.jsonl"], "rm-test") == 0
    assert counted() == ([2], [2])
    gone.parent.mkdir(parents=True, exist_ok=True)
    gone.write_bytes(saved)  # put back before any compaction: read whole, once
    assert counted() == ([0, 1, 2], [0, 1, 2])
    # Never read from the Parquet, not even should it vanish while being read.
    assert [s.parquet for s in event_sources(ws) if s.name == "s-0.jsonl"] == [None]
    gone.unlink()
    compact(ws, grace_s=0)  # rewrites the day without them
    assert counted() == ([2], [2])
    gone.write_bytes(saved)  # put back from the archive
    assert counted() == ([0, 1, 2], [0, 1, 2])
    compact(ws, grace_s=0)
    assert counted() == ([0, 1, 2], [0, 1, 2])


def test_a_big_pruned_partition_is_read_a_file_at_a_time(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory holds the file being read, never the partition, once the partition's files held
    more than `WHOLE_PARTITION_BYTES`; under it the partition is read once, whole."""
    ws = Workspace(workspace)
    day = days_ago(20)
    for session in ("s-0", "s-1", "s-2"):
        for n in range(4):
            write_event(ws, day, session, n)
    compact(ws, grace_s=0)
    compact(ws, prune=True, grace_s=0)
    write_event(ws, day, "late", 0)  # a file on disk beside the pruned ones
    sources = [s for s in event_sources(ws) if s.path is None]
    assert len(sources) == 3
    size = sum(len(s.data()) for s in sources)
    assert [s.partition_bytes for s in event_sources(ws)] == [size] * 4

    log_archive._ARCHIVED.clear()
    monkeypatch.setattr(log_archive, "WHOLE_PARTITION_BYTES", size - 1)
    for source in event_sources(ws):
        assert source.data().count(b"\n") == (1 if source.name == "late.jsonl" else 4)
        assert log_archive._ARCHIVED == {}  # no partition was loaded whole
    monkeypatch.setattr(log_archive, "WHOLE_PARTITION_BYTES", size)
    read = [s.data() for s in event_sources(ws) if s.path is None]
    assert len(log_archive._ARCHIVED) == 1 and all(r.count(b"\n") == 4 for r in read)
