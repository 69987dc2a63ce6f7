"""The one way a locked connection still reads a file: a read-only door to an exact list.

`factory query` locks its connection before the statement runs (adrs/0018): external access
off, configuration locked. Compacted Parquet must stay lazy (read through its row-group
statistics, never loaded whole), so each file a view names is served by `Door`, a Python
file system registered on that connection alone, under its own protocol, that opens exactly
the files factory enumerated, for reading only; the connection's `allowed_paths` names the
same URLs and nothing else. The local file system stays off: no statement reaches any other
path, and nothing written through the door lands anywhere (every writing call refuses).

Only Parquet goes through the door, and DuckDB reads only the footers and the row groups a
statement needs, so little passes through Python; its threads share one handle, so each read
is positional (`PositionalFile`). A file retired by a compaction after the view was defined
is reported as `missing`, so the caller can rebuild its views and retry. Files small enough
to load in less time than fsspec takes to import (`LOAD_ROWS`) are read into memory before
the lock instead, and the door is never built (adrs/0035).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

from core.foundation.sql_text import sql_string
from core.lens.views.sql import sql_paths

if TYPE_CHECKING:
    import duckdb

PROTOCOL = "factory-lens"
LOAD_ROWS = 250_000
"""Compacted files holding at most this many rows (together, per view) are read into memory
before the lock instead of through the door: at this size the load (about 20 ms for 100,000
rows) costs less than importing fsspec, which the door needs (about 100 ms cold)."""
T = TypeVar("T")


def _refuse(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise PermissionError("the factory lens opens its files for reading only")


class PositionalFile:
    """A read-only file whose position belongs to the thread that moves it.

    DuckDB reads one Parquet file from several threads through a single handle, and its
    Python file system turns each positioned read into `seek` then `read`, two calls with the
    GIL released between them: on a shared position another thread's seek lands in between,
    and the reader gets bytes from the wrong row group (`TProtocolException: Invalid data`,
    seen at 100,000 runs, where a table spans several row groups). Every thread keeps its own
    offset here, and each read is one `os.pread`, which never moves a shared position."""

    def __init__(self, path: str) -> None:
        self.name = path
        self._fd = os.open(path, os.O_RDONLY)
        self._size = os.fstat(self._fd).st_size
        self._offsets: dict[int, int] = {}
        self.closed = False

    def _offset(self) -> int:
        return self._offsets.get(threading.get_ident(), 0)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._offset(), os.SEEK_END: self._size}[whence]
        position = base + offset
        if position < 0:
            raise ValueError(f"negative seek position {position}")
        self._offsets[threading.get_ident()] = position
        return position

    def tell(self) -> int:
        return self._offset()

    def read(self, size: int = -1) -> bytes:
        start = self._offset()
        if size is None or size < 0:
            size = max(self._size - start, 0)
        data = os.pread(self._fd, size, start)
        self._offsets[threading.get_ident()] = start + len(data)
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    write = truncate = _refuse

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self._fd)

    def __enter__(self) -> PositionalFile:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def door_class() -> type[Any]:
    """The fsspec file system class (fsspec imported only when a view needs the door)."""
    global _DOOR
    if _DOOR is not None:
        return _DOOR
    from fsspec.spec import AbstractFileSystem

    class Door(AbstractFileSystem):  # type: ignore[misc]
        """Serves `allowed` (real, absolute paths) read-only; refuses everything else."""

        protocol = PROTOCOL
        root_marker = "/"
        cachable = False

        def __init__(self, allowed: set[str]) -> None:
            super().__init__(skip_instance_cache=True)
            self.allowed = frozenset(allowed)
            self.missing: list[str] = []

        def _path(self, path: str) -> str:
            plain = str(self._strip_protocol(path))
            if not plain.startswith("/"):
                plain = "/" + plain
            if plain not in self.allowed:
                raise PermissionError(f"not a file of this query's views: {plain}")
            return plain

        def _open(self, path: str, mode: str = "rb", **_kwargs: Any) -> PositionalFile:
            if mode != "rb":
                _refuse()
            plain = self._path(path)
            try:
                return PositionalFile(plain)
            except FileNotFoundError:
                self.missing.append(plain)
                raise

        def info(self, path: str, **_kwargs: Any) -> dict[str, Any]:
            plain = self._path(path)
            try:
                size = os.stat(plain).st_size
            except FileNotFoundError:
                self.missing.append(plain)
                raise
            return {"name": plain, "size": size, "type": "file"}

        def modified(self, path: str) -> datetime:
            plain = self._path(path)
            return datetime.fromtimestamp(os.stat(plain).st_mtime, tz=UTC)

        def exists(self, path: str, **_kwargs: Any) -> bool:
            try:
                return os.path.isfile(self._path(path))
            except PermissionError:
                return False

        def isdir(self, path: str) -> bool:
            return False

        def isfile(self, path: str) -> bool:
            return self.exists(path)

        def ls(self, path: str, detail: bool = True, **_kwargs: Any) -> list[Any]:
            _refuse()

        def glob(self, path: str, **_kwargs: Any) -> list[str]:
            # Only exact names: a pattern never lists anything.
            return [path] if self.exists(path) else []

        # Every call that would write, move, remove or create something refuses.
        mkdir = makedirs = rmdir = rm = rm_file = _rm = mv = move = rename = _refuse
        cp_file = copy = put = put_file = get = get_file = touch = _refuse
        pipe = pipe_file = write_text = write_bytes = created = _refuse

    _DOOR = Door
    return Door


_DOOR: type[Any] | None = None


class Attachment:
    """What one connection's views read: Parquet through the door (lazy), and small tables
    loaded into memory before the lock (the files newer than a compaction)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, root: Path) -> None:
        self.con = con
        self.root = root.resolve()
        self._files: set[str] = set()
        self._door: Any = None
        self._tables = 0
        self._memo: dict[str, Any] = {}

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """`compute()` once per connection (several views share what they read)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return cast(T, self._memo[key])

    def readable(self, paths: list[Path]) -> list[Path]:
        """The real paths of those of `paths` that are regular files inside the workspace:
        a symlink planted in the lens folder, or a manifest naming `../..`, is never read.
        A file gone since its manifest was read stays in: the door reports it `missing` when
        the statement reads it, and the query is read again (never silently short)."""
        found = []
        for path in paths:
            try:
                real = path.resolve()
            except (OSError, RuntimeError):
                continue
            if real.is_relative_to(self.root) and (real.is_file() or not real.exists()):
                found.append(real)
        return found

    def parquet(self, paths: list[Path]) -> str:
        """The rows of the Parquet files `paths` (from `readable`) for a view: loaded into
        a memory table now when they hold at most `LOAD_ROWS` rows, else `read_parquet`
        through the door (lazy)."""
        return self.memo(f"parquet:{paths}", lambda: self._parquet(paths))

    def _parquet(self, paths: list[Path]) -> str:
        local = sql_paths(paths)
        if LOAD_ROWS > 0:
            counted = self.con.execute(
                f"SELECT coalesce(sum(num_rows), 0) FROM parquet_file_metadata({local})"
            ).fetchone()
            if counted is not None and counted[0] <= LOAD_ROWS:
                return self.table(f"SELECT * FROM read_parquet({local})")
        urls = []
        for path in paths:
            real = str(path)
            self._files.add(real)
            urls.append(f"{PROTOCOL}://{real}")
        if self._door is None:
            self._door = door_class()(set())
            self.con.register_filesystem(self._door)
        self._door.allowed = frozenset(self._files)
        return f"read_parquet([{', '.join(sql_string(u) for u in urls)}])"

    def table(self, sql: str) -> str:
        """A memory table holding the rows of `sql` (read now, before the lock): its name."""
        self._tables += 1
        name = f"_lens_loose_{self._tables}"
        self.con.execute(f'CREATE TEMP TABLE "{name}" AS {sql}')
        return f'"{name}"'

    def seal(self) -> None:
        """Allow exactly the door's URLs; call right before `lock_down`."""
        if self._files:
            allowed = ", ".join(sql_string(f"{PROTOCOL}://{p}") for p in sorted(self._files))
            self.con.execute(f"SET allowed_paths = [{allowed}]")

    @property
    def missing(self) -> list[str]:
        """Files the door was asked for that no longer exist (retired by a compaction)."""
        return list(self._door.missing) if self._door is not None else []
