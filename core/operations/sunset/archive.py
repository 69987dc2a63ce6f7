"""The committed `archive/` folder: what a retirement or a removal took out of use, with the
SHA-256 of every file, so nothing leaves the workspace silently (adrs/0031-outcomes-and-sunset.md).

    archive/runs/<run_id>/manifest.json        a retired run: what was archived, with hashes
    archive/runs/<run_id>/report.json          its report, card entry, verdicts, ADR links
    archive/runs/<run_id>/model/...            its artifact files
    archive/removals/<removal_id>/journal.json a removal: every step planned, then done
    archive/removals/<removal_id>/files/...    what it moved, under its workspace path

Every file lands whole (temporary file, fsync, rename) and a manifest is written last, so a
process killed half-way leaves either no manifest or a complete one. Files moved under a
`logs/` or `artifacts/` folder stay git-ignored there, as at their old place: the manifest
holds their hashes and sizes, the bulk stays out of git.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from core.foundation.atomic import atomic_path, write_json
from core.foundation.errors import FactoryError
from core.foundation.faults import crash_point
from core.foundation.workspace import Workspace

ARCHIVE_SCHEMA = "factory.archive/1"
CHUNK = 1 << 20


def archive_dir(ws: Workspace) -> Path:
    return ws.root / "archive"


def run_archive(ws: Workspace, run_id: str) -> Path:
    return archive_dir(ws) / "runs" / run_id


def removal_dir(ws: Workspace, removal_id: str) -> Path:
    return archive_dir(ws) / "removals" / removal_id


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def relative(ws: Workspace, path: Path) -> str:
    """`path` relative to the workspace, with forward slashes (how manifests name files)."""
    try:
        return path.resolve().relative_to(ws.root.resolve()).as_posix()
    except ValueError:
        return str(path)


def copy_in(source: Path, target: Path) -> dict[str, Any]:
    """Copy `source` to `target` atomically and check the copy: `{sha256, bytes}`. A target
    that already holds the same bytes is left alone."""
    digest = sha256_of(source)
    if target.is_file() and sha256_of(target) == digest:
        return {"sha256": digest, "bytes": target.stat().st_size}
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)
    copied = sha256_of(target)
    if copied != digest:  # pragma: no cover - a failing disk
        raise FactoryError(
            "archive_conflict",
            f"{target}: the copy of {source} does not match it (SHA-256 {copied[:12]} != "
            f"{digest[:12]})",
            hint="Check the disk, then run the command again.",
            details={"source": str(source), "target": str(target)},
        )
    return {"sha256": digest, "bytes": target.stat().st_size}


def write_in(target: Path, value: Any) -> dict[str, Any]:
    """Write a JSON document into the archive: `{sha256, bytes}`."""
    write_json(target, value)
    return {"sha256": sha256_of(target), "bytes": target.stat().st_size}


def move_in(ws: Workspace, source: Path, target: Path) -> dict[str, Any]:
    """Move a file into the archive, safe against a kill at any point: copy, check the copy's
    hash, then remove the source. Run again after a kill it finishes the move (the copy is
    there with the source's hash) or finds it done (the source is gone, the copy is there)."""
    if not source.exists():
        if target.is_file():
            return {"sha256": sha256_of(target), "bytes": target.stat().st_size, "moved": False}
        raise FactoryError(
            "archive_conflict",
            f"{relative(ws, source)} is gone and {relative(ws, target)} does not hold it",
            hint="Something else removed the file during the removal; see `git status`.",
            details={"source": str(source), "target": str(target)},
        )
    digest = sha256_of(source)
    if target.is_file() and sha256_of(target) != digest:
        raise FactoryError(
            "archive_conflict",
            f"{relative(ws, target)} already holds other content than {relative(ws, source)}",
            hint="Move the archived file aside and run the command again.",
            details={"source": str(source), "target": str(target)},
        )
    done = copy_in(source, target)
    crash_point("archive.after_copy", str(source))
    source.unlink()
    _remove_empty_parents(ws, source.parent)
    return {**done, "moved": True}


def _remove_empty_parents(ws: Workspace, folder: Path) -> None:
    """Remove folders a move left empty: a log partition, a rollout's folder, an artifact
    folder; never the workspace's own top folders (`logs/inference`, `components/features`)."""
    root = ws.root.resolve()
    current = folder.resolve()
    while current.is_relative_to(root) and current != root:
        parts = current.relative_to(root).parts
        if not (len(parts) >= 3 or (len(parts) == 2 and parts[0] == "artifacts")):
            return
        try:
            current.rmdir()
        except OSError:
            return
        current = current.parent


def read_manifest(path: Path) -> dict[str, Any] | None:
    try:
        raw = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return raw if isinstance(raw, dict) and raw.get("schema") == ARCHIVE_SCHEMA else None


def verify(folder: Path) -> list[str]:
    """Files of an archive folder's manifest whose bytes no longer match their hash."""
    manifest = read_manifest(folder / "manifest.json")
    if manifest is None:
        return ["manifest.json"]
    bad = []
    for item in manifest.get("files") or []:
        path = folder / str(item.get("path"))
        if not path.is_file() or sha256_of(path) != item.get("sha256"):
            bad.append(str(item.get("path")))
    return bad


def folder_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    total = 0
    for base, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += (Path(base) / name).stat().st_size
            except OSError:
                continue
    return total
