"""The memory of point-in-time checks: which features versions (by source hash) leak.

Each check is one file, `reports/pit-<id>.json` (schema `factory.pit/1`), whose id hashes
the features version, its source hash, the snapshot and the check settings, so the same
check recorded twice writes nothing new. A check that found a leak in a (version, hash) at
any snapshot marks it failed for good: a leak found is never forgotten, whatever later
checks say. A check of another hash of the same version does not count: an edited module
must be checked again.

Reading is plain `json` over small files, memoised per file (inode, size, mtime) in this
process only, so `factory status` can call it without pandas.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from core.experiments.pit import CutData
from core.foundation import clock
from core.foundation.atomic import file_lock, write_json
from core.foundation.events import emit
from core.foundation.ids import hash_inputs
from core.foundation.workspace import Workspace

if TYPE_CHECKING:
    from core.experiments.pit import PitResult

SCHEMA = "factory.pit/1"
PREFIX = "pit-"
MAX_FAILING_CUTS = 50
"""Cuts with changed rows kept in a record; every checked cut's date is kept compactly."""

State = Literal["passed", "failed", "unchecked"]


@dataclass(frozen=True)
class PitState:
    state: State
    """`failed` once any check of this (version, hash) found a leak; `passed` with a passing
    check and no failing one; `unchecked` without any check of this hash."""
    pit_id: str | None
    """The deciding check: the first failing one, else the latest passing one."""
    checked_at: str | None
    changed_columns: list[str] = field(default_factory=list)
    """Every column any failing check of this hash found reading the future."""
    version: str = ""
    hash: str = ""
    snapshot_id: str | None = None
    """The snapshot of the deciding check."""
    coverage: float | None = None
    """The deciding check's coverage (share of possible cut dates that were cuts)."""
    budget_exhausted: bool | None = None
    """The deciding check ran out of budget before every date was a cut: a pass is partial."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "pit_id": self.pit_id,
            "checked_at": self.checked_at,
            "changed_columns": list(self.changed_columns),
            "version": self.version,
            "hash": self.hash,
            "snapshot_id": self.snapshot_id,
            "coverage": self.coverage,
            "budget_exhausted": self.budget_exhausted,
        }


def pit_id_for(version: str, source_hash: str, snapshot_id: str, settings: Any) -> str:
    """The id of a check: the same version, source, snapshot and settings give the same id."""
    inputs = {
        "version": version,
        "hash": source_hash,
        "snapshot_id": snapshot_id,
        "settings": settings,
    }
    return PREFIX + hash_inputs(inputs)


def _path(ws: Workspace, pit_id: str) -> Path:
    return ws.reports_dir / f"{pit_id}.json"


class PitRecord(TypedDict):
    """A recorded point-in-time check (`reports/pit-<id>.json`, `factory show pit-...`): the
    check's result with its failing cuts and the dates of every cut checked."""

    schema: str
    pit_id: str
    checked_at: str
    features: str
    """The features ref, `features/<version>`."""
    version: str
    hash: str
    """The features module's source hash."""
    model: str
    snapshot_id: str
    ok: bool
    violations: list[dict[str, Any]]
    """The first changed cells: cut, row, time, column, full-history and cut-history value."""
    cuts_planned: int
    cuts_checked: int
    dates: int
    budget_s: float
    elapsed_s: float
    build_s: float
    budget_exhausted: bool
    coverage: float
    coverage_7d: float
    changed_columns: list[str]
    leaky_dates: list[str]
    leaky_date_count: int
    build_errors: list[dict[str, Any]]
    build_error_count: int
    settings: dict[str, Any]
    """Method, budget, seed and the `[validation]` settings, by their factory.toml names."""
    summary: str
    failing_cuts: list[CutData]
    checked_cuts: list[str]


def _record(result: PitResult, pit_id: str) -> dict[str, Any]:
    data = result.to_dict()
    cuts = data.pop("cuts", [])
    data["failing_cuts"] = [c for c in cuts if c.get("changed_rows")][:MAX_FAILING_CUTS]
    data["checked_cuts"] = [c["cut"] for c in cuts]
    return {
        **data,
        "schema": SCHEMA,
        "pit_id": pit_id,
        "checked_at": clock.iso(),
        "version": result.version or result.features.split("/", 1)[-1],
    }


def record_check(ws: Workspace, result: PitResult) -> str:
    """Remember `result` as `reports/pit-<id>.json` and emit `features.checked`; returns the
    id. The same check again writes nothing (no file, no event) unless it now failed where
    the stored one passed: a failure always replaces a pass, never the other way round."""
    version = result.version or result.features.split("/", 1)[-1]
    pit_id = pit_id_for(version, result.hash, result.snapshot_id, result.settings)
    target = _path(ws, pit_id)
    with file_lock(ws.state_dir / "locks" / "pit.lock"):
        existing = _read(target)
        if existing is not None and (existing.get("ok") is False or bool(result.ok)):
            return pit_id
        write_json(target, _record(result, pit_id))
    emit(
        ws.events_dir,
        "features.checked",
        model=result.model,
        dataset_id=result.snapshot_id,
        version=version,
        hash=result.hash,
        ok=bool(result.ok),
        pit_id=pit_id,
        changed_columns=list(result.changed_columns),
        cuts_checked=result.cuts_checked,
        budget_exhausted=bool(result.budget_exhausted),
    )
    return pit_id


_FILES: dict[str, tuple[tuple[int, int, int], dict[str, Any] | None]] = {}
"""Per file path: (inode, size, mtime) and the small fields read from it. A write is a
rename, which brings a new inode, so a rewritten file is never served from memory."""

_KEYS = (
    "pit_id", "version", "hash", "snapshot_id", "ok", "checked_at", "changed_columns",
    "coverage", "budget_exhausted",
)  # fmt: skip


def _read(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as handle:
            raw = json.loads(handle.read())
    except (OSError, ValueError):
        return None
    return raw if isinstance(raw, dict) and raw.get("schema") == SCHEMA else None


def _records(ws: Workspace) -> list[dict[str, Any]]:
    """The small fields of every check in the workspace, oldest first."""
    found: list[dict[str, Any]] = []
    try:
        with os.scandir(ws.reports_dir) as scan:
            entries = list(scan)
    except OSError:
        return found
    for entry in entries:
        if not (entry.name.startswith(PREFIX) and entry.name.endswith(".json")):
            continue
        try:
            stat = entry.stat()
        except OSError:
            continue
        stamp = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        cached = _FILES.get(entry.path)
        if cached is None or cached[0] != stamp:
            raw = _read(Path(entry.path))
            small = None if raw is None else {k: raw.get(k) for k in _KEYS}
            cached = (stamp, small)
            _FILES[entry.path] = cached
        if cached[1] is not None:
            found.append(cached[1])
    found.sort(key=lambda r: (str(r.get("checked_at") or ""), str(r.get("pit_id"))))
    return found


def _decided(
    state: State, record: dict[str, Any], columns: list[str], version: str, source_hash: str
) -> PitState:
    coverage = record.get("coverage")
    exhausted = record.get("budget_exhausted")
    return PitState(
        state,
        record.get("pit_id"),
        record.get("checked_at"),
        columns,
        version,
        source_hash,
        record.get("snapshot_id"),
        float(coverage) if isinstance(coverage, (int, float)) else None,
        exhausted if isinstance(exhausted, bool) else None,
    )


def _state(version: str, source_hash: str, records: list[dict[str, Any]]) -> PitState:
    failed = [r for r in records if r.get("ok") is False]
    if failed:
        columns: list[str] = []
        for record in failed:
            for column in record.get("changed_columns") or []:
                if str(column) not in columns:
                    columns.append(str(column))
        return _decided("failed", failed[0], columns, version, source_hash)
    passed = [r for r in records if r.get("ok") is True]
    if passed:
        return _decided("passed", passed[-1], [], version, source_hash)
    return PitState("unchecked", None, None, [], version, source_hash)


def pit_state(ws: Workspace, version: str, source_hash: str) -> PitState:
    """What the checks recorded say of this features version at this source hash."""
    records = [
        r for r in _records(ws) if r.get("version") == version and r.get("hash") == source_hash
    ]
    return _state(version, source_hash, records)


def failed_versions(ws: Workspace) -> list[PitState]:
    """Every (version, hash) a check found leaking, oldest failure first."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in _records(ws):
        key = (str(record.get("version")), str(record.get("hash")))
        groups.setdefault(key, []).append(record)
    states = [_state(v, h, records) for (v, h), records in groups.items()]
    failed = [s for s in states if s.state == "failed"]
    failed.sort(key=lambda s: (str(s.checked_at or ""), s.version, s.hash))
    return failed
