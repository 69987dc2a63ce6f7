"""Publishing compacted files so that no reader ever sees half of it (adrs/0028).

Data files are written once, into a fresh folder that is renamed into place whole; then a
small manifest naming them is replaced atomically. A reader reads the manifest once and
opens only the files it names, so it never double-counts and never meets a half-written
file; the files a new manifest no longer names are retired and deleted only after a grace
period, so a reader that read the previous manifest still finds its files. A compactor
killed at any point leaves at most a temporary folder (`.tmp-*`), removed by the next one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.foundation.atomic import write_json

GRACE_S = 60.0
"""How long a retired file stays for readers holding the manifest that named it."""


def publish(path: Path, manifest: dict[str, Any]) -> None:
    """Replace the manifest atomically: readers see the old one or the new one, whole."""
    write_json(path, manifest)


@contextlib.contextmanager
def exclusive(lock_path: Path, wait: bool = True) -> Iterator[bool]:
    """An exclusive lock for one compactor at a time; yields False when `wait` is off and
    another holds it (the caller then skips: the other one is doing the work)."""
    import fcntl

    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def fresh_folder(parent: Path) -> Path:
    """A new temporary folder under `parent`, to fill and then `place`."""
    parent.mkdir(parents=True, exist_ok=True)
    folder = parent / f".tmp-{secrets.token_hex(6)}"
    folder.mkdir()
    return folder


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def place(tmp: Path, target: Path) -> None:
    """Make the filled folder `tmp` durable and rename it to `target` (which must not exist)."""
    for child in tmp.iterdir():
        _fsync(child)
    _fsync(tmp)
    os.rename(tmp, target)
    _fsync(target.parent)


def place_file(tmp_file: Path, target: Path) -> None:
    """Make `tmp_file` durable and rename it to `target` (a new name, never one in use)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    _fsync(tmp_file)
    os.replace(tmp_file, target)
    _fsync(target.parent)


def discard_orphan(target: Path) -> None:
    """Remove `target`, a name no manifest ever published (a compactor killed after placing
    it, before publishing): with the compaction lock held, no reader can be reading it."""
    _remove(target)


def retire(manifest: dict[str, Any], names: list[str], now: float | None = None) -> None:
    """Record that `names` (relative to the manifest's folder) are no longer named."""
    stamp = time.time() if now is None else now
    retired = list(manifest.get("retired") or [])
    retired.extend({"name": name, "at": stamp} for name in names)
    manifest["retired"] = retired


def collect(root: Path, manifest: dict[str, Any], grace_s: float = GRACE_S) -> list[str]:
    """Delete what was retired more than `grace_s` ago, and the temporary folders a killed
    compactor left (call with the compaction lock held: no live compactor owns one);
    returns what was deleted. `manifest` keeps the entries still in their grace."""
    now = time.time()
    kept, deleted = [], []
    for entry in manifest.get("retired") or []:
        name = str(entry.get("name"))
        if ".." in Path(name).parts or Path(name).is_absolute():
            continue  # not a name this module wrote: forget it, delete nothing
        if now - float(entry.get("at") or 0) < grace_s:
            kept.append(entry)
            continue
        _remove(root / name)
        deleted.append(name)
    manifest["retired"] = kept
    for path in root.glob(".tmp-*"):
        _remove(path)
        deleted.append(path.name)
    return deleted


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
