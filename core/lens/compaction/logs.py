"""Log families in Parquet: closed date partitions of an append-only JSONL log (adrs/0028).

A family is a folder of Hive date partitions (`<folder>/date=YYYY-MM-DD/*.jsonl`), the
columns its lines carry and the condition a whole line meets (a torn last line reads as an
all-null row). Events are one family; inference lines another (`families.families()`).

Compacted partitions live beside the log, not in `.factory/`, because once the JSONL is
pruned they are the only copy: `logs/compacted/<family>/date=D/part-<n>.parquet`, one file
per partition, each row tagged with its source file (`_source`, `date=D/<file>`), and
`logs/compacted/<family>/manifest.json` naming, per partition, its file and the size each
source file had when it was listed for the compaction.

A reader of one manifest takes a partition's Parquet, plus every JSONL file the manifest
does not account for, by these rules (a file "covered" has the size the manifest recorded):
- covered: its lines are in the Parquet, the file is skipped;
- larger than recorded (lines appended after the listing): the Parquet rows of that file
  are left out and the whole file is read;
- not listed, smaller than recorded, or recorded as pruned (a new file by that name): the
  whole file is read, the Parquet rows kept;
- recorded but absent (pruned): the Parquet holds its lines.
So every line is counted once: from the Parquet or from its file. Today's partition (UTC,
`core.foundation.clock`) is never compacted: writers are still appending to it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.foundation import clock
from core.foundation.faults import crash_point
from core.foundation.workspace import Workspace
from core.lens.compaction import publish
from core.lens.views.sql import empty_select, sql_path, sql_paths

if TYPE_CHECKING:
    import duckdb

    from core.lens.compaction.door import Attachment

FORMAT = 1
SOURCE = "_source"


@dataclass(frozen=True)
class LogFamily:
    """One append-only log in date partitions, as the views read it."""

    name: str
    folder: Callable[[Workspace], Path]
    columns: dict[str, str]
    """Column -> DuckDB type of each line (`read_json(columns=...)`)."""
    keep: str
    """SQL condition of a whole line (a torn line reads as an all-null row)."""
    pattern: str = "*.jsonl"
    partition_column: bool = True
    """Rows carry the partition's date as a `date` VARCHAR column (Hive partitioning)."""
    prunable: bool = True
    """`--prune` may delete its compacted JSONL: only when every reader of the log reads
    the compacted Parquet too."""

    def row_columns(self) -> dict[str, str]:
        return {**self.columns, "date": "VARCHAR"} if self.partition_column else dict(self.columns)


def compacted_root(ws: Workspace, family: LogFamily) -> Path:
    return ws.logs_dir / "compacted" / family.name


def _manifest_path(ws: Workspace, family: LogFamily) -> Path:
    return compacted_root(ws, family) / "manifest.json"


def read_manifest(ws: Workspace, family: LogFamily) -> dict[str, Any] | None:
    return publish.read_manifest(_manifest_path(ws, family), FORMAT)


def _inside(ws: Workspace, path: Path) -> bool:
    try:
        return path.resolve(strict=True).is_relative_to(ws.root.resolve())
    except (OSError, RuntimeError):
        return False


def partitions(ws: Workspace, family: LogFamily) -> dict[str, dict[str, int]]:
    """date -> {file name: size} of the family's JSONL files: regular files inside the
    workspace only (a planted symlink, to a file or a partition, is never read)."""
    folder = family.folder(ws)
    if not folder.is_dir() or not _inside(ws, folder):
        return {}
    found: dict[str, dict[str, int]] = {}
    for part in sorted(folder.iterdir()):
        if not part.name.startswith("date=") or part.is_symlink() or not part.is_dir():
            continue
        files: dict[str, int] = {}
        for path in part.glob(family.pattern):
            if path.name.startswith("."):
                continue  # a writer's temporary file
            with contextlib.suppress(OSError):
                info = path.lstat()
                if path.is_file() and not path.is_symlink():
                    files[path.name] = info.st_size
        found[part.name[5:]] = files
    return found


@dataclass
class LogState:
    """What a reader of one manifest generation reads."""

    manifest: dict[str, Any] | None
    parquet: list[Path] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    """`_source` values whose Parquet rows are left out (their file grew since)."""
    loose: list[Path] = field(default_factory=list)
    """JSONL files read whole."""


def _split(
    entry: dict[str, Any] | None, files: dict[str, int], date: str
) -> tuple[list[str], list[str]]:
    """(file names to read whole, `_source` values to leave out of the Parquet) for one
    partition, by the rules of this module's docstring."""
    if entry is None:
        return sorted(files), []
    sources = entry.get("sources") or {}
    loose, excluded = [], []
    for name, size in sorted(files.items()):
        recorded = sources.get(name)
        if not isinstance(recorded, dict) or recorded.get("pruned"):
            loose.append(name)
        elif size > int(recorded.get("size") or 0):
            loose.append(name)
            excluded.append(f"date={date}/{name}")
        elif size < int(recorded.get("size") or 0):
            loose.append(name)
    return loose, excluded


def current_state(ws: Workspace, family: LogFamily) -> LogState:
    manifest = read_manifest(ws, family)
    state = LogState(manifest)
    folder = family.folder(ws)
    entries = (manifest or {}).get("partitions") or {}
    on_disk = partitions(ws, family)
    base = compacted_root(ws, family)
    for date in sorted(set(on_disk) | set(entries)):
        entry = entries.get(date)
        if entry is not None:
            state.parquet.append(base / str(entry["file"]))
        loose, excluded = _split(entry, on_disk.get(date, {}), date)
        state.loose.extend(folder / f"date={date}" / name for name in loose)
        state.excluded.extend(excluded)
    return state


def json_select(family: LogFamily, files: list[Path], source: bool = False) -> str:
    """The family's rows of JSONL `files` (torn lines dropped); with `source`, each row's
    `_source` (`date=D/<file>`) too."""
    columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in family.columns.items()) + "}"
    names = ", ".join(f'"{c}"' for c in family.row_columns())
    extra = ", regexp_extract(filename, '(date=[^/]+/[^/]+)$', 1) AS " + SOURCE if source else ""
    hive = "true" if family.partition_column else "false"
    return (
        f"SELECT {names}{extra} FROM read_json({sql_paths(files)}, format='newline_delimited', "
        f"columns={columns}, ignore_errors=true, hive_partitioning={hive}, "
        f"hive_types_autocast=false, filename=true) WHERE {family.keep}"
    )


def log_rows_sql(ws: Workspace, attachment: Attachment, family: LogFamily) -> str:
    """The SELECT of every line of `family` for one connection: compacted partitions
    (lazy, through the door) and the JSONL files the manifest does not account for (loaded
    into memory now, before the lock)."""
    state = attachment.memo(f"log-{family.name}", lambda: current_state(ws, family))
    row_columns = family.row_columns()
    typed = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in row_columns.items())
    parts = []
    compacted = attachment.readable(state.parquet)
    if compacted:
        where = ""
        if state.excluded:
            listed = ", ".join(sql_path(Path(s)) for s in state.excluded)
            where = f" WHERE {SOURCE} NOT IN ({listed})"
        parts.append(f"SELECT {typed} FROM {attachment.parquet(compacted)}{where}")
    if state.loose:
        loaded = attachment.table(json_select(family, state.loose))
        names = ", ".join(f'"{c}"' for c in row_columns)
        parts.append(f"SELECT {names} FROM {loaded}")
    if not parts:
        return empty_select(row_columns)
    return " UNION ALL ".join(parts)


# ----------------------------------------------------------------------------- compacting


@dataclass(frozen=True)
class LogCompaction:
    """What one compaction of a log family did."""

    family: str
    generation: int
    partitions: int
    """Date partitions compacted (or compacted again) by this call."""
    rows: int
    """Rows written into those partitions' Parquet."""
    pruned: int
    """JSONL files deleted (`prune`): their lines are in the published Parquet."""
    compacted_partitions: int
    """Partitions the manifest holds now."""
    skipped: bool = False
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _connection() -> duckdb.DuckDBPyConnection:
    import duckdb

    return duckdb.connect(
        ":memory:",
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
    )


def _compact_partition(
    ws: Workspace,
    family: LogFamily,
    date: str,
    files: dict[str, int],
    entry: dict[str, Any] | None,
    generation: int,
    target: Path,
) -> tuple[dict[str, Any], int]:
    """Write partition `date`'s Parquet to `target`: the previous Parquet's rows (less
    those of grown files; those of pruned names read again renamed), plus the files the
    manifest did not account for. Returns (its manifest entry, rows)."""
    loose, excluded = _split(entry, files, date)
    sources: dict[str, Any] = {}
    relabel: dict[str, str] = {}
    grown = {s.rsplit("/", 1)[1] for s in excluded}
    if entry is not None:
        for name, recorded in (entry.get("sources") or {}).items():
            if name in files and name in loose and name not in grown:
                # A new file took a recorded file's name (pruned, or smaller than it was):
                # the old rows keep their lines under a name of their own.
                new = f"{name}~{generation}"
                relabel[f"date={date}/{name}"] = f"date={date}/{new}"
                sources[new] = {"size": recorded.get("size"), "pruned": True}
            elif name not in files:
                sources[name] = {"size": recorded.get("size"), "pruned": True}
            else:
                sources[name] = recorded
    for name in loose:
        sources[name] = {"size": files[name], "pruned": False}
    folder = family.folder(ws) / f"date={date}"
    row_columns = family.row_columns()
    typed = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in row_columns.items())
    parts = []
    if entry is not None:
        old = compacted_root(ws, family) / str(entry["file"])
        label: str = SOURCE
        if relabel:
            cases = " ".join(
                f"WHEN {sql_path(Path(a))} THEN {sql_path(Path(b))}" for a, b in relabel.items()
            )
            label = f"CASE {SOURCE} {cases} ELSE {SOURCE} END"
        where = ""
        if excluded:
            where = (
                " WHERE "
                + SOURCE
                + " NOT IN ("
                + ", ".join(sql_path(Path(s)) for s in excluded)
                + ")"
            )
        parts.append(
            f"SELECT {typed}, {label} AS {SOURCE} FROM read_parquet({sql_path(old)}){where}"
        )
    if loose:
        parts.append(json_select(family, [folder / name for name in loose], source=True))
    con = _connection()
    try:
        con.execute("SET preserve_insertion_order = false")
        select = " UNION ALL ".join(parts)
        order = "ts" if "ts" in row_columns else SOURCE
        con.execute(
            f"COPY (SELECT * FROM ({select}) ORDER BY {order}, {SOURCE}) TO {sql_path(target)} "
            "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100000)"
        )
        counted = con.execute(f"SELECT count(*) FROM read_parquet({sql_path(target)})")
        rows = int((counted.fetchone() or (0,))[0])
    finally:
        con.close()
    return {"file": None, "rows": rows, "sources": sources}, rows


def compact_family(
    ws: Workspace,
    family: LogFamily,
    *,
    prune: bool = False,
    wait: bool = True,
    grace_s: float = publish.GRACE_S,
    today: str | None = None,
) -> LogCompaction:
    """Compact every closed partition (before `today`, UTC) that has lines the manifest does
    not account for, publish the new generation; with `prune`, before and after that,
    delete the JSONL files whose lines the manifest holds, once it was published at least
    `grace_s` ago. Idempotent."""
    started = time.perf_counter()
    base = compacted_root(ws, family)
    with publish.exclusive(base / "compact.lock", wait=wait) as held:
        manifest = read_manifest(ws, family)
        if not held:
            return LogCompaction(
                family.name,
                int((manifest or {}).get("generation") or 0),
                0,
                0,
                0,
                len((manifest or {}).get("partitions") or {}),
                skipped=True,
            )
        pruned = 0
        if prune and manifest is not None:
            pruned += _prune(ws, family, manifest, grace_s)
        closed_before = today or clock.now().strftime("%Y-%m-%d")
        generation = int(manifest["generation"]) if manifest else 0
        entries: dict[str, Any] = dict((manifest or {}).get("partitions") or {})
        lost = [d for d, e in entries.items() if not (base / str(e.get("file"))).is_file()]
        for date in lost:
            del entries[date]  # its Parquet is gone (by hand): compact its files again
        on_disk = partitions(ws, family)
        todo = []
        for date, files in sorted(on_disk.items()):
            if date >= closed_before or not files:
                continue
            loose, excluded = _split(entries.get(date), files, date)
            if loose or excluded:
                todo.append(date)
        new_manifest: dict[str, Any] = {
            "format": FORMAT,
            "generation": generation + 1,
            "published_at": clock.iso(),
            "published_ns": time.time_ns(),
            "family": family.name,
            "partitions": entries,
            "retired": list((manifest or {}).get("retired") or []),
        }
        rows = 0
        retired: list[str] = []
        for date in todo:
            name = f"date={date}/part-{generation + 1}.parquet"
            tmp = publish.fresh_folder(base)
            entry, count = _compact_partition(
                ws,
                family,
                date,
                on_disk[date],
                entries.get(date),
                generation + 1,
                tmp / "part.parquet",
            )
            publish.place_file(tmp / "part.parquet", base / name)
            tmp.rmdir()
            crash_point("compact.partition_placed", f"{family.name}/{date}")
            if date in entries:
                retired.append(str(entries[date]["file"]))
            entry["file"] = name
            entries[date] = entry
            rows += count
        if todo or lost:
            publish.retire(new_manifest, retired)
            publish.publish(_manifest_path(ws, family), new_manifest)
            crash_point("compact.published", family.name)
            publish.collect(base, new_manifest, grace_s)
            manifest = new_manifest
        if prune and manifest is not None:
            pruned += _prune(ws, family, manifest, grace_s)
        elif manifest is not None and not todo:
            publish.collect(base, manifest, grace_s)
        return LogCompaction(
            family.name,
            int((manifest or {}).get("generation") or 0),
            len(todo),
            rows,
            pruned,
            len(entries),
            seconds=round(time.perf_counter() - started, 3),
        )


def _prune(ws: Workspace, family: LogFamily, manifest: dict[str, Any], grace_s: float) -> int:
    """Delete the JSONL files whose every line the published Parquet holds, then record them
    as pruned (a file deleted but not yet recorded reads as covered: absent)."""
    published = int(manifest.get("published_ns") or 0)
    if time.time_ns() - published < grace_s * 1e9:
        return 0  # readers of the previous generation may still be reading these files
    folder = family.folder(ws)
    count = changed = 0
    for date, entry in (manifest.get("partitions") or {}).items():
        for name, recorded in (entry.get("sources") or {}).items():
            if not isinstance(recorded, dict) or recorded.get("pruned"):
                continue
            path = folder / f"date={date}" / name
            try:
                info = path.lstat()
            except FileNotFoundError:
                recorded["pruned"] = True  # deleted by a pruner killed before it published
                changed += 1
                continue
            if info.st_size != recorded.get("size") or not path.is_file() or path.is_symlink():
                continue  # lines arrived after the compaction: the next one takes them
            path.unlink()
            crash_point("compact.pruning", f"{family.name}/{date}/{name}")
            recorded["pruned"] = True
            count += 1
        with contextlib.suppress(OSError):
            (folder / f"date={date}").rmdir()  # only when empty
    if not (count or changed):
        return 0
    manifest["generation"] = int(manifest["generation"]) + 1
    manifest["published_at"] = clock.iso()
    manifest["published_ns"] = time.time_ns()
    publish.publish(_manifest_path(ws, family), manifest)
    return count
