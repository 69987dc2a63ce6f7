"""A snapshot's manifest as the commands answer with it (`data show`, `data snapshot`,
`data list`): the stored `manifest.json` in the JSON vocabulary (docs/vocabulary.md), where a
snapshot id is always `snapshot_id`. The file itself keeps its own key (`id`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict


class SourceTimeZone(TypedDict):
    mode: str
    """The dataset's `time_zone` mode applied (`wall_clock`, `utc`, ...; ADR 0020)."""
    offsets: Any
    """The UTC offsets the source's times carried, or `naive`."""


class ManifestData(TypedDict):
    """An immutable, content-addressed snapshot (ADR 0005)."""

    snapshot_id: str
    """`ds-` and 12 hex digits of the content hash."""
    dataset: str
    source: str | None
    """Where the rows came from, as factory.toml names it (`vega:seattle-weather`, a path)."""
    source_path: str | None
    """The source file read (absolute: outside the workspace)."""
    source_sha256: str | None
    rows: int
    columns: list[str]
    dtypes: dict[str, str]
    """Column -> pandas dtype."""
    time_column: str | None
    entity_columns: list[str]
    time_range: list[str | None]
    """[first, last] time in the time column."""
    distinct_times: int | None
    source_time_zone: SourceTimeZone | None
    schema_version: str | None
    schema_hash: str | None
    content_hash: str | None
    created_at: str | None


def manifest_json(raw: dict[str, Any]) -> ManifestData:
    """The stored manifest in the answer's vocabulary; keys an older manifest lacks are null."""
    zone = raw.get("source_time_zone")
    return {
        "snapshot_id": str(raw.get("id") or raw.get("snapshot_id")),
        "dataset": str(raw.get("dataset")),
        "source": raw.get("source"),
        "source_path": raw.get("source_path"),
        "source_sha256": raw.get("source_sha256"),
        "rows": int(raw.get("rows") or 0),
        "columns": [str(c) for c in raw.get("columns") or []],
        "dtypes": {str(k): str(v) for k, v in (raw.get("dtypes") or {}).items()},
        "time_column": raw.get("time_column"),
        "entity_columns": [str(c) for c in raw.get("entity_columns") or []],
        "time_range": list(raw.get("time_range") or [None, None]),
        "distinct_times": raw.get("distinct_times"),
        "source_time_zone": (
            {"mode": str(zone.get("mode")), "offsets": zone.get("offsets")}
            if isinstance(zone, dict)
            else None
        ),
        "schema_version": raw.get("schema_version"),
        "schema_hash": raw.get("schema_hash"),
        "content_hash": raw.get("content_hash"),
        "created_at": raw.get("created_at"),
    }


class SnapshotRow(TypedDict):
    snapshot_id: str
    dataset: str
    rows: int
    time_range: list[str | None]
    schema_version: str | None
    source: str | None
    created_at: str | None


@dataclass(frozen=True)
class SnapshotList:
    """`factory data list`: the snapshots, oldest first."""

    snapshots: list[SnapshotRow]
    count: int

    @classmethod
    def of(cls, manifests: list[dict[str, Any]]) -> SnapshotList:
        rows: list[SnapshotRow] = []
        for raw in manifests:
            m = manifest_json(raw)
            rows.append(
                {
                    "snapshot_id": m["snapshot_id"],
                    "dataset": m["dataset"],
                    "rows": m["rows"],
                    "time_range": m["time_range"],
                    "schema_version": m["schema_version"],
                    "source": m["source"],
                    "created_at": m["created_at"],
                }
            )
        return cls(rows, len(rows))

    def to_dict(self) -> dict[str, Any]:
        return {"snapshots": list(self.snapshots), "count": self.count}


@dataclass(frozen=True)
class ManifestView:
    """`factory data show`: one snapshot's manifest."""

    manifest: dict[str, Any]
    """As stored (`manifest.json`)."""

    def to_dict(self) -> ManifestData:
        return manifest_json(self.manifest)


class SnapshotData(TypedDict):
    """`factory data snapshot`: the snapshot, and whether this call created it."""

    snapshot_id: str
    created: bool
    """False when an identical snapshot already existed (nothing was written)."""
    manifest: ManifestData
