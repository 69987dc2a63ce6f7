"""Checking and storing a source too large to hold in memory, one chunk at a time.

A source larger than one chunk (`core.data.sources.SourceStream`) is checked row by row in
each chunk as `core.data.validation` checks a whole frame (time column, the schema's
pandera checks); what spans chunks, duplicate keys and time order, is answered by DuckDB
over small Parquet files of each row's keys, with a memory limit and spilling to disk.
Each valid chunk is stored sorted; the snapshot is their k-way merge in time and entity
order (a DuckDB sort of the keys says which chunk each next row comes from), written and
hashed batch by batch. The content hash is the one the whole frame would get
(`core.data.snapshots.ContentHasher`: pandas' row hashes in order), so a file's snapshot id
does not depend on the chunk size (ADR 0029).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.data.sources import SourceChunk
from core.data.validation import (
    EXAMINED,
    Contract,
    ValidationReport,
    _Collector,
    _parse_time,
    _report,
    apply_schema,
    duplicate_cause,
    duplicate_message,
    increasing_message,
    naive_in_converting_mode,
    zone_summary,
)
from core.foundation.errors import ExitCode, FactoryError

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

DUCKDB_MEMORY = "512MB"
"""DuckDB's memory limit for the checks and the sort across chunks; it spills beyond."""
DUCKDB_MEMORY_BYTES = 512 * 10**6
PART = "__factory_part"
"""The column naming a stored chunk in its Parquet file (dropped from the snapshot)."""
MERGE_ROWS = 65_536
"""Rows assembled, checked, hashed and written at a time."""


class Reread(Exception):
    """A column's inferred type changed between chunks in a way a cast cannot reconcile
    (numbers first, text later): read the source again with those columns as text, which is
    what a whole-file read gives them."""

    def __init__(self, columns: list[str]) -> None:
        super().__init__(", ".join(columns))
        self.columns = columns


# ----------------------------------------------------------------------- column types


@dataclass(frozen=True)
class ColumnKind:
    """What one chunk's column looked like."""

    dtype: Any
    all_null: bool
    inferred: str | None
    """pandas' `infer_dtype` of an object column ("string", "boolean", "mixed", ...)."""


def describe(frame: pd.DataFrame) -> dict[str, ColumnKind]:
    import pandas as pd

    kinds = {}
    for name in frame.columns:
        series = frame[name]
        all_null = bool(series.isna().all())
        inferred = (
            pd.api.types.infer_dtype(series, skipna=True) if _is_object(series.dtype) else None
        )
        kinds[str(name)] = ColumnKind(series.dtype, all_null, inferred)
    return kinds


def unify(kinds: list[ColumnKind]) -> Any:
    """The dtype a whole-file read gives a column that each chunk typed as `kinds`, or None
    when only reading it as text agrees with a whole-file read. A chunk where the column is
    empty (float NaN) takes the type of the others, as a whole-file read does."""
    import numpy as np
    import pandas as pd

    dtypes = [k.dtype for k in kinds]
    if all(d == dtypes[0] for d in dtypes[1:]):
        return dtypes[0]
    if all(isinstance(d, pd.CategoricalDtype) for d in dtypes):
        categories: set[Any] = set()
        for d in dtypes:
            categories.update(d.categories)
        try:
            ordered_categories = sorted(categories)
        except TypeError:
            return None
        return pd.CategoricalDtype(ordered_categories, ordered=dtypes[0].ordered)
    empty_float = [k.all_null and k.dtype == np.float64 for k in kinds]
    informative = [k for k, empty in zip(kinds, empty_float, strict=True) if not empty]
    if not informative:
        return np.dtype(np.float64)
    others = [k.dtype for k in informative]
    has_empty = len(informative) < len(kinds)
    plain = all(isinstance(d, np.dtype) for d in others)
    if plain and all(d.kind in "iuf" for d in others):
        common = np.result_type(*others)
        return np.dtype(np.float64) if has_empty and common.kind in "iu" else common
    if plain and all(d.kind == "b" for d in others):
        return np.dtype(object) if has_empty else others[0]
    if all(
        (isinstance(d, np.dtype) and d.kind == "b") or (_is_object(d) and k.inferred == "boolean")
        for d, k in zip(others, informative, strict=True)
    ):
        return np.dtype(object)
    if all(_is_object(d) for d in others):
        return np.dtype(object)
    if all(d == others[0] for d in others):
        return others[0]  # e.g. datetimes beside an empty chunk
    return None


def _is_object(dtype: Any) -> bool:
    import numpy as np

    return isinstance(dtype, np.dtype) and dtype.kind == "O"


class Kinds:
    """The column kinds of every chunk seen so far."""

    def __init__(self) -> None:
        self.columns: dict[str, list[ColumnKind]] = {}
        self.order: list[str] | None = None

    def add(self, frame: pd.DataFrame) -> list[str]:
        """Record a chunk; the columns whose types no cast reconciles so far."""
        found = describe(frame)
        if self.order is None:
            self.order = list(found)
        for name, kind in found.items():
            self.columns.setdefault(name, []).append(kind)
        return [name for name, kinds in self.columns.items() if unify(kinds) is None]

    def unified(self) -> dict[str, Any]:
        return {name: unify(kinds) for name, kinds in self.columns.items()}


# --------------------------------------------------------------------------- staging


def _q(name: str) -> str:
    """A SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def _strings(paths: list[Path]) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


class Staging:
    """A private folder of Parquet parts: each chunk's row keys, and each valid chunk's
    rows sorted. Removed with the folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.key_parts: list[Path] = []
        self.data_parts: list[Path] = []
        self.edges: list[tuple[pd.DataFrame, pd.DataFrame]] = []
        """Per data part, its first and last row's sort keys."""
        self.data_kinds = Kinds()
        self.keeping = True
        self._con: duckdb.DuckDBPyConnection | None = None

    def add_keys(self, frame: pd.DataFrame) -> None:
        path = self.folder / f"keys-{len(self.key_parts):06d}.parquet"
        _write(frame, path)
        self.key_parts.append(path)

    def add_data(self, frame: pd.DataFrame, order: list[str]) -> None:
        """A valid chunk's normalized rows, sorted by `order`."""
        if not self.keeping or frame.empty:
            return
        number = len(self.data_parts)
        path = self.folder / f"data-{number:06d}.parquet"
        self.data_kinds.add(frame)
        stored = frame.assign(**{PART: number})
        _write(stored, path)
        self.data_parts.append(path)
        self.edges.append((frame[order].iloc[[0]], frame[order].iloc[[-1]]))

    def drop_data(self) -> None:
        """The source is invalid: no snapshot will be made, so stop storing rows."""
        self.keeping = False
        for path in self.data_parts:
            path.unlink(missing_ok=True)
        self.data_parts.clear()
        self.edges.clear()

    def connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            import duckdb

            spill = self.folder / "spill"
            spill.mkdir(exist_ok=True)
            con = duckdb.connect(
                ":memory:",
                config={
                    "autoinstall_known_extensions": False,
                    "autoload_known_extensions": False,
                },
            )
            con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")
            con.execute(f"SET temp_directory = '{str(spill).replace(chr(39), chr(39) * 2)}'")
            con.execute(f"SET threads = {max(1, min(2, os.cpu_count() or 1))}")
            con.execute("SET preserve_insertion_order = false")
            con.execute("SET enable_progress_bar = false")  # stderr is for diagnostics
            self._con = con
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    # -- checks across chunks

    def duplicates(self, entities: int, limit: int) -> tuple[int, list[tuple[Any, ...]]]:
        """Rows whose keys an earlier row already has: (how many, the first `limit` of them
        as (row, time ns, first row, first line, line, instant ns, first instant ns,
        offset ns, first offset ns)), by row."""
        if not self.key_parts:
            return 0, []
        con = self.connection()
        keys = ["__t", *(f"__e{i}" for i in range(entities))]
        match = " AND ".join(f"k.{c} IS NOT DISTINCT FROM g.{c}" for c in keys)
        con.execute(
            f"CREATE OR REPLACE VIEW keys AS SELECT * FROM read_parquet("
            f"{_strings(self.key_parts)}, union_by_name = true)"
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE dup_groups AS SELECT {', '.join(keys)}, "
            f"min(__row) AS first_row, count(*) AS n FROM keys GROUP BY {', '.join(keys)} "
            "HAVING count(*) > 1"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE dup_rows AS SELECT k.__row AS __row, g.first_row "
            f"FROM keys k JOIN dup_groups g ON {match} WHERE k.__row <> g.first_row"
        )
        count = int(con.execute("SELECT count(*) FROM dup_rows").fetchall()[0][0])
        if not count:
            return 0, []
        rows = con.execute(
            "SELECT k.__row, epoch_ns(k.__t), d.first_row, f.__line, k.__line, "
            "epoch_ns(k.__instant), epoch_ns(f.__instant), k.__offset, f.__offset "
            "FROM (SELECT * FROM dup_rows ORDER BY __row LIMIT ?) d "
            "JOIN keys k ON k.__row = d.__row JOIN keys f ON f.__row = d.first_row "
            "ORDER BY k.__row",
            [limit],
        ).fetchall()
        return count, rows

    def decreasing(self, limit: int) -> tuple[int, list[tuple[Any, ...]]]:
        """Rows not after the previous row (duplicates aside): (how many, the first `limit`
        as (row, time ns, previous ns, line)). Needs `duplicates` to have run."""
        if not self.key_parts:
            return 0, []
        con = self.connection()
        where = (
            "k.__prev IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dup_rows d WHERE d.__row = k.__row)"
        )
        count = int(con.execute(f"SELECT count(*) FROM keys k WHERE {where}").fetchall()[0][0])
        if not count:
            return 0, []
        rows = con.execute(
            f"SELECT k.__row, epoch_ns(k.__t), epoch_ns(k.__prev), k.__line FROM keys k "
            f"WHERE {where} ORDER BY k.__row LIMIT ?",
            [limit],
        ).fetchall()
        return count, rows


def _write(frame: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    # Small row groups: the merge reads every part at once, a row group at a time each.
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, path, row_group_size=MERGE_ROWS)


def staging_folder(root: Path, prefix: str) -> Path:
    """A new private folder under `root`; folders of processes that died are removed."""
    import uuid

    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(f".{prefix}-*.tmp"):
        pid = stale.name.split("-")[1] if stale.name.count("-") >= 2 else ""
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    folder = root / f".{prefix}-{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
    folder.mkdir()
    return folder


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


CHUNK_FACTOR = 10
"""Peak bytes per byte of CSV text in one chunk (text, lines, parsed frame and its copies),
about what bench/data.py measures."""


def memory_limit() -> int | None:
    """The memory this process may use: the lower of its address-space limit and its
    cgroup's `memory.max` (None when neither is set)."""
    import resource

    limits = []
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft not in (resource.RLIM_INFINITY, -1) and soft > 0:
        limits.append(int(soft))
    try:
        raw = Path("/sys/fs/cgroup/memory.max").read_text(encoding="utf-8").strip()
    except OSError:
        raw = "max"
    if raw.isdigit():
        limits.append(int(raw))
    return min(limits) if limits else None


def _resident() -> int:
    """This process's resident memory now (what it holds before the first chunk)."""
    try:
        pages = int(Path("/proc/self/statm").read_text(encoding="ascii").split()[1])
    except (OSError, ValueError, IndexError):
        return 320 * 2**20
    return pages * os.sysconf("SC_PAGE_SIZE")


def check_memory(path: str, chunk_bytes: int) -> None:
    """Refuse up front, rather than be killed half-way, when the memory this process may use
    is below what reading in chunks of `chunk_bytes` needs (ADR 0029)."""
    limit = memory_limit()
    held = _resident()
    need = held + CHUNK_FACTOR * chunk_bytes + DUCKDB_MEMORY_BYTES
    if limit is not None and limit < need:
        smaller = max(1, (limit - held - DUCKDB_MEMORY_BYTES) // CHUNK_FACTOR)
        raise FactoryError(
            "data_out_of_memory",
            f"{path}: reading it in chunks of {chunk_bytes / 2**20:.0f} MiB needs about "
            f"{need / 2**20:.0f} MiB of memory, and this process may use "
            f"{limit / 2**20:.0f} MiB (its memory limit): nothing was read",
            hint=(
                f"Raise the memory limit, or set FACTORY_DATA_CHUNK_BYTES={smaller} (smaller "
                "chunks)."
                if smaller >= 2**20
                else "Raise the memory limit to at least "
                f"{(need + 2**20 - 1) // 2**20} MiB and run the command again."
            ),
            details={"file": path, "memory_limit": limit, "need": need, "chunk_bytes": chunk_bytes},
        )


def out_of_memory(path: str, exc: Exception) -> FactoryError:
    return FactoryError(
        "data_out_of_memory",
        f"{path}: the checks across chunks ran out of their {DUCKDB_MEMORY} memory budget "
        f"and of room to spill: {exc}",
        hint="Free disk space in the workspace (DuckDB spills to data/snapshots/ while it "
        "sorts), or split the file by date and snapshot the parts as separate datasets.",
        details={"file": path, "memory_limit": DUCKDB_MEMORY},
    )


# ------------------------------------------------------------------ the chunked check


@dataclass
class _Zones:
    seen: set[Any] = field(default_factory=set)
    has_naive: bool = False
    pending: list[tuple[int, Any, int | None]] = field(default_factory=list)
    """Naive rows of chunks without offsets (position, value, line): faults in a converting
    mode once another chunk shows offsets."""


class ChunkedCheck:
    """`validate_source`, a chunk at a time: each chunk's rows are checked as they come,
    duplicates and time order across chunks at the end (`finish`)."""

    def __init__(self, terms: Contract, staging: Staging, label: str, path: str) -> None:
        self.terms = terms
        self.staging = staging
        self.label = label
        self.path = path
        self.out = _Collector(lambda row: {"row": None if row is None else row + 1, "line": None})
        self.kinds = Kinds()
        self.columns: list[str] | None = None
        self.missing: list[str] = []
        self.rows = 0
        self.zones = _Zones()
        self.last_time: Any = None
        self.entities: list[str] = []

    @property
    def ordered_check(self) -> bool:
        return self.terms.time_order == "increasing" and not self.entities

    def add(self, chunk: SourceChunk) -> None:
        import numpy as np
        import pandas as pd

        terms, dataset, out = self.terms, self.terms.dataset, self.out
        frame = chunk.frame
        out.where = chunk.where
        if self.columns is None:
            self.columns = [str(c) for c in frame.columns]
            self.missing = terms.missing(frame.columns, out)
            self.entities = [c for c in dataset.entity_columns if c in frame.columns]
        conflicts = self.kinds.add(frame)
        if conflicts:
            raise Reread(conflicts)
        self.rows += len(frame)
        normalized: pd.DataFrame | None = None
        column = dataset.time_column
        if column not in self.missing:
            times = _parse_time(frame, column, out, dataset)
            self._zones(chunk, times)
            valid = times.values.notna().to_numpy()
            keys = pd.DataFrame({"__row": frame.index.to_numpy()[valid].astype(np.int64)})
            keys["__line"] = (
                pd.arrays.IntegerArray(
                    chunk.lines[valid].astype(np.int64), np.zeros(int(valid.sum()), dtype=bool)
                )
                if chunk.lines is not None
                else pd.arrays.IntegerArray(
                    np.zeros(int(valid.sum()), dtype=np.int64), np.ones(int(valid.sum()), bool)
                )
            )
            keys["__t"] = times.values.to_numpy()[valid]
            for i, name in enumerate(self.entities):
                keys[f"__e{i}"] = frame[name].to_numpy()[valid]
            count = int(valid.sum())
            keys["__instant"] = (
                times.instants.to_numpy()[valid]
                if times.instants is not None
                else np.full(count, np.datetime64("NaT"), dtype="datetime64[ns]")
            )
            if times.offsets is not None:
                offsets = times.offsets.to_numpy()[valid].astype("timedelta64[ns]")
                keys["__offset"] = pd.arrays.IntegerArray(
                    offsets.astype(np.int64), np.isnat(offsets)
                )
            else:
                keys["__offset"] = pd.arrays.IntegerArray(
                    np.zeros(count, dtype=np.int64), np.ones(count, dtype=bool)
                )
            if self.ordered_check:
                keys["__prev"] = self._previous(keys["__t"])
            self.staging.add_keys(keys)
            normalized = frame.copy()
            normalized[column] = times.values
        if terms.schema is not None and not self.missing:
            candidate = normalized if normalized is not None else frame
            validated = apply_schema(terms, candidate, out)
            if normalized is not None:
                normalized = validated
        if out.count or normalized is None:
            self.staging.drop_data()
        elif self.staging.keeping:
            ordered = normalized.sort_values(terms.keys, kind="stable").reset_index(drop=True)
            self.staging.add_data(ordered, terms.keys)

    def _zones(self, chunk: SourceChunk, times: Any) -> None:
        import numpy as np

        zones, dataset = self.zones, self.terms.dataset
        converting = dataset.time_zone is not None
        if times.seen:
            if converting and not zones.seen:
                for row, value, line in zones.pending:
                    naive_in_converting_mode(
                        self.out, dataset.time_column, row, value, dataset, line=line
                    )
                zones.pending.clear()
            zones.seen.update(times.seen)
        elif times.has_naive and converting:
            valid = np.flatnonzero(times.values.notna().to_numpy())
            if zones.seen:
                for position in valid[:EXAMINED]:
                    row = chunk.start + int(position)
                    naive_in_converting_mode(
                        self.out,
                        dataset.time_column,
                        row,
                        chunk.frame[dataset.time_column].iloc[int(position)],
                        dataset,
                    )
            else:
                room = EXAMINED - len(zones.pending)
                for position in valid[: max(room, 0)]:
                    row = chunk.start + int(position)
                    zones.pending.append(
                        (
                            row,
                            chunk.frame[dataset.time_column].iloc[int(position)],
                            chunk.where(row)["line"],
                        )
                    )
        zones.has_naive = zones.has_naive or times.has_naive

    def _previous(self, times: pd.Series) -> Any:
        """Per row, the previous row's time where this one is not after it (else NaT)."""
        import numpy as np

        values = times.to_numpy()
        previous = np.empty_like(values)
        if len(values):
            previous[0] = self.last_time if self.last_time is not None else np.datetime64("NaT")
            previous[1:] = values[:-1]
            self.last_time = values[-1]
        with np.errstate(invalid="ignore"):
            fault = values <= previous
        return np.where(fault, previous, np.datetime64("NaT"))

    def finish(self) -> ValidationReport:
        """The checks across chunks, then the report."""
        import pandas as pd

        terms, dataset, out = self.terms, self.terms.dataset, self.out
        if dataset.time_column not in self.missing:
            entity_note = f" and {', '.join(self.entities)}" if self.entities else ""
            count, rows = self.staging.duplicates(len(self.entities), EXAMINED)
            for row, t, first, first_line, line, here, there, here_off, there_off in rows:
                value = pd.Timestamp(t)
                out.add(
                    dataset.time_column,
                    int(row),
                    "time_unique",
                    str(value),
                    duplicate_message(dataset, entity_note, value, int(first) + 1, first_line)
                    + duplicate_cause(
                        _stamp(here), _stamp(there), _delta(here_off), _delta(there_off), dataset
                    ),
                    line=line,
                )
            out.count += count - len(rows)
            if self.ordered_check:
                count, rows = self.staging.decreasing(EXAMINED)
                for row, t, previous, line in rows:
                    value = pd.Timestamp(t)
                    out.add(
                        dataset.time_column,
                        int(row),
                        "time_increasing",
                        str(value),
                        increasing_message(dataset, value, pd.Timestamp(previous)),
                        line=line,
                    )
                out.count += count - len(rows)
        if out.count:
            self.staging.drop_data()
        source_time_zone = (
            zone_summary(self.zones.seen, self.zones.has_naive, dataset.time_zone or "wall_clock")
            if dataset.time_column not in self.missing
            else None
        )
        return _report(
            terms, _Named(self.label, self.path), self.rows, self.columns or [], out,
            source_time_zone,
        )  # fmt: skip


@dataclass(frozen=True)
class _Named:
    label: str
    path: str


def _stamp(ns: Any) -> Any:
    import pandas as pd

    return None if ns is None else pd.Timestamp(ns)


def _delta(ns: Any) -> Any:
    import pandas as pd

    return None if ns is None else pd.Timedelta(ns)


# ------------------------------------------------------------------------- the merge


@dataclass
class Assembled:
    rows: int
    first_time: Any
    last_time: Any
    distinct_times: int
    columns: list[str]
    dtypes: dict[str, Any]


class _PartReader:
    """A stored chunk's rows, read in order a few at a time."""

    def __init__(self, path: Path, columns: list[str], dtypes: dict[str, Any], rows: int) -> None:
        import pyarrow.parquet as pq

        self.file = pq.ParquetFile(path)
        self.batches = self.file.iter_batches(batch_size=max(1024, rows), columns=columns)
        self.dtypes = dtypes
        self.buffer: list[pd.DataFrame] = []
        self.buffered = 0

    def take(self, count: int) -> pd.DataFrame:
        import pandas as pd

        while self.buffered < count:
            batch = next(self.batches)
            frame = _cast(batch.to_pandas(), self.dtypes)
            self.buffer.append(frame)
            self.buffered += len(frame)
        joined = self.buffer[0] if len(self.buffer) == 1 else pd.concat(self.buffer)
        taken, rest = joined.iloc[:count], joined.iloc[count:]
        self.buffer = [rest] if len(rest) else []
        self.buffered = len(rest)
        return taken


def _cast(frame: pd.DataFrame, dtypes: dict[str, Any]) -> pd.DataFrame:
    for name in frame.columns:
        dtype = dtypes[str(name)]
        if frame[name].dtype != dtype:
            frame[name] = frame[name].astype(dtype)
    return frame


def _in_order(first: pd.DataFrame, second: pd.DataFrame, order: list[str]) -> bool:
    """Whether `first`'s rows all sort before `second`'s (pandas' stable sort decides)."""
    import pandas as pd

    both = pd.concat([first, second], ignore_index=True)
    return bool((both.sort_values(order, kind="stable").index == both.index).all())


def _order_sql(order: list[str], dtypes: dict[str, Any]) -> str:
    """ORDER BY terms that sort as pandas does: a categorical column by its categories."""
    import pandas as pd

    terms = []
    for name in order:
        dtype = dtypes.get(name)
        if isinstance(dtype, pd.CategoricalDtype):
            categories = [str(c) for c in dtype.categories]
            if categories != sorted(categories):
                listed = ", ".join("'" + c.replace("'", "''") + "'" for c in categories)
                terms.append(f"list_position([{listed}], {_q(name)}) NULLS LAST")
                continue
        terms.append(f"{_q(name)} NULLS LAST")
    return ", ".join(terms)


def assemble(
    staging: Staging,
    order: list[str],
    write: Callable[[pd.DataFrame], None],
    source_path: str,
) -> Assembled:
    """Every stored row in `order`, in batches handed to `write` (which hashes and stores
    them): the stored chunks' k-way merge, each chunk read in order."""
    import numpy as np
    import pyarrow.parquet as pq

    dtypes = staging.data_kinds.unified()
    if any(d is None for d in dtypes.values()):  # pragma: no cover - the raw kinds agreed
        raise FactoryError(
            "internal",
            f"{source_path}: the checked chunks' column types disagree",
            exit_code=ExitCode.INTERNAL,
        )
    columns = list(staging.data_kinds.order or [])
    parts = staging.data_parts
    counts = [pq.ParquetFile(p).metadata.num_rows for p in parts]
    edges = [(_cast(a.copy(), dtypes), _cast(b.copy(), dtypes)) for a, b in staging.edges]
    sequential = all(_in_order(edges[i][1], edges[i + 1][0], order) for i in range(len(edges) - 1))
    per_part = max(1024, (4 * MERGE_ROWS) // max(1, len(parts)))
    readers = [_PartReader(p, columns, dtypes, per_part) for p in parts]
    state = Assembled(0, None, None, 0, columns, dtypes)
    tail: pd.DataFrame | None = None

    def emit(frame: pd.DataFrame) -> None:
        nonlocal tail
        frame = frame.reset_index(drop=True)
        check = frame[order] if tail is None else _concat(tail, frame[order])
        if not (check.sort_values(order, kind="stable").index == check.index).all():
            raise FactoryError(
                "internal",
                f"{source_path}: the merged chunks are out of order",
                hint="This is a bug in factory's chunked snapshot; please report it.",
                exit_code=ExitCode.INTERNAL,
            )
        times = frame[order[0]].to_numpy()
        if len(times):
            changes = int((times[1:] != times[:-1]).sum())
            if state.last_time is None or times[0] != state.last_time:
                changes += 1
            state.distinct_times += changes
            if state.first_time is None:
                state.first_time = frame[order[0]].iloc[0]
            state.last_time = times[-1]
            state.rows += len(frame)
        tail = frame[order].iloc[[-1]] if len(frame) else tail
        write(frame)

    if sequential:
        for reader, count in zip(readers, counts, strict=True):
            left = count
            while left:
                take = min(MERGE_ROWS, left)
                emit(reader.take(take))
                left -= take
    else:
        import duckdb

        con = staging.connection()
        sql = (
            f"SELECT {_q(PART)} FROM read_parquet({_strings(parts)}, union_by_name = true) "
            f"ORDER BY {_order_sql(order, dtypes)}"
        )
        try:
            for batch in con.sql(sql).to_arrow_reader(MERGE_ROWS):
                source = batch.column(0).to_numpy()
                per = np.bincount(source, minlength=len(parts))
                pieces = [readers[p].take(int(n)) for p, n in enumerate(per) if n]
                import pandas as pd

                joined = pd.concat(pieces, ignore_index=True)
                grouped = np.argsort(source, kind="stable")
                inverse = np.empty_like(grouped)
                inverse[grouped] = np.arange(len(grouped))
                emit(joined.iloc[inverse])
        except duckdb.OutOfMemoryException as exc:
            raise out_of_memory(source_path, exc) from None
    if state.last_time is not None:
        import pandas as pd

        state.last_time = pd.Timestamp(state.last_time)
    return state


def _concat(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    return pd.concat([a, b], ignore_index=True)


def iter_with_lookahead(chunks: Iterator[SourceChunk]) -> tuple[SourceChunk, SourceChunk | None]:
    first = next(chunks)
    second = next(chunks, None)
    return first, second
