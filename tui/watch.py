"""Cheap change detection: `stat` the workspace's folders and files, never open them.

A signature per area (reports, cards, adrs, events, runs index, config) is compared between
polls; an area whose signature moved is reloaded by the screens that show it. Nothing here
holds a file handle, so a training run or an editor in another pane is never blocked.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from core.foundation import stamps
from core.foundation.workspace import Workspace

AREAS = ("config", "reports", "cards", "adrs", "events", "index")
Signature = tuple[tuple[str, int, int], ...]


def _stat(path: Path) -> tuple[str, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (path.name, st.st_mtime_ns, st.st_size)


def _folder(path: Path, *, files: bool) -> Signature:
    """The folder's own stat (changes on add, remove, rename) and, when `files`, each file's
    stat (changes on in-place edits, as editors do with cards and ADRs)."""
    own = _stat(path)
    if own is None:
        return ()
    entries = [own]
    if files:
        try:
            with os.scandir(path) as it:
                for entry in it:
                    try:
                        st = entry.stat()
                    except OSError:
                        continue
                    entries.append((entry.name, st.st_mtime_ns, st.st_size))
        except OSError:
            pass
        entries.sort()
    return tuple(entries)


def _events(path: Path) -> Signature:
    """Only the newest date partition can grow; older ones are checked by name."""
    try:
        parts = sorted(p for p in os.listdir(path) if p.startswith("date="))
    except OSError:
        return ()
    if not parts:
        return ()
    newest = _folder(path / parts[-1], files=True)
    return (("partitions", len(parts), 0), *newest)


def _index(state_dir: Path) -> Signature:
    """The run index (`.factory/index/`: summaries folder and the compaction manifest) and
    the running-run markers (`.factory/runs/`). Caches and locks elsewhere in `.factory/`
    are left out: the dashboard's own reads refresh them."""
    index = state_dir / "index"
    parts = [_stat(index), _stat(index / "runs"), _stat(index / "manifest.json")]
    entries = tuple(p for p in parts if p is not None)
    return (*entries, *_folder(state_dir / "runs", files=True))


def _settle(signature: Signature) -> Signature:
    """An area stat'ed within `core.foundation.stamps.RACY_NS` of a write counts as moved on every poll,
    so a second write in the tick of the last poll shows up on the next one."""
    mtimes = [mtime for name, mtime, _ in signature if name != "partitions"]
    return signature if stamps.settled(*mtimes) else (*signature, ("unsettled", time.time_ns(), 0))


def signatures(ws: Workspace) -> dict[str, Signature]:
    """One signature per area; compare two results with `changed`."""
    return {area: _settle(signature) for area, signature in _raw_signatures(ws).items()}


def _raw_signatures(ws: Workspace) -> dict[str, Signature]:
    config = _stat(ws.config_path)
    return {
        "config": (config,) if config else (),
        "reports": _folder(ws.reports_dir, files=False),
        "cards": _folder(ws.cards_dir, files=True),
        "adrs": _folder(ws.adrs_dir, files=True),
        "events": _events(ws.events_dir),
        "index": _index(ws.state_dir),
    }


def run_index_signature(ws: Workspace) -> Signature:
    """What moves when a run is written: the reports folder and the run index."""
    return _settle((*_folder(ws.reports_dir, files=False), *_index(ws.state_dir)))


def changed(before: dict[str, Signature], after: dict[str, Signature]) -> frozenset[str]:
    return frozenset(area for area in AREAS if before.get(area) != after.get(area))
