"""A content-addressed remote for what a clone lacks: run artifacts and dataset snapshots are
git-ignored (heavy, regenerable), so `factory push` copies them to a folder or any fsspec URL
(S3 with `s3fs`) and `factory pull` brings them back, each file checked against its SHA-256
before it is installed (adrs/0024-a-content-addressed-remote.md).

Layout of a remote: `objects/<aa>/<sha256>` (immutable file contents) and one small manifest per
item, `runs/<run_id>.json` or `snapshots/<ds-id>.json`, naming its files by hash. Objects are
written before the manifest that names them, each through a temporary name, so a push killed
half-way leaves at most an unnamed object and never a manifest that promises a missing file."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.foundation.errors import FactoryError
from core.foundation.workspace import Workspace

REMOTE_ENV = "FACTORY_REMOTE"
KINDS = ("run", "snapshot")
_FOLDER = {"run": "runs", "snapshot": "snapshots"}
_RUN_ID = re.compile(r"^r-[0-9a-f]{6,64}$")
_SNAPSHOT_ID = re.compile(r"^ds-[0-9a-f]{6,64}$")
_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_SHA = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class RemoteFile:
    name: str
    """Path inside the item's folder, `/`-separated (checked: never absolute, never `..`)."""
    sha256: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "size": self.size}


@dataclass(frozen=True)
class RemoteItem:
    kind: str
    """`run` (an artifact folder) or `snapshot` (a dataset snapshot folder)."""
    id: str
    status: str
    """push: `pushed`, `already_pushed`, `missing_local`; pull: `pulled`, `present`,
    `missing_remote`, `conflict` (a local copy differs from the remote's: kept, never
    overwritten)."""
    files: list[RemoteFile] = field(default_factory=list)
    bytes_moved: int = 0
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "status": self.status,
            "files": [f.to_dict() for f in self.files],
            "bytes_moved": self.bytes_moved,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class RemoteResult:
    direction: str
    """`push` or `pull`."""
    remote: str
    items: list[RemoteItem]

    JSON_PROPERTIES = ("counts", "bytes_moved")

    @property
    def counts(self) -> dict[str, int]:
        """Status (`sent`, `present`, ...) -> how many items."""
        found: dict[str, int] = {}
        for item in self.items:
            found[item.status] = found.get(item.status, 0) + 1
        return dict(sorted(found.items()))

    @property
    def bytes_moved(self) -> int:
        """Bytes copied by this call."""
        return sum(item.bytes_moved for item in self.items)

    def to_dict(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "remote": self.remote,
            "counts": self.counts,
            "bytes_moved": self.bytes_moved,
            "items": [item.to_dict() for item in self.items],
        }


# ---------------------------------------------------------------------------- the remote


def configured_remote(ws: Workspace, given: str | None) -> str | None:
    """`--remote`, else `FACTORY_REMOTE`, else `[remote] url`, else None; a relative local
    path is relative to the workspace root."""
    url = (
        given or os.environ.get(REMOTE_ENV) or str(ws.config.raw.get("remote", {}).get("url") or "")
    )
    if not url:
        return None
    if "://" not in url and not os.path.isabs(url):
        url = str((ws.root / url).resolve())
    return url


def remote_url(ws: Workspace, given: str | None) -> str:
    url = configured_remote(ws, given)
    if url is None:
        raise FactoryError(
            "remote_missing",
            "no remote is configured for artifacts and snapshots",
            hint=f'Add `[remote]\\nurl = "/path/to/folder"` (or an s3:// URL) to {ws.config_path}, '
            f"set {REMOTE_ENV}, or pass --remote.",
        )
    return url


class Remote:
    """An fsspec filesystem and the root of the store inside it."""

    def __init__(self, url: str) -> None:
        try:
            from fsspec.core import url_to_fs

            self.fs, root = url_to_fs(url)
        except (ImportError, ValueError) as exc:
            raise FactoryError(
                "remote_unreachable",
                f"{url}: cannot open this remote ({exc})",
                hint="A local folder works out of the box; s3:// needs `pip install s3fs`.",
            ) from exc
        self.url = url
        self.root = str(root).rstrip("/")

    def path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def object_path(self, sha: str) -> str:
        return self.path("objects", sha[:2], sha)

    def has(self, path: str) -> bool:
        return bool(self.fs.exists(path))

    def put_file(self, local: Path, target: str) -> None:
        """Upload through a temporary name, then rename: a reader never sees half a file."""
        folder = target.rsplit("/", 1)[0]
        self.fs.makedirs(folder, exist_ok=True)
        tmp = f"{folder}/.tmp-{uuid.uuid4().hex}"
        try:
            with local.open("rb") as source, self.fs.open(tmp, "wb") as sink:
                shutil.copyfileobj(source, sink, _CHUNK)
            self.fs.mv(tmp, target)
        finally:
            if self.fs.exists(tmp):
                self.fs.rm(tmp)

    def put_bytes(self, data: bytes, target: str) -> None:
        folder = target.rsplit("/", 1)[0]
        self.fs.makedirs(folder, exist_ok=True)
        tmp = f"{folder}/.tmp-{uuid.uuid4().hex}"
        try:
            with self.fs.open(tmp, "wb") as sink:
                sink.write(data)
            self.fs.mv(tmp, target)
        finally:
            if self.fs.exists(tmp):
                self.fs.rm(tmp)

    def read_manifest(self, kind: str, item_id: str) -> list[RemoteFile] | None:
        path = self.path(_FOLDER[kind], f"{item_id}.json")
        if not self.has(path):
            return None
        try:
            raw = json.loads(self.fs.cat_file(path))
            return [_checked_file(entry) for entry in raw["files"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise FactoryError(
                "remote_corrupt",
                f"{self.url}: the manifest {path} is unreadable ({exc})",
                hint=f"Push it again from a workspace that has it (`factory push {item_id}`).",
                details={"path": path},
            ) from exc


def _checked_file(entry: Any) -> RemoteFile:
    """A manifest entry from the remote becomes a local path: refuse anything that could
    point outside the item's folder."""
    name, sha, size = entry["name"], entry["sha256"], entry["size"]
    parts = str(name).split("/")
    if not all(_PART.match(p) and p not in (".", "..") for p in parts):
        raise ValueError(f"file name {name!r} is not a plain relative path")
    if not isinstance(sha, str) or not _SHA.match(sha) or not isinstance(size, int) or size < 0:
        raise ValueError(f"entry for {name!r} has no valid sha256 and size")
    return RemoteFile(str(name), sha, size)


# ---------------------------------------------------------------------------- local items


def local_dir(ws: Workspace, kind: str, item_id: str) -> Path:
    if kind == "run":
        if not _RUN_ID.match(item_id):
            raise FactoryError("invalid_name", f"{item_id!r} is not a run id (r-<hex>)")
        return ws.artifacts_dir / item_id
    if not _SNAPSHOT_ID.match(item_id):
        raise FactoryError("invalid_snapshot_id", f"{item_id!r} is not a snapshot id (ds-<hex>)")
    return ws.snapshots_dir / item_id


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def local_files(folder: Path) -> list[RemoteFile]:
    """The item's files, skipping temporary files a killed writer left."""
    found = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or any(p.startswith(".") for p in path.relative_to(folder).parts):
            continue
        name = path.relative_to(folder).as_posix()
        found.append(RemoteFile(name, sha256_of(path), path.stat().st_size))
    return found


def kind_of(item_id: str) -> str:
    return "snapshot" if item_id.startswith("ds-") else "run"


def local_items(ws: Workspace) -> list[tuple[str, str]]:
    """Every artifact and snapshot folder in the workspace that holds files."""
    found = []
    for kind, root in (("run", ws.artifacts_dir), ("snapshot", ws.snapshots_dir)):
        if not root.is_dir():
            continue
        pattern = _RUN_ID if kind == "run" else _SNAPSHOT_ID
        for folder in sorted(root.iterdir()):
            if folder.is_dir() and pattern.match(folder.name) and local_files(folder):
                found.append((kind, folder.name))
    return found


def referenced_items(ws: Workspace, *, live_only: bool) -> list[tuple[str, str]]:
    """What a clone needs: the runs holding a tier (or, with `live_only=False`, every run with a
    report) and the snapshots they pinned, from the committed memory."""
    from core.operations.tier_state import read_tiers

    runs: list[str] = []
    if live_only:
        for model in ws.config.models:
            tiers = read_tiers(ws, model)
            runs += [tiers[t] for t in ("staging", "prod") if tiers.get(t)]
    else:
        runs = sorted(p.stem for p in ws.reports_dir.glob("r-*.json"))
    items: list[tuple[str, str]] = []
    for run_id in dict.fromkeys(runs):
        items.append(("run", run_id))
        snapshot = _pinned_snapshot(ws, run_id)
        if snapshot:
            items.append(("snapshot", snapshot))
    return list(dict.fromkeys(items))


def _pinned_snapshot(ws: Workspace, run_id: str) -> str | None:
    try:
        report = json.loads((ws.reports_dir / f"{run_id}.json").read_bytes())
    except (OSError, ValueError):
        return None
    snapshot = report.get("snapshot_id") if isinstance(report, dict) else None
    return str(snapshot) if snapshot else None


# ---------------------------------------------------------------------------- push / pull


def push(ws: Workspace, items: Iterable[tuple[str, str]], url: str) -> RemoteResult:
    remote = Remote(url)
    done = [_push_one(ws, remote, kind, item_id) for kind, item_id in items]
    _record(ws, "push", remote, done)
    return RemoteResult("push", url, done)


def _push_one(ws: Workspace, remote: Remote, kind: str, item_id: str) -> RemoteItem:
    folder = local_dir(ws, kind, item_id)
    files = local_files(folder) if folder.is_dir() else []
    if not files:
        return RemoteItem(kind, item_id, "missing_local", detail=f"{folder} holds no files")
    sent = 0
    for f in files:
        target = remote.object_path(f.sha256)
        if not remote.has(target):
            remote.put_file(folder / f.name, target)
            sent += f.size
    manifest = json.dumps(
        {"kind": kind, "id": item_id, "files": [f.to_dict() for f in files]},
        indent=2,
        sort_keys=True,
    ).encode()
    path = remote.path(_FOLDER[kind], f"{item_id}.json")
    if remote.has(path) and remote.fs.cat_file(path) == manifest:
        return RemoteItem(kind, item_id, "already_pushed" if not sent else "pushed", files, sent)
    remote.put_bytes(manifest, path)
    return RemoteItem(kind, item_id, "pushed", files, sent)


def pull(ws: Workspace, items: Iterable[tuple[str, str]], url: str) -> RemoteResult:
    remote = Remote(url)
    done = [_pull_one(ws, remote, kind, item_id) for kind, item_id in items]
    _record(ws, "pull", remote, done)
    return RemoteResult("pull", url, done)


def _pull_one(ws: Workspace, remote: Remote, kind: str, item_id: str) -> RemoteItem:
    folder = local_dir(ws, kind, item_id)
    files = remote.read_manifest(kind, item_id)
    if files is None:
        here = folder.is_dir() and bool(local_files(folder))
        status = "present" if here else "missing_remote"
        return RemoteItem(kind, item_id, status, detail=None if here else "not in the remote")
    if folder.exists():
        have = {f.name: f.sha256 for f in local_files(folder)}
        want = {f.name: f.sha256 for f in files}
        if have == want:
            return RemoteItem(kind, item_id, "present", files)
        if have:
            differ = sorted(n for n in set(have) | set(want) if have.get(n) != want.get(n))
            return RemoteItem(
                kind, item_id, "conflict", files,
                detail=f"{folder} differs from the remote in {', '.join(differ)}; kept as it is",
            )  # fmt: skip
    received = _install(remote, folder, files)
    return RemoteItem(kind, item_id, "pulled", files, received)


def _install(remote: Remote, folder: Path, files: list[RemoteFile]) -> int:
    """Download into a private folder next to the target, check every hash, then rename the
    folder into place: the item appears whole or not at all."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".pull-{folder.name}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        received = 0
        for f in files:
            target = staging / f.name
            target.parent.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256()
            with (
                remote.fs.open(remote.object_path(f.sha256), "rb") as source,
                target.open("wb") as sink,
            ):
                for block in _blocks(source):
                    digest.update(block)
                    sink.write(block)
                sink.flush()
                os.fsync(sink.fileno())
            if digest.hexdigest() != f.sha256:
                raise FactoryError(
                    "remote_corrupt",
                    f"{remote.url}: {f.name} of {folder.name} does not match its SHA-256 "
                    f"(expected {f.sha256[:12]}, got {digest.hexdigest()[:12]}); nothing installed",
                    hint="Push it again from a workspace that has a good copy.",
                    details={"item": folder.name, "file": f.name},
                )
            received += f.size
        if folder.exists():
            folder.rmdir()  # an empty leftover folder; a non-empty one is a conflict upstream
        staging.rename(folder)
        _sync_folder(folder.parent)
        return received
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _blocks(source: Any) -> Iterator[bytes]:
    while block := source.read(_CHUNK):
        yield block


def _record(ws: Workspace, direction: str, remote: Remote, items: list[RemoteItem]) -> None:
    from core.foundation.events import emit

    moved = [i for i in items if i.status in ("pushed", "pulled")]
    if moved:
        emit(
            ws.events_dir,
            direction,
            remote=remote.url,
            items=[f"{i.kind}:{i.id}" for i in moved],
            bytes=sum(i.bytes_moved for i in moved),
        )
