"""A date-partitioned JSONL log read whole: its files on disk and, once `factory compact
--prune` deleted some, their lines from the compacted Parquet (adrs/0028, adrs/0036).

A log is a folder of Hive date partitions (`<folder>/date=YYYY-MM-DD/*.jsonl`). `factory
compact` writes each closed partition to `logs/compacted/<log>/date=D/part-<n>.parquet`,
named by `logs/compacted/<log>/manifest.json` with the size each source file had when it was
listed. Every row keeps its line exactly as written (`_raw`), its file (`_source`,
`date=D/<file>`) and its place in that file (`_line`), so a pruned file's lines come back
byte for byte and in order: the Parquet is the log, not a digest of it.

Two ways of reading, one set of rules (a file "covered" has the size the manifest recorded):
- the SQL views and `perf` (`current_state`): a partition's Parquet less the rows of files
  that grew since, plus every file the manifest does not account for, read whole;
- line readers (`log_sources`: history, feedback, rollouts, the serving check): every file
  on disk, read whole as before, plus, from the Parquet, the files that are no longer there
  (pruned) or were replaced by a new file of the same name. They import DuckDB only then, so
  `factory status` stays free of it while the partitions it reads are kept
  (`PRUNE_KEEP_DAYS`).
Either way every line is counted once.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase as fnmatch
from pathlib import Path
from typing import Any

from core.foundation.sql_text import sql_string
from core.foundation.workspace import Workspace

FORMAT = 1
SOURCE = "_source"
LINE = "_line"
RAW = "_raw"
PRUNE_KEEP_DAYS = 14
"""`--prune` keeps the JSONL of the newest partitions: `status` reads two weeks of events and
serving reads today's log, and neither should need DuckDB for it."""


def compacted_root(ws: Workspace, log: str) -> Path:
    return ws.logs_dir / "compacted" / log


def manifest_path(ws: Workspace, log: str) -> Path:
    return compacted_root(ws, log) / "manifest.json"


def manifest_at(path: Path, fmt: int) -> dict[str, Any] | None:
    """The manifest at `path` in format `fmt`, or None (absent, torn by hand, other format):
    the log's here, and the run tables' (`core.lens.compaction.publish`)."""
    try:
        manifest = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != fmt
        or not isinstance(manifest.get("generation"), int)
    ):
        return None
    return manifest


def read_manifest(ws: Workspace, log: str) -> dict[str, Any] | None:
    """The log's published manifest, or None."""
    return manifest_at(manifest_path(ws, log), FORMAT)


def _inside(ws: Workspace, path: Path) -> bool:
    try:
        return path.resolve(strict=True).is_relative_to(ws.root.resolve())
    except (OSError, RuntimeError):
        return False


def partitions(
    ws: Workspace,
    folder: Path,
    pattern: str = "*.jsonl",
    since_date: str | None = None,
    until_date: str | None = None,
    sizes: bool = True,
) -> dict[str, dict[str, int]]:
    """date -> {file name: size} of the log's JSONL files (in the partitions from
    `since_date` to `until_date`, the others never opened): regular files inside the
    workspace only (a planted symlink, to a file or a partition, is never read). Without
    `sizes`, each size is -1 and no file is stat-ed."""
    if not folder.is_dir() or not _inside(ws, folder):
        return {}
    found: dict[str, dict[str, int]] = {}
    with os.scandir(folder) as parts:
        days = sorted((p.name[5:], p.path) for p in parts if p.name.startswith("date="))
    for date, part in days:
        if (since_date and date < since_date) or (until_date and date > until_date):
            continue
        files: dict[str, int] = {}
        try:
            if os.path.islink(part) or not os.path.isdir(part):
                continue
            with os.scandir(part) as entries:
                for entry in entries:
                    # Not a writer's temporary file (`.name`), not a symlink: a regular file.
                    if entry.name.startswith(".") or not fnmatch(entry.name, pattern):
                        continue
                    with contextlib.suppress(OSError):
                        if entry.is_file(follow_symlinks=False):
                            size = entry.stat(follow_symlinks=False).st_size if sizes else -1
                            files[entry.name] = size
        except OSError:
            continue
        found[date] = files
    return found


def split(
    entry: dict[str, Any] | None, files: dict[str, int], date: str
) -> tuple[list[str], list[str]]:
    """(file names to read whole, `_source` values to leave out of the Parquet) of one
    partition for the SQL readers:
    - covered: its lines are in the Parquet, the file is skipped;
    - larger than recorded (lines appended after the listing): its Parquet rows are left
      out and the whole file is read;
    - not listed, smaller than recorded, or recorded as pruned (a new file by that name):
      the whole file is read, the Parquet rows kept;
    - recorded but absent (pruned): the Parquet holds its lines;
    - withdrawn (moved to the archive by `sunset removal-list --apply`, `withdraw`): its
      Parquet rows are left out; a file by that name (put back) is read whole."""
    if entry is None:
        return sorted(files), []
    sources = entry.get("sources") or {}
    loose, excluded = [], []
    for name, recorded in sorted(sources.items()):
        if isinstance(recorded, dict) and recorded.get("withdrawn"):
            excluded.append(f"date={date}/{name}")
    for name, size in sorted(files.items()):
        recorded = sources.get(name)
        if not isinstance(recorded, dict) or recorded.get("pruned") or recorded.get("withdrawn"):
            loose.append(name)
        elif size > int(recorded.get("size") or 0):
            loose.append(name)
            excluded.append(f"date={date}/{name}")
        elif size < int(recorded.get("size") or 0):
            loose.append(name)
    return loose, excluded


def _compacted_file(ws: Workspace, base: Path, entry: dict[str, Any] | None) -> Path | None:
    """The Parquet a manifest entry names, when its real path is inside the workspace: a
    manifest edited to name `../../..` or a symlink planted to reach outside is never read.
    A file gone since the manifest was read is kept: its readers notice and look again."""
    if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
        return None
    path = base / str(entry["file"])
    try:
        real = path.resolve()
        inside = real.is_relative_to(ws.root.resolve())
    except (OSError, RuntimeError):
        return None
    return path if inside and (real.is_file() or not real.exists()) else None


@dataclass
class LogState:
    """What a SQL reader of one manifest generation reads."""

    manifest: dict[str, Any] | None
    parquet: list[Path] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    """`_source` values whose Parquet rows are left out (their file grew since)."""
    loose: list[Path] = field(default_factory=list)
    """JSONL files read whole."""


def current_state(ws: Workspace, log: str, folder: Path, pattern: str = "*.jsonl") -> LogState:
    manifest = read_manifest(ws, log)
    state = LogState(manifest)
    entries = (manifest or {}).get("partitions") or {}
    on_disk = partitions(ws, folder, pattern)
    base = compacted_root(ws, log)
    for date in sorted(set(on_disk) | set(entries)):
        entry = entries.get(date)
        parquet = _compacted_file(ws, base, entry)
        if parquet is not None:
            state.parquet.append(parquet)
        loose, excluded = split(entry, on_disk.get(date, {}), date)
        state.loose.extend(folder / f"date={date}" / name for name in loose)
        state.excluded.extend(excluded)
    return state


# ------------------------------------------------------------------------- withdrawing


def withdraw(
    ws: Workspace,
    log: str,
    sources: list[str],
    mark: str,
    digest: Callable[[str], str] | None = None,
) -> int:
    """Take the compacted lines of `sources` (`date=D/<file>`, files already moved out of
    the log) out of every reader's sight: each is recorded `withdrawn` (by `mark`, the
    removal's id) in a new manifest generation, so the views, `perf` and the line readers
    leave its Parquet rows out, and the next `factory compact` rewrites its partition
    without them. A day's digest is computed again without them (`digest`, the family's
    SQL). Idempotent; returns how many sources were newly withdrawn (a source no manifest
    names has nothing compacted to withdraw)."""
    from core.foundation import clock
    from core.foundation.atomic import file_lock, write_json

    wanted: dict[str, set[str]] = {}
    for source in sources:
        part, _, name = source.partition("/")
        if part.startswith("date=") and name:
            wanted.setdefault(part[5:], set()).add(name)
    if not wanted or read_manifest(ws, log) is None:
        return 0
    with file_lock(compacted_root(ws, log) / "compact.lock"):
        manifest = read_manifest(ws, log)
        if manifest is None:
            return 0
        entries = manifest.get("partitions") or {}
        count = 0
        for date, names in sorted(wanted.items()):
            entry = entries.get(date)
            if not isinstance(entry, dict):
                continue
            recorded_sources = entry.get("sources") or {}
            changed = False
            for name in sorted(names):
                recorded = recorded_sources.get(name)
                if isinstance(recorded, dict) and not recorded.get("withdrawn"):
                    recorded["withdrawn"] = mark
                    changed = True
                    count += 1
            if changed and digest is not None and isinstance(entry.get("digest"), dict):
                parquet = _compacted_file(ws, compacted_root(ws, log), entry)
                if parquet is not None:
                    entry["digest"] = _digest_without(parquet, date, entry, digest)
        if count:
            manifest["generation"] = int(manifest["generation"]) + 1
            manifest["published_at"] = clock.iso()
            manifest["published_ns"] = time.time_ns()
            write_json(manifest_path(ws, log), manifest)
        return count


def _digest_without(
    parquet: Path, date: str, entry: dict[str, Any], digest: Callable[[str], str]
) -> dict[str, dict[str, Any]]:
    """A partition's digest over its rows less those of its withdrawn sources."""

    gone = [
        sql_string(f"date={date}/{name}")
        for name, recorded in (entry.get("sources") or {}).items()
        if isinstance(recorded, dict) and recorded.get("withdrawn")
    ]
    where = f" WHERE {SOURCE} NOT IN ({', '.join(gone)})" if gone else ""
    con = engine()
    try:
        return digest_of(
            con, digest(f"SELECT * FROM read_parquet({sql_string(str(parquet))}){where}")
        )
    finally:
        con.close()


def digest_of(con: Any, sql: str) -> dict[str, dict[str, Any]]:
    """A manifest entry's digest, `{key: {subkey: value}}`, from the `(key, subkey, value)`
    rows of a family's digest SQL (`LogFamily.digest`)."""
    found: dict[str, dict[str, Any]] = {}
    for key, subkey, value in con.execute(sql).fetchall():
        found.setdefault(str(key), {})[str(subkey)] = value
    return found


# ------------------------------------------------------------------------ line readers


def log_dates(ws: Workspace, log: str, folder: Path) -> list[str]:
    """Every date the log has a partition of, on disk or only in the Parquet, oldest first."""
    on_disk = set()
    if folder.is_dir():
        on_disk = {p.name[5:] for p in folder.iterdir() if p.name.startswith("date=")}
    compacted = set((read_manifest(ws, log) or {}).get("partitions") or {})
    return sorted(on_disk | compacted)


@dataclass(frozen=True)
class LogSource:
    """One file of the log: on disk (`path`), or only in the Parquet (`path` None)."""

    date: str
    name: str
    """The file's name; the Parquet's rows of it carry `date=D/<name>` (a pruned file whose
    name a new file took is `<name>~<n>` once compacted again)."""
    path: Path | None
    parquet: Path | None
    """The compacted file that holds this file's lines, when one does."""
    lines_format: bool = True
    """The Parquet keeps each line as written (`_raw`); partitions compacted before it did
    give their lines rebuilt from the columns (`legacy_lines`)."""
    partition_bytes: int = 0
    """The bytes its partition's files had when compacted: what reading the partition whole
    would hold in memory (`WHOLE_PARTITION_BYTES`)."""

    @property
    def source(self) -> str:
        return f"date={self.date}/{self.name}"

    def data(self) -> bytes:
        """The file's bytes as JSONL: read from disk; from the Parquet when it only lives
        there, or when a pruner deleted it since it was listed."""
        if self.path is not None:
            try:
                return self.path.read_bytes()
            except FileNotFoundError:
                if self.parquet is None:
                    return b""
        if self.parquet is None:
            return b""
        parquet = self.parquet
        if not parquet.exists():
            # A compaction rewrote the partition since the listing and, its grace period
            # over, deleted the file we were given: the manifest names the new one.
            parquet = _republished(parquet, self.date) or parquet
        fresh = self.lines_format or parquet != self.parquet  # new files keep their lines
        if fresh and self.partition_bytes > WHOLE_PARTITION_BYTES:
            return archived_source(parquet, self.source)
        return archived_lines(parquet, fresh).get(self.source, b"")


def log_sources(
    ws: Workspace,
    log: str,
    folder: Path,
    since_date: str | None = None,
    until_date: str | None = None,
    pattern: str = "*.jsonl",
) -> list[LogSource]:
    """Every file of the log in the partitions from `since_date` to `until_date`
    (YYYY-MM-DD, inclusive), oldest partition first, by name within it. The manifest is
    read before the folder is listed: a file a pruner deletes after that is read from the
    Parquet that covers it."""
    manifest = read_manifest(ws, log)
    entries = (manifest or {}).get("partitions") or {}
    # Sizes matter only beside a compaction: today's partition (never compacted) is only
    # listed, as `status` reads it on every call.
    on_disk = partitions(ws, folder, pattern, since_date, until_date, sizes=False)
    base = compacted_root(ws, log)
    found: list[LogSource] = []
    for date in sorted(set(on_disk) | set(entries)):
        if (since_date and date < since_date) or (until_date and date > until_date):
            continue
        entry = entries.get(date) or {}
        parquet = _compacted_file(ws, base, entry)
        fmt = bool(entry.get("lines"))
        sources = entry.get("sources") or {}
        whole = sum(int(r.get("size") or 0) for r in sources.values() if isinstance(r, dict))
        files = on_disk.get(date, {})
        if entry and files:
            files = partitions(ws, folder, pattern, date, date).get(date, {})
        part = folder / f"date={date}"
        here = []
        for name, size in files.items():
            recorded = sources.get(name)
            covered = (
                isinstance(recorded, dict)
                and not recorded.get("pruned")
                and not recorded.get("withdrawn")
                and size == int(recorded.get("size") or -1)
            )
            covering = parquet if covered else None
            here.append(LogSource(date, name, part / name, covering, fmt, whole))
        if parquet is not None:
            for name, recorded in sources.items():
                if not isinstance(recorded, dict) or recorded.get("withdrawn"):
                    continue
                present = files.get(name)
                gone = present is None or present < int(recorded.get("size") or 0)
                if recorded.get("pruned") or gone:
                    # Its lines are nowhere else: deleted, or a new file took its name (they
                    # come first, being older).
                    here.append(LogSource(date, name, None, parquet, fmt, whole))
        found.extend(sorted(here, key=lambda s: (s.name, s.path is not None)))
    return found


def _republished(parquet: Path, date: str) -> Path | None:
    base = parquet.parent.parent
    manifest = manifest_at(base / "manifest.json", FORMAT) or {}
    name = ((manifest.get("partitions") or {}).get(date) or {}).get("file")
    if not isinstance(name, str):
        return None
    path = base / name
    return path if path.resolve().is_relative_to(base.resolve()) else None


_ARCHIVED: dict[Path, tuple[tuple[int, int], dict[str, bytes]]] = {}
"""The last compacted file read: its identity (inode, mtime) and its lines per source."""


def archived_lines(parquet: Path, lines_format: bool = True) -> dict[str, bytes]:
    """`_source` -> that file's lines (JSONL bytes) of one compacted partition, read once
    per process while the file stays the same (files are written once, never in place)."""
    try:
        info = parquet.stat()
    except OSError:
        return {}
    identity = (info.st_ino, info.st_mtime_ns)
    kept = _ARCHIVED.get(parquet)
    if kept is not None and kept[0] == identity:
        return kept[1]
    from core.foundation.sql_engine import duckdb

    con = engine()
    try:
        path = sql_string(str(parquet))
        if lines_format:
            rows = con.execute(
                f"SELECT {SOURCE}, string_agg({RAW}, chr(10) ORDER BY {LINE}) "
                f"FROM read_parquet({path}) GROUP BY {SOURCE}"
            ).fetchall()
            lines = {str(s): (str(text) + "\n").encode() for s, text in rows}
        else:
            lines = legacy_lines(con, path)
    except duckdb.Error:
        lines = {}
    finally:
        con.close()
    _ARCHIVED.clear()  # one partition at a time: readers walk them in order
    _ARCHIVED[parquet] = (identity, lines)
    return lines


def archived_source(parquet: Path, source: str) -> bytes:
    """One file's lines (JSONL bytes) of a compacted partition, read alone: memory holds
    that file, not the partition (`WHOLE_PARTITION_BYTES`)."""
    from core.foundation.sql_engine import duckdb

    con = engine()
    try:
        row = con.execute(
            f"SELECT string_agg({RAW}, chr(10) ORDER BY {LINE}) "
            f"FROM read_parquet({sql_string(str(parquet))}) WHERE {SOURCE} = $1",
            [source],
        ).fetchone()
    except duckdb.Error:
        return b""
    finally:
        con.close()
    text = row[0] if row else None
    return (str(text) + "\n").encode() if text is not None else b""


WHOLE_PARTITION_BYTES = 64 << 20
"""A partition whose files held at most this many bytes is read whole, once, when one of
its files is read (readers walk a partition's files in turn); a bigger one a file at a
time, each read its own pass over the Parquet, so memory stays bounded by the biggest
file, as it is when the files are on disk."""

_ENGINE: tuple[int, Any] | None = None
_ENGINE_LOCK = threading.Lock()


def engine() -> Any:
    """A cursor of this process's in-memory DuckDB that reads compacted files with factory's
    own SQL (never a statement someone else wrote: `factory query` has its locked
    connections). A connection costs about 35 ms, a cursor about 2: a history over 90
    pruned days opened 90 connections. A forked child makes its own."""
    global _ENGINE
    from core.foundation.sql_engine import duckdb

    with _ENGINE_LOCK:
        if _ENGINE is None or _ENGINE[0] != os.getpid():
            con = duckdb.connect(
                ":memory:",
                config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
            )
            _ENGINE = (os.getpid(), con)
        return _ENGINE[1].cursor()


def legacy_lines(con: Any, path: str) -> dict[str, bytes]:
    """The lines of a partition compacted before rows kept their text: each rebuilt from
    its columns (times written back as `...Z`, JSON columns as JSON), in the Parquet's
    order. Loses what no column held; `factory compact` rewrites such partitions."""
    cursor = con.execute(f"SELECT * FROM read_parquet({path})")
    names = [d[0] for d in cursor.description]
    types = {d[0]: str(d[1]) for d in cursor.description}
    by_source: dict[str, list[bytes]] = {}
    for row in cursor.fetchall():
        record: dict[str, Any] = {}
        source = ""
        for name, value in zip(names, row, strict=True):
            if name == SOURCE:
                source = str(value)
            elif name == "date":
                continue  # the partition's, not the line's
            elif isinstance(value, datetime):
                record[name] = value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            elif value is not None and types.get(name) == "JSON":
                record[name] = json.loads(value)
            else:
                record[name] = value
        by_source.setdefault(source, []).append(
            json.dumps(record, separators=(",", ":")).encode() + b"\n"
        )
    return {s: b"".join(lines) for s, lines in by_source.items()}
