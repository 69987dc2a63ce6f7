"""Crash-safe file writes.

Files are the truth (DESIGN.md), so a write either lands whole or not at all: data goes
to a temporary file in the same folder, is fsynced, then renamed over the target. Appends
to logs are whole lines written with a single `write` on an `O_APPEND` descriptor, which
POSIX keeps unmixed between processes for the line sizes we write.

Cards, reports and ADRs are shared through git and with teammates, so a written file gets
the permissions `open()` would give it, `0o666` less the process umask, not the `0o600` of
`tempfile.mkstemp`. When the system refuses a write (read-only folder, full disk), the
`OSError` names the target, not the temporary file, so the CLI can say which path to fix.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.foundation.faults import crash_point


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_FILE_MODE = 0o666
"""The mode asked for when creating a file; the kernel removes the umask's bits, as for
`open()`."""


def _create_temporary(target: Path) -> Path:
    """A new, empty file beside `target`, created with `_FILE_MODE` so the umask applies.

    `O_EXCL` makes the name ours alone, as `tempfile.mkstemp` does, without its fixed 0o600.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = target.parent / f".{target.name}.{os.urandom(6).hex()}.tmp"
        try:
            os.close(os.open(tmp, flags, _FILE_MODE))
        except FileExistsError:
            continue
        except OSError as exc:
            exc.filename = str(target)  # the user knows the target, not our temporary name
            raise
        return tmp
    raise FileExistsError(f"no free temporary name beside {target}")  # pragma: no cover


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success rename it over `target`.

    For writers that need a path (Parquet, CatBoost). On any exception the temporary
    file is removed and `target` is untouched. The temporary file is created with mode
    `0o666 & ~umask`, so the target gets what `open()` would give it.
    """
    tmp: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = _create_temporary(target)
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        crash_point("atomic.before_rename", str(target))
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):  # never hide the error that got us here
                tmp.unlink()
        if (
            isinstance(exc, OSError)
            and exc.errno is not None
            and tmp is not None
            and exc.filename in (None, str(tmp))
        ):
            # A write into the temporary file names no path, a failed rename names the
            # temporary name: the user knows the target, and the temporary file is gone.
            exc.filename = str(target)
        raise


def remove_temporaries(folder: Path) -> list[Path]:
    """Remove the temporary files killed writers left in `folder` (`.NAME.HEX.tmp`).

    Call it only while holding the lock every writer of that folder takes (ADRs: the ADR
    lock), so no temporary file found is still being written."""
    removed = []
    if folder.is_dir():
        for path in folder.glob(".*.tmp"):
            if len(path.name.split(".")) >= 4 and path.is_file():
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed.append(path)
    return removed


def write_bytes(target: Path, data: bytes) -> None:
    """Atomically replace `target` with `data`."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_text(target: Path, text: str) -> None:
    """Atomically replace `target` with UTF-8 `text`."""
    write_bytes(target, text.encode("utf-8"))


def write_json(target: Path, value: Any) -> None:
    """Atomically write `value` as indented, key-sorted JSON (stable diffs in git)."""
    write_text(target, json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def append_line(target: Path, line: str) -> None:
    """Append one line (a newline is added) with a single write, so lines never interleave."""
    if "\n" in line:
        raise ValueError("append_line takes exactly one line")
    target.parent.mkdir(parents=True, exist_ok=True)
    data = (line + "\n").encode("utf-8")
    try:
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, _FILE_MODE)
        try:
            written = os.write(fd, data)
            if written != len(data):  # pragma: no cover - only on a full disk
                raise OSError(errno.ENOSPC, f"short append: {written} of {len(data)} bytes")
        finally:
            os.close(fd)
    except OSError as exc:
        if exc.errno is not None and exc.filename is None:
            exc.filename = str(target)  # `os.write` names no file: say which log was full
        raise


@contextlib.contextmanager
def file_lock(lock_path: Path) -> Iterator[None]:
    """An exclusive advisory lock (flock) for read-modify-write of a shared file.

    Used for cards and tier changes, where two processes must not both win. The lock
    file itself holds nothing and is never the truth.
    """
    import fcntl

    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, _FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
