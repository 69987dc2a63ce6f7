"""Run tables in Parquet: `runs`, `params`, `folds`, `metrics` and `curves` (adrs/0028).

Layout, under `.factory/lens/runs/` (regenerable: reports are the truth):

- `seg-<n>/` a segment: one Parquet file per table (`curves` in parts of `CURVE_PART_RUNS`
  runs), rows sorted by run id so that one run's rows sit in one or two row groups;
- `coverage-<n>.json` which report (by mtime and size) each compacted run came from, and
  the segment holding it;
- `manifest.json` the generation readers follow: its segments, the run ids each segment
  holds but no longer owns (`stale`: a run rewritten or deleted since), the coverage file,
  and the `reports/` folder's mtime when it was listed (`stamp`);
- `listing.json` the last reader's comparison of a later `reports/` with the coverage (which
  runs are newer, which are gone), for the readers after it while the folder stays put.

A view is the union of each segment's rows (less its stale and the runs newer than the
compaction) and the rows of those newer runs, read from their files. Which runs are newer
is known without listing `reports/` when its mtime still equals the stamp (and is older
than `stamps.RACY_NS`); otherwise the listing is compared with the coverage. A run is
counted once: from the one segment that owns it, or from its files, never both.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.foundation import clock, stamps
from core.foundation.atomic import write_text
from core.foundation.faults import crash_point
from core.foundation.log_archive import manifest_at
from core.foundation.workspace import Workspace
from core.lens.compaction import publish
from core.lens.views.runs import (
    TABLES,
    curve_folds_select,
    curves_of_folds,
    reports_source,
    summaries_source,
)
from core.lens.views.sql import empty_select, sql_path

if TYPE_CHECKING:
    import duckdb

    from core.lens.compaction.door import Attachment

FORMAT = 1
CURVE_PART_RUNS = 4000
"""Runs per `curves` file: about 10 million rows at 4 folds x 300 iterations x 2 splits,
sorted in memory in one go while compacting."""
SUMMARY_CHUNK = 20_000
MERGE_RATIO = 4
"""Two newest segments are merged while the older holds at most this many times the runs of
the newer: a binary-counter scheme that keeps about log4(runs / delta) segments."""
AUTO_LOOSE = 100
"""`train` compacts once this many runs are newer than the compaction (a delta of that size
costs about a second; a curves query reads every newer run's report in full)."""
AUTO_MAX_RUNS = 1_000
"""... taking at most this many runs a time, and merging no segment bigger than
`AUTO_MERGE_MAX` runs, so that no train waits long; `factory compact` has no such bound."""
AUTO_MERGE_MAX = 5_000


def root(ws: Workspace) -> Path:
    return ws.state_dir / "lens" / "runs"


def _manifest_path(ws: Workspace) -> Path:
    return root(ws) / "manifest.json"


def read_manifest(ws: Workspace) -> dict[str, Any] | None:
    return manifest_at(_manifest_path(ws), FORMAT)


def _reports_mtime(ws: Workspace) -> int:
    try:
        return ws.reports_dir.stat().st_mtime_ns
    except OSError:
        return 0


def _list_reports(ws: Workspace) -> dict[str, tuple[int, int]]:
    """run id -> (mtime_ns, size) of every regular report file (a symlink is never read)."""
    folder = ws.reports_dir
    if not folder.is_dir() or not folder.resolve().is_relative_to(ws.root.resolve()):
        return {}
    found: dict[str, tuple[int, int]] = {}
    with os.scandir(folder) as entries:
        for entry in entries:
            name = entry.name
            if not (name.startswith("r-") and name.endswith(".json")):
                continue
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            found[name[:-5]] = (info.st_mtime_ns, info.st_size)
    return found


def _read_coverage(ws: Workspace, manifest: dict[str, Any] | None) -> dict[str, list[Any]]:
    if not manifest or not manifest.get("coverage"):
        return {}
    try:
        data = json.loads((root(ws) / str(manifest["coverage"])).read_bytes())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass
class RunState:
    """What a reader of one manifest generation sees."""

    manifest: dict[str, Any] | None
    loose: list[str] = field(default_factory=list)
    """Runs whose rows come from their files: not compacted, or rewritten since."""
    gone: set[str] = field(default_factory=set)
    """Compacted runs to leave out of every segment: rewritten or deleted since."""


LISTING = "listing.json"
"""The last reader's comparison of `reports/` with the coverage, for the readers after it."""


def current_state(ws: Workspace) -> RunState:
    """The manifest and the runs newer than it (listing `reports/` only when its mtime moved
    since the compaction, or the last reader, listed it)."""
    manifest = read_manifest(ws)
    stamp = _reports_mtime(ws)
    settled = bool(stamp) and stamps.settled(stamp)
    if manifest is not None and manifest.get("stamp") == stamp and settled:
        return RunState(manifest)
    key = _listing_key(manifest, stamp)
    if settled:
        known = _read_listing(ws, key)
        if known is not None:
            return RunState(manifest, known[0], known[1])
    reports = _list_reports(ws)
    coverage = _read_coverage(ws, manifest)
    loose = sorted(
        run for run, stat in reports.items() if list(coverage.get(run, [])[:2]) != list(stat)
    )
    loose_set = set(loose)
    gone = {run for run in coverage if run not in reports or run in loose_set}
    if settled and _reports_mtime(ws) == stamp:
        _write_listing(ws, key, loose, gone)
    return RunState(manifest, loose, gone)


def _listing_key(manifest: dict[str, Any] | None, stamp: int) -> dict[str, Any]:
    """What a listing was compared against: one manifest generation and one `reports/`
    mtime. The same trust as the manifest's own stamp (a report created, removed or
    replaced by rename moves the folder's mtime), kept by the reader that paid for the
    listing: at 100,000 runs the listing and the coverage take about 0.9 s."""
    manifest = manifest or {}
    return {
        "generation": manifest.get("generation"),
        "coverage": manifest.get("coverage"),
        "stamp": stamp,
    }


def _read_listing(ws: Workspace, key: dict[str, Any]) -> tuple[list[str], set[str]] | None:
    try:
        data = json.loads((root(ws) / LISTING).read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    loose, gone = data.get("loose"), data.get("gone")
    if not isinstance(loose, list) or not isinstance(gone, list):
        return None
    # Run ids become report paths: only names a listing of reports/ could have produced.
    if not all(_run_name(r) for r in loose + gone):
        return None
    return list(loose), set(gone)


def _run_name(value: object) -> bool:
    return isinstance(value, str) and value.startswith("r-") and value == Path(value).name


def _write_listing(ws: Workspace, key: dict[str, Any], loose: list[str], gone: set[str]) -> None:
    folder = root(ws)
    if not folder.is_dir():
        return  # never compacted: nothing to keep beside
    record = {"key": key, "loose": loose, "gone": sorted(gone)}
    with contextlib.suppress(OSError):  # a read-only workspace lists again next time
        write_text(folder / LISTING, json.dumps(record, separators=(",", ":")))


# ----------------------------------------------------------------------------- reading


def _summary_files(ws: Workspace, runs: list[str]) -> list[Path]:
    """The summaries of `runs`, rebuilt from their reports where missing (a fresh clone)."""
    from core.experiments.index import read_summaries, summaries_dir

    folder = summaries_dir(ws)
    paths = [folder / f"{run}.json" for run in runs]
    if any(not p.is_file() for p in paths):
        read_summaries(ws)
    return [p for p in paths if p.is_file() and not p.is_symlink()]


def run_table_sql(ws: Workspace, attachment: Attachment, table: str) -> str:
    """The SELECT of run view `table` for one connection: compacted segments (through the
    attachment's door) and the newer runs (loaded now, before the lock)."""
    columns, select, _order = TABLES[table]
    state = attachment.memo("runs-state", lambda: current_state(ws))
    names = ", ".join(f'"{c}"' for c in columns)
    parts: list[str] = []
    manifest = state.manifest or {}
    for segment in manifest.get("segments") or []:
        files = attachment.readable([root(ws) / str(name) for name in segment["files"][table]])
        if not files:
            continue
        excluded = sorted(set(segment.get("stale") or []) | state.gone)
        where = _not_in(attachment, excluded)
        parts.append(f"SELECT {names} FROM {attachment.parquet(files)}{where}")
    if state.loose and table == "curves":
        reports = [ws.reports_dir / f"{run}.json" for run in state.loose]
        folds = attachment.table(curve_folds_select(reports_source(reports)))
        parts.append(f"SELECT {names} FROM ({curves_of_folds(folds)})")
    elif state.loose:
        summaries = _summary_files(ws, state.loose)
        if summaries:
            loaded = attachment.table(
                f"SELECT {names} FROM ({select(summaries_source(summaries))})"
            )
            parts.append(f"SELECT {names} FROM {loaded}")
    if not parts:
        return empty_select(columns)
    return " UNION ALL ".join(parts)


def _not_in(attachment: Attachment, runs: list[str]) -> str:
    if not runs:
        return ""
    if len(runs) <= 200:
        return " WHERE run_id NOT IN (" + ", ".join(sql_path(Path(r)) for r in runs) + ")"
    values = ", ".join(f"({sql_path(Path(r))})" for r in runs)
    loaded = attachment.table(f"SELECT * FROM (VALUES {values}) AS t(run_id)")
    return f" WHERE run_id NOT IN (SELECT run_id FROM {loaded})"


# ----------------------------------------------------------------------------- compacting


@dataclass(frozen=True)
class RunCompaction:
    """What one compaction of the run tables did."""

    generation: int
    """The manifest generation published (unchanged when there was nothing to do)."""
    runs: int
    """Runs the compaction holds now."""
    compacted: int
    """Runs read from their files into a new segment by this call."""
    merged: int
    """Merges of two segments into one done by this call."""
    segments: int
    dropped: int
    """Compacted runs left out from now on: their report was rewritten or deleted."""
    skipped: bool = False
    """Another compactor held the lock (only when asked not to wait)."""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _connection() -> duckdb.DuckDBPyConnection:
    import duckdb

    return duckdb.connect(
        ":memory:",
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
    )


def _copy(con: duckdb.DuckDBPyConnection, select: str, order: str, target: Path) -> None:
    con.execute(
        f"COPY ({select} ORDER BY {order}) TO {sql_path(target)} "
        "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100000)"
    )


def _write_segment(
    ws: Workspace, folder: Path, runs: list[str], source_segments: list[dict[str, Any]]
) -> dict[str, list[str]]:
    """Fill `folder` with the tables of `runs`: from their files when `source_segments` is
    empty, else from those segments' Parquet (a merge). Returns table -> file names."""
    con = _connection()
    try:
        con.execute("SET preserve_insertion_order = false")
        if source_segments:
            return _merge_tables(ws, con, folder, runs, source_segments)
        files: dict[str, list[str]] = {}
        summaries = [summaries_dir_of(ws) / f"{run}.json" for run in runs]
        con.execute(f"CREATE TEMP TABLE summaries AS SELECT * FROM {summaries_source(summaries)}")
        for table, (columns, select, order) in TABLES.items():
            names = _names(columns)
            if table == "curves":
                files[table] = []
                for k, chunk in enumerate(_chunks(runs, CURVE_PART_RUNS)):
                    reports = [ws.reports_dir / f"{run}.json" for run in chunk]
                    name = f"curves-{k}.parquet"
                    source = reports_source(reports)
                    _copy(con, f"SELECT {names} FROM ({select(source)})", order, folder / name)
                    files[table].append(name)
                continue
            name = f"{table}.parquet"
            _copy(con, f"SELECT {names} FROM ({select('summaries')})", order, folder / name)
            files[table] = [name]
        return files
    finally:
        con.close()


def _merge_tables(
    ws: Workspace,
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    runs: list[str],
    source_segments: list[dict[str, Any]],
) -> dict[str, list[str]]:
    files: dict[str, list[str]] = {}
    for table, (columns, _select, order) in TABLES.items():
        sources = [root(ws) / str(n) for seg in source_segments for n in seg["files"][table]]
        paths = "[" + ", ".join(sql_path(p) for p in sources) + "]"
        chunks = _chunks(runs, CURVE_PART_RUNS) if table == "curves" else [runs]
        files[table] = []
        for k, chunk in enumerate(chunks):
            con.execute(
                "CREATE OR REPLACE TEMP TABLE part AS SELECT unnest($r) AS run_id", {"r": chunk}
            )
            name = f"{table}-{k}.parquet" if table == "curves" else f"{table}.parquet"
            # The range lets row-group statistics skip the parts of other chunks.
            select = (
                f"SELECT {_names(columns)} FROM read_parquet({paths}) "
                f"WHERE run_id BETWEEN {sql_path(Path(chunk[0]))} AND {sql_path(Path(chunk[-1]))} "
                "AND run_id IN (SELECT run_id FROM part)"
            )
            _copy(con, select, order, folder / name)
            files[table].append(name)
    return files


def _names(columns: dict[str, str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def summaries_dir_of(ws: Workspace) -> Path:
    from core.experiments.index import summaries_dir

    return summaries_dir(ws)


def _with_summaries(
    ws: Workspace, runs: list[str], reports: dict[str, tuple[int, int]]
) -> list[str]:
    """`runs` whose summary is on disk and not older than the report (rewritten from the
    report when it is); a run whose report cannot be read stays out (and loose)."""
    from core.experiments.index import write_summary

    folder = summaries_dir_of(ws)
    kept = []
    for run in runs:
        path = folder / f"{run}.json"
        try:
            fresh = path.stat().st_mtime_ns >= reports[run][0] and not path.is_symlink()
        except OSError:
            fresh = False
        if not fresh:
            try:
                report = json.loads((ws.reports_dir / f"{run}.json").read_bytes())
            except (OSError, ValueError):
                continue
            if not isinstance(report, dict) or report.get("run_id") != run:
                continue
            try:
                write_summary(ws, report)
            except OSError:
                continue
        kept.append(run)
    return kept


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


def compact_runs(
    ws: Workspace,
    *,
    wait: bool = True,
    max_runs: int | None = None,
    merge_max: int | None = None,
    grace_s: float = publish.GRACE_S,
) -> RunCompaction:
    """Compact the runs newer than the current generation into a new segment, merge small
    segments, publish the new generation. Idempotent: with nothing new, nothing is written.
    `max_runs` bounds the runs taken in one call and `merge_max` the merges (for `train`)."""
    started = time.perf_counter()
    with publish.exclusive(root(ws) / "compact.lock", wait=wait) as held:
        if not held:
            manifest = read_manifest(ws) or {}
            return RunCompaction(
                int(manifest.get("generation") or 0),
                int(manifest.get("runs") or 0),
                0,
                0,
                len(manifest.get("segments") or []),
                0,
                skipped=True,
            )
        return _compact_locked(ws, max_runs, merge_max, grace_s, started)


def _compact_locked(
    ws: Workspace,
    max_runs: int | None,
    merge_max: int | None,
    grace_s: float,
    started: float,
) -> RunCompaction:
    base = root(ws)
    manifest = read_manifest(ws)
    generation = int(manifest["generation"]) if manifest else 0
    stamp = _reports_mtime(ws)
    settled = bool(stamp) and stamps.settled(stamp)
    reports = _list_reports(ws)
    coverage = _read_coverage(ws, manifest)
    segments: list[dict[str, Any]] = [dict(s) for s in (manifest or {}).get("segments") or []]
    # A segment with a file gone (deleted by hand) is dropped: its runs are compacted again.
    damaged = {
        str(seg["id"])
        for seg in segments
        if any(not (base / str(n)).is_file() for names in seg["files"].values() for n in names)
    }
    if damaged:
        segments = [seg for seg in segments if seg["id"] not in damaged]
        coverage = {run: entry for run, entry in coverage.items() if entry[2] not in damaged}
    loose = sorted(
        run for run, stat in reports.items() if list(coverage.get(run, [])[:2]) != list(stat)
    )
    loose_set = set(loose)
    dropped = {run for run in coverage if run not in reports or run in loose_set}
    complete = max_runs is None or len(loose) <= max_runs
    taken = _with_summaries(ws, loose if complete else loose[:max_runs], reports)
    complete = complete and len(taken) == len(loose)
    new_coverage = {k: v for k, v in coverage.items() if k not in dropped}
    owners: dict[str, set[str]] = {}
    for run in dropped:
        owners.setdefault(str(coverage[run][2]), set()).add(run)
    for seg in segments:
        stale = set(seg.get("stale") or []) | owners.get(seg["id"], set())
        seg["stale"] = sorted(stale)
    retired: list[str] = sorted(damaged)
    next_seg = int((manifest or {}).get("next_segment") or 1)
    if taken:
        seg_id = f"seg-{next_seg}"
        next_seg += 1
        publish.discard_orphan(base / seg_id)
        tmp = publish.fresh_folder(base)
        files = _named(seg_id, _write_segment(ws, tmp, taken, []))
        publish.place(tmp, base / seg_id)
        crash_point("compact.segment_placed", seg_id)
        segments.append({"id": seg_id, "runs": len(taken), "files": files, "stale": []})
        for run in taken:
            new_coverage[run] = [*reports[run], seg_id]
    merged = 0
    while len(segments) >= 2 and _mergeable(segments[-2], segments[-1], merge_max):
        older, newer = segments[-2], segments[-1]
        pair = (older["id"], newer["id"])
        owned = sorted(run for run, entry in new_coverage.items() if entry[2] in pair)
        seg_id = f"seg-{next_seg}"
        next_seg += 1
        publish.discard_orphan(base / seg_id)
        tmp = publish.fresh_folder(base)
        files = _named(seg_id, _write_segment(ws, tmp, owned, [older, newer]))
        publish.place(tmp, base / seg_id)
        crash_point("compact.segment_placed", seg_id)
        segments[-2:] = [{"id": seg_id, "runs": len(owned), "files": files, "stale": []}]
        for run in owned:
            new_coverage[run] = [*new_coverage[run][:2], seg_id]
        retired += [older["id"], newer["id"]]
        merged += 1
    # A segment whose every run is stale holds nothing: retire it.
    for seg in list(segments):
        if seg["stale"] and len(seg["stale"]) >= seg["runs"]:
            segments.remove(seg)
            retired.append(seg["id"])
    changed = bool(taken or dropped or merged or retired)
    new_stamp = stamp if settled and complete else None
    if not changed and manifest is not None and manifest.get("stamp") == new_stamp:
        publish.collect(base, manifest, grace_s)
        return RunCompaction(
            generation,
            len(coverage),
            0,
            0,
            len(segments),
            0,
            seconds=round(time.perf_counter() - started, 3),
        )
    generation += 1
    if changed or manifest is None or not manifest.get("coverage"):
        coverage_name = f"coverage-{generation}.json"
        write_text(base / coverage_name, json.dumps(new_coverage, separators=(",", ":")))
    else:
        coverage_name = str(manifest["coverage"])  # only the stamp is new
    new_manifest: dict[str, Any] = {
        "format": FORMAT,
        "generation": generation,
        "published_at": clock.iso(),
        "stamp": new_stamp,
        "runs": len(new_coverage),
        "coverage": coverage_name,
        "next_segment": next_seg,
        "segments": segments,
        "retired": list((manifest or {}).get("retired") or []),
    }
    if manifest and manifest.get("coverage") and manifest["coverage"] != coverage_name:
        retired.append(str(manifest["coverage"]))
    publish.retire(new_manifest, retired)
    publish.publish(_manifest_path(ws), new_manifest)
    crash_point("compact.published", "runs")
    publish.collect(base, new_manifest, grace_s)
    return RunCompaction(
        generation,
        len(new_coverage),
        len(taken),
        merged,
        len(segments),
        len(dropped),
        seconds=round(time.perf_counter() - started, 3),
    )


def _named(seg_id: str, files: dict[str, list[str]]) -> dict[str, list[str]]:
    """File names as the manifest keeps them: relative to the lens folder."""
    return {table: [f"{seg_id}/{name}" for name in names] for table, names in files.items()}


def _mergeable(older: dict[str, Any], newer: dict[str, Any], merge_max: int | None) -> bool:
    if merge_max is not None and older["runs"] + newer["runs"] > merge_max:
        return False
    return bool(older["runs"] <= MERGE_RATIO * newer["runs"])


def loose_count(ws: Workspace) -> int:
    """Runs newer than the compaction (cheap: one listing, no stat when nothing moved)."""
    state = current_state(ws)
    return len(state.loose)
