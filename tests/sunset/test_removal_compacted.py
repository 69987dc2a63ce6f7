"""`sunset removal-list --apply` on a pruned inference log (adrs/0036): the retired run's
predictions live only in the compacted Parquet. The removal lists that file, writes its lines
to the archive byte for byte, and withdraws them from the compacted log: the `inference`
view, `perf`, feedback's line readers and the manifest's digest no longer see them, and the
next `factory compact` rewrites the partition without them. A kill -9 after any step is
completed by the next `--apply`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.foundation import log_archive
from core.foundation.workspace import Workspace
from core.lens.compaction.compact import compact
from core.lens.store import run_query
from core.operations.feedback.inference_log import file_predictions, inference_sources
from tests.feedback.conftest import CUTOFF
from tests.sunset.test_removal import _retire_private

DAY = "2026-11-10"


def _count(ws: Workspace, run_id: str) -> int:
    sql = f"SELECT count(*) AS n FROM inference WHERE run_id = '{run_id}'"
    return int(run_query(ws, sql).rows[0][0])


def _logged_runs(ws: Workspace) -> dict[str, int]:
    found: dict[str, int] = {}
    for source in inference_sources(ws):
        for line in file_predictions(source):
            found[str(line.get("run_id"))] = found.get(str(line.get("run_id")), 0) + 1
    return found


def _predict_and_prune(su: dict[str, Any]) -> tuple[str, bytes]:
    """run_p scores on DAY; the day is compacted and its JSONL pruned."""
    done = su["run"](
        "predict", "rain", "--input", "input.csv", "--tier", "dev", "--run", su["run_p"],
        "--from", CUTOFF, env={"FACTORY_NOW": f"{DAY}T12:00:00Z"},
    )  # fmt: skip
    assert done.code == 0, done.stdout + done.stderr
    ws = Workspace(su["root"])
    files = sorted((ws.inference_dir / f"date={DAY}").glob("*.jsonl"))
    assert len(files) == 1
    rel = files[0].relative_to(su["root"]).as_posix()
    written = files[0].read_bytes()
    compact(ws, prune=True, grace_s=0, keep_days=0)
    assert not files[0].exists()  # its lines live only in the Parquet now
    return rel, written


@pytest.mark.slow
def test_a_pruned_file_of_a_retired_run_is_archived_and_withdrawn(su: dict[str, Any]) -> None:
    ws = Workspace(su["root"])
    rel, written = _predict_and_prune(su)
    predicted = _count(ws, su["run_p"])
    kept = _count(ws, su["run_a"])
    assert predicted == written.count(b'"request_id"') > 0 and kept > 0
    assert _logged_runs(ws)[su["run_p"]] == predicted
    _retire_private(su)

    listed = su["run"]("sunset", "removal-list", "rain")
    assert listed.code == 0, listed.stdout + listed.stderr
    logs = [i for i in listed.doc["data"]["remove"] if i["kind"] == "log"]
    assert [(i["paths"], i["bytes"]) for i in logs] == [([rel], len(written))]

    done = su["run"]("sunset", "removal-list", "rain", "--apply")
    assert done.code == 0, done.stdout + done.stderr
    folder = (su["root"] / done.doc["data"]["manifest"]).parent
    assert (folder / "files" / rel).read_bytes() == written
    moved = {f["source"]: f for f in json.loads((folder / "manifest.json").read_text())["files"]}
    assert moved[rel]["bytes"] == len(written)

    # Out of every reader's sight; the runs that stay are untouched.
    assert _count(ws, su["run_p"]) == 0 and _count(ws, su["run_a"]) == kept
    assert su["run_p"] not in _logged_runs(ws)
    perf = run_query(ws, f"SELECT count(*) FROM perf WHERE run_id = '{su['run_p']}'")
    assert perf.rows[0][0] == 0
    entry = log_archive.read_manifest(ws, "inference")["partitions"][DAY]  # type: ignore[index]
    assert su["run_p"] not in entry.get("digest", {}).get("rain", {})
    again = su["run"]("sunset", "removal-list", "rain")
    assert [i for i in again.doc["data"]["remove"] if i["kind"] == "log"] == []

    # The next compaction drops the rows for good, and the answers stay.
    compact(ws, grace_s=0)
    entry = log_archive.read_manifest(ws, "inference")["partitions"][DAY]  # type: ignore[index]
    assert rel.rsplit("/", 1)[1] not in entry["sources"]  # not even as an empty pruned file
    raw = log_archive.archived_lines(log_archive.compacted_root(ws, "inference") / entry["file"])
    assert not any(su["run_p"].encode() in lines for lines in raw.values())
    assert _count(ws, su["run_p"]) == 0 and _count(ws, su["run_a"]) == kept


@pytest.mark.slow
@pytest.mark.parametrize("point", ["removal.after_step", "removal.after_withdraw"])
def test_an_apply_killed_around_the_withdrawal_is_completed(su: dict[str, Any], point: str) -> None:
    ws = Workspace(su["root"])
    rel, written = _predict_and_prune(su)
    _retire_private(su)
    killed = su["run"]("sunset", "removal-list", "rain", "--apply", env={"FACTORY_CRASH_AT": point})
    assert killed.code == -9, killed.stdout + killed.stderr
    done = su["run"]("sunset", "removal-list", "rain", "--apply")
    assert done.code == 0, done.stdout + done.stderr
    assert len(done.doc["data"]["completed"]) == 1
    assert _count(ws, su["run_p"]) == 0
    archived = list((su["root"] / "archive" / "removals").glob(f"rm-*/files/{rel}"))
    assert [p.read_bytes() for p in archived] == [written]


@pytest.mark.slow
def test_a_new_file_that_took_a_pruned_name_goes_and_the_pruned_one_stays(
    su: dict[str, Any],
) -> None:
    """The pruned file of a name holds predictions of run A, which stays; a newer file on disk
    under the same name holds the retired run's. Only the newer one goes: the pruned lines
    of that name are not withdrawn with it."""
    ws = Workspace(su["root"])
    done = su["run"](
        "predict", "rain", "--input", "input.csv", "--tier", "dev", "--run", su["run_p"],
        "--from", CUTOFF, env={"FACTORY_NOW": f"{DAY}T12:00:00Z"},
    )  # fmt: skip
    assert done.code == 0, done.stdout + done.stderr
    [path] = sorted((ws.inference_dir / f"date={DAY}").glob("*.jsonl"))
    retired = path.read_bytes()
    batch = path.stem.encode()  # the batch id, in every line: run A's batch is another
    path.write_bytes(
        retired.replace(su["run_p"].encode(), su["run_a"].encode()).replace(batch, batch + b"a")
    )
    before_a = _count(ws, su["run_a"])
    compact(ws, prune=True, grace_s=0, keep_days=0)
    assert not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(retired)  # a new file takes the pruned one's name
    moved_a = _count(ws, su["run_a"])
    assert moved_a == before_a and _count(ws, su["run_p"]) > 0
    _retire_private(su)

    listed = su["run"]("sunset", "removal-list", "rain")
    logs = [i for i in listed.doc["data"]["remove"] if i["kind"] == "log"]
    assert [i["paths"] for i in logs] == [[path.relative_to(su["root"]).as_posix()]]
    applied = su["run"]("sunset", "removal-list", "rain", "--apply")
    assert applied.code == 0, applied.stdout + applied.stderr
    assert not path.exists()
    assert _count(ws, su["run_p"]) == 0
    assert _count(ws, su["run_a"]) == before_a  # the pruned lines of the name stay
    compact(ws, grace_s=0)
    assert _count(ws, su["run_a"]) == before_a and _count(ws, su["run_p"]) == 0


@pytest.mark.slow
def test_a_pruned_file_whose_name_a_new_file_took_goes_and_the_new_one_stays(
    su: dict[str, Any],
) -> None:
    """The other way round: the pruned lines of the name are the retired run's and go (listed
    apart, as `<name>~compacted`); the newer file of run A on disk stays, read whole."""
    ws = Workspace(su["root"])
    rel, retired = _predict_and_prune(su)
    path = su["root"] / rel
    batch = path.stem.encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        retired.replace(su["run_p"].encode(), su["run_a"].encode()).replace(batch, batch + b"a")
    )
    with_new = _count(ws, su["run_a"])
    _retire_private(su)

    listed = su["run"]("sunset", "removal-list", "rain")
    logs = [i for i in listed.doc["data"]["remove"] if i["kind"] == "log"]
    assert [i["paths"] for i in logs] == [[rel + "~compacted"]]
    applied = su["run"]("sunset", "removal-list", "rain", "--apply")
    assert applied.code == 0, applied.stdout + applied.stderr
    folder = (su["root"] / applied.doc["data"]["manifest"]).parent
    assert (folder / "files" / (rel + "~compacted")).read_bytes() == retired
    assert path.exists() and _count(ws, su["run_a"]) == with_new
    assert _count(ws, su["run_p"]) == 0
    compact(ws, grace_s=0)
    assert _count(ws, su["run_a"]) == with_new and _count(ws, su["run_p"]) == 0


@pytest.mark.slow
def test_a_compacted_day_whose_digest_names_no_retired_run_is_not_read(
    su: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The listing reads only the compacted days whose digest names a run that goes: a long
    pruned log costs what those days hold, not the whole log."""
    from core.operations.sunset.removal import removal_list

    ws = Workspace(su["root"])
    rel, _written = _predict_and_prune(su)
    other = "2026-11-12"
    done = su["run"](
        "predict", "rain", "--input", "input.csv", "--tier", "dev", "--run", su["run_a"],
        "--from", "2015-09-01", env={"FACTORY_NOW": f"{other}T12:00:00Z"},
    )  # fmt: skip
    assert done.code == 0, done.stdout + done.stderr
    assert list(ws.inference_dir.glob(f"date={other}/*.jsonl"))  # a batch of its own
    compact(ws, prune=True, grace_s=0, keep_days=0)
    assert not list(ws.inference_dir.glob(f"date={other}/*.jsonl"))
    _retire_private(su)

    read: list[str] = []
    data = log_archive.LogSource.data

    def spy(source: log_archive.LogSource) -> bytes:
        read.append(source.date)
        return data(source)

    monkeypatch.setattr(log_archive.LogSource, "data", spy)
    listed = removal_list(Workspace(su["root"]), "rain")
    assert [i.paths for i in listed.remove if i.kind == "log"] == [[rel]]
    assert DAY in read and other not in read
