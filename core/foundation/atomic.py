"""Crash-safe file writes.

Files are the truth (DESIGN.md), so a write either lands whole or not at all: data goes
to a temporary file in the same folder, is fsynced, then renamed over the target. Appends
to logs are whole lines written with a single `write` on an `O_APPEND` descriptor, which
POSIX keeps unmixed between processes for the line sizes we write.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success rename it over `target`.

    For writers that need a path (Parquet, CatBoost). On any exception the temporary
    file is removed and `target` is untouched.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


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
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = os.write(fd, data)
        if written != len(data):  # pragma: no cover - only on a full disk
            raise OSError(f"short append to {target}: {written} of {len(data)} bytes")
    finally:
        os.close(fd)


@contextlib.contextmanager
def file_lock(lock_path: Path) -> Iterator[None]:
    """An exclusive advisory lock (flock) for read-modify-write of a shared file.

    Used for cards and tier changes, where two processes must not both win. The lock
    file itself holds nothing and is never the truth.
    """
    import fcntl

    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
