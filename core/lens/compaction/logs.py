"""Log families in Parquet: closed date partitions of an append-only JSONL log (adrs/0028,
adrs/0036).

A family is a folder of Hive date partitions (`<folder>/date=YYYY-MM-DD/*.jsonl`), the
columns its lines carry and the condition a whole line meets (a torn last line reads as an
all-null row). Events are one family; inference lines another (`families.families()`).

Compacted partitions live beside the log, not in `.factory/`, because once the JSONL is
pruned they are the only copy: `logs/compacted/<family>/date=D/part-<n>.parquet`, one file
per partition, and `logs/compacted/<family>/manifest.json` naming, per partition, its file
and the size each source file had when it was read for the compaction. Each row is one line
that parses as a JSON object, whether or not the family's views keep it: the family's columns,
and the line as written (`_raw`), its file (`_source`, `date=D/<file>`) and its place in the
file (`_line`), so pruning loses nothing any reader reads. The rules by which readers combine
the Parquet and the files beside it are `core.foundation.log_archive`'s. Today's partition
(UTC, `core.foundation.clock`) is never compacted: writers are still appending to it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from core.foundation import clock, log_archive
from core.foundation.faults import crash_point
from core.foundation.workspace import Workspace
from core.lens.compaction import publish
from core.lens.views.sql import empty_select, sql_path, sql_paths

if TYPE_CHECKING:
    import duckdb

    from core.lens.compaction.door import Attachment

FORMAT = log_archive.FORMAT
SOURCE = log_archive.SOURCE
LINE = log_archive.LINE
RAW = log_archive.RAW


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
    digest: Callable[[str], str] | None = None
    """Given a SELECT of a partition's rows, the SQL of `(key, subkey, value)` rows kept in
    its manifest entry as `{key: {subkey: value}}`: what readers that must not open Parquet
    (`status`) need of a compacted day."""

    def row_columns(self) -> dict[str, str]:
        return {**self.columns, "date": "VARCHAR"} if self.partition_column else dict(self.columns)


def compacted_root(ws: Workspace, family: LogFamily) -> Path:
    return log_archive.compacted_root(ws, family.name)


def _manifest_path(ws: Workspace, family: LogFamily) -> Path:
    return log_archive.manifest_path(ws, family.name)


def read_manifest(ws: Workspace, family: LogFamily) -> dict[str, Any] | None:
    return log_archive.read_manifest(ws, family.name)


def partitions(ws: Workspace, family: LogFamily) -> dict[str, dict[str, int]]:
    return log_archive.partitions(ws, family.folder(ws), family.pattern)


def current_state(ws: Workspace, family: LogFamily) -> log_archive.LogState:
    return log_archive.current_state(ws, family.name, family.folder(ws), family.pattern)


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
        # The Parquet holds every line that parses; the view keeps the family's own.
        where = f" WHERE ({family.keep})"
        if state.excluded:
            listed = ", ".join(sql_path(Path(s)) for s in state.excluded)
            where += f" AND {SOURCE} NOT IN ({listed})"
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
    from core.foundation.sql_engine import duckdb as engine

    return engine.connect(
        ":memory:",
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
    )


def _write_lines(handle: BinaryIO, labels: list[str], source: str, lines: Iterable[bytes]) -> None:
    """One file's lines, numbered from 0, as the compactor's `lines.txt` holds them: the
    source's place in `labels`, the number and the line, separated by U+0001, which no valid
    JSON holds as it is (nor then a file name: it is not written here)."""
    prefix = str(len(labels)).encode() + b"\x01"
    labels.append(source)
    for n, line in enumerate(lines):
        handle.write(prefix + str(n).encode() + b"\x01" + line + b"\n")


def _file_lines(path: Path, size: int, read: list[int]) -> Iterator[bytes]:
    """The whole lines of the first `size` bytes of `path`, a block at a time (memory stays
    bounded by the longest line), adding the bytes read to `read`: a file is taken as it was
    listed, whatever a writer appends meanwhile; a torn last line is left out. Newlines only:
    `str.splitlines` would also break at U+2028, which a JSON string may hold."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 (closed below)
    except FileNotFoundError:
        return
    with handle:
        carry = b""
        remaining = size
        while remaining > 0:
            block = handle.read(min(READ_BLOCK, remaining))
            if not block:
                break
            remaining -= len(block)
            read[0] += len(block)
            lines = (carry + block).split(b"\n")
            carry = lines.pop()
            yield from lines


READ_BLOCK = 1 << 20


LINES_CSV = (
    f"columns={{'source_id': 'BIGINT', '{LINE}': 'BIGINT', '{RAW}': 'VARCHAR'}}, "
    "delim=chr(1), quote='', escape='', header=false, auto_detect=false, new_line='\\n', "
    "max_line_size=1073741824, strict_mode=false, ignore_errors=true"
)
"""How DuckDB reads `lines.txt` back: a line that is not UTF-8 is dropped (no reader could
parse it either)."""


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
    those of grown and withdrawn files; those of pruned names read again renamed), plus
    the files the manifest did not account for, line by line. Returns (its manifest entry,
    rows)."""
    loose, excluded = log_archive.split(entry, files, date)
    legacy = entry is not None and not entry.get("lines")
    if legacy and entry is not None:
        # Compacted before rows kept their line: a file still there as listed is read again
        # from disk (exactly); only the lines of files gone are rebuilt from the columns.
        for name, recorded in (entry.get("sources") or {}).items():
            ok = isinstance(recorded, dict) and not recorded.get("pruned")
            if ok and name in files and name not in loose:
                loose.append(name)
                excluded.append(f"date={date}/{name}")
        loose.sort()
    sources: dict[str, Any] = {}
    relabel: dict[str, str] = {}
    grown = {s.rsplit("/", 1)[1] for s in excluded}
    if entry is not None:
        for name, recorded in (entry.get("sources") or {}).items():
            if isinstance(recorded, dict) and recorded.get("withdrawn"):
                continue  # its rows are left out (`excluded`); a file put back is new
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
    folder = family.folder(ws) / f"date={date}"
    row_columns = family.row_columns()
    typed = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in row_columns.items())
    # The lines go to DuckDB through a file beside the target: handing it Python objects
    # would import pandas (half a second), and reading the JSONL itself loses line numbers.
    text = target.parent / "lines.txt"
    labels: list[str] = []
    with open(text, "wb") as handle:
        if legacy and entry is not None:
            old = compacted_root(ws, family) / str(entry["file"])
            con = _connection()
            try:
                rebuilt = log_archive.legacy_lines(con, sql_path(old))
            finally:
                con.close()
            for source, data in rebuilt.items():
                if source not in excluded:
                    named = relabel.get(source, source)
                    _write_lines(handle, labels, named, data.split(b"\n")[:-1])
        for name in loose:
            read = [0]
            whole = _file_lines(folder / name, files[name], read)
            _write_lines(handle, labels, f"date={date}/{name}", whole)
            sources[name] = {"size": read[0], "pruned": False}
    con = _connection()
    try:
        con.execute("SET preserve_insertion_order = false")
        con.execute(
            "CREATE TABLE labels AS SELECT i - 1 AS source_id, label FROM "
            "(SELECT unnest($1::VARCHAR[]) AS label, generate_subscripts($1::VARCHAR[], 1) AS i)",
            [labels],
        )
        con.execute(
            f"CREATE VIEW lines AS SELECT label AS {SOURCE}, {LINE}, {RAW} "
            f"FROM read_csv({sql_path(text)}, {LINES_CSV}) JOIN labels USING (source_id)"
        )
        struct = "{" + ", ".join(f'"{k}": "{v}"' for k, v in family.columns.items()) + "}"
        values = ", ".join(f'j."{c}" AS "{c}"' for c in family.columns)
        if family.partition_column:
            values += f', {sql_path(Path(date))} AS "date"'
        parts = [
            f"SELECT {values}, {SOURCE}, {LINE}, {RAW} FROM (SELECT json_transform({RAW}, "
            f"'{struct}') AS j, * FROM lines WHERE json_valid({RAW}) "
            f"AND json_type({RAW}) = 'OBJECT')"
        ]
        if entry is not None and not legacy:
            old = compacted_root(ws, family) / str(entry["file"])
            label: str = SOURCE
            if relabel:
                cases = " ".join(
                    f"WHEN {sql_path(Path(a))} THEN {sql_path(Path(b))}" for a, b in relabel.items()
                )
                label = f"CASE {SOURCE} {cases} ELSE {SOURCE} END"
            where = ""
            if excluded:
                listed = ", ".join(sql_path(Path(s)) for s in excluded)
                where = f" WHERE {SOURCE} NOT IN ({listed})"
            parts.append(
                f"SELECT {typed}, {label} AS {SOURCE}, {LINE}, {RAW} "
                f"FROM read_parquet({sql_path(old)}){where}"
            )
        select = " UNION ALL ".join(parts)
        order = "ts" if "ts" in row_columns else SOURCE
        con.execute(
            f"COPY (SELECT * FROM ({select}) ORDER BY {order}, {SOURCE}, {LINE}) TO "
            f"{sql_path(target)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100000)"
        )
        counted = con.execute(f"SELECT count(*) FROM read_parquet({sql_path(target)})")
        rows = int((counted.fetchone() or (0,))[0])
        entry_out: dict[str, Any] = {"file": None, "rows": rows, "lines": True}
        if family.digest is not None:
            query = family.digest(f"SELECT * FROM read_parquet({sql_path(target)})")
            entry_out["digest"] = log_archive.digest_of(con, query)
    finally:
        con.close()
        text.unlink(missing_ok=True)
    return {**entry_out, "sources": sources}, rows


def compact_family(
    ws: Workspace,
    family: LogFamily,
    *,
    prune: bool = False,
    wait: bool = True,
    grace_s: float = publish.GRACE_S,
    today: str | None = None,
    keep_days: int = log_archive.PRUNE_KEEP_DAYS,
) -> LogCompaction:
    """Compact every closed partition (before `today`, UTC) that has lines the manifest does
    not account for (or was compacted before rows kept their lines), publish the new
    generation; with `prune`, before and after that, delete the JSONL files whose lines the
    manifest holds, of partitions more than `keep_days` before `today`, once it was
    published at least `grace_s` ago. Idempotent."""
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
        closed_before = today or clock.now().strftime("%Y-%m-%d")
        prune_before = (
            datetime.strptime(closed_before, "%Y-%m-%d") - timedelta(days=max(keep_days, 0))
        ).strftime("%Y-%m-%d")
        if prune and manifest is not None:
            pruned += _prune(ws, family, manifest, grace_s, prune_before)
        generation = int(manifest["generation"]) if manifest else 0
        entries: dict[str, Any] = dict((manifest or {}).get("partitions") or {})
        lost = [d for d, e in entries.items() if not (base / str(e.get("file"))).is_file()]
        for date in lost:
            del entries[date]  # its Parquet is gone (by hand): compact its files again
        on_disk = partitions(ws, family)
        todo = []
        for date in sorted(set(on_disk) | set(entries)):
            files = on_disk.get(date, {})
            entry = entries.get(date)
            if date >= closed_before or (entry is None and not files):
                continue
            loose, excluded = log_archive.split(entry, files, date)
            if loose or excluded or (entry is not None and not entry.get("lines")):
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
                on_disk.get(date, {}),
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
            pruned += _prune(ws, family, manifest, grace_s, prune_before)
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


def _prune(
    ws: Workspace, family: LogFamily, manifest: dict[str, Any], grace_s: float, before: str
) -> int:
    """Delete the JSONL files of partitions before `before` whose every line the published
    Parquet holds as written, then record them as pruned (a file deleted but not yet
    recorded reads as covered: absent)."""
    published = int(manifest.get("published_ns") or 0)
    if time.time_ns() - published < grace_s * 1e9:
        return 0  # readers of the previous generation may still be reading these files
    folder = family.folder(ws)
    count = changed = 0
    for date, entry in (manifest.get("partitions") or {}).items():
        if date >= before or not entry.get("lines"):
            continue  # kept for the readers of recent days; or its rows lack their lines
        for name, recorded in (entry.get("sources") or {}).items():
            if not isinstance(recorded, dict) or recorded.get("pruned"):
                continue
            if recorded.get("withdrawn"):
                continue  # moved to the archive; a file put back under its name is new
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
