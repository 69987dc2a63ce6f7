"""Immutable, content-addressed dataset snapshots.

`data/snapshots/ds-<hash>/` holds `data.parquet` and `manifest.json`. The id is a hash of
the validated, normalized content plus the dataset name and schema version, so the same
content gives the same id and re-snapshotting writes nothing. The manifest's
`source_time_zone` records the UTC offsets the source's times carried (or "naive") and the
dataset's `time_zone` mode applied to them (ADR 0020). A snapshot folder is built
under a temporary name and renamed into place: a crash leaves no partial snapshot.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.foundation import clock
from core.foundation.atomic import write_json
from core.foundation.config import DatasetConfig, ModelConfig
from core.foundation.errors import DataInvalidError, ExitCode, FactoryError
from core.foundation.ids import validate_name
from core.foundation.workspace import Workspace

if TYPE_CHECKING:
    import pandas as pd

SNAPSHOT_ID = re.compile(r"^ds-[0-9a-f]{12}$")


@dataclass(frozen=True)
class SnapshotResult:
    id: str
    created: bool
    """False when an identical snapshot already existed (nothing was written)."""
    manifest: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "created": self.created, "manifest": self.manifest}


def dataset_config(ws: Workspace, name: str | None) -> DatasetConfig:
    """The dataset named `name`, or the only one when `name` is None."""
    datasets = ws.config.datasets
    if name is None:
        if len(datasets) == 1:
            return next(iter(datasets.values()))
        raise FactoryError(
            "dataset_required",
            "Name the dataset with --dataset",
            hint=f"Datasets in factory.toml: {', '.join(sorted(datasets)) or 'none'}",
            exit_code=ExitCode.USAGE,
        )
    validate_name(name, "dataset name")
    if name not in datasets:
        raise FactoryError(
            "unknown_dataset",
            f"No dataset {name!r} in {ws.config_path}",
            hint=f"Known datasets: {', '.join(sorted(datasets)) or 'none'}. Add a "
            f"[datasets.{name}] table to factory.toml to define it.",
            details={"dataset": name, "known": sorted(datasets)},
        )
    return datasets[name]


def content_hash(frame: pd.DataFrame, dataset: str, schema_version: str | None) -> str:
    import pandas as pd

    digest = hashlib.sha256()
    digest.update(json.dumps([dataset, schema_version]).encode())
    digest.update(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def validate_snapshot_id(snapshot_id: str) -> str:
    if not isinstance(snapshot_id, str) or not SNAPSHOT_ID.match(snapshot_id):
        raise FactoryError(
            "invalid_snapshot_id",
            f"{snapshot_id!r} is not a snapshot id (ds- followed by 12 hex digits)",
            hint="List snapshots with `factory data list`.",
            exit_code=ExitCode.USAGE,
        )
    return snapshot_id


def snapshot_dir(ws: Workspace, snapshot_id: str) -> Path:
    return ws.snapshots_dir / validate_snapshot_id(snapshot_id)


def get_manifest(ws: Workspace, snapshot_id: str) -> dict[str, Any]:
    path = snapshot_dir(ws, snapshot_id) / "manifest.json"
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FactoryError(
            "unknown_snapshot",
            f"No snapshot {snapshot_id} in {ws.snapshots_dir}",
            hint="List snapshots with `factory data list`; create one with `factory data snapshot`.",
            details={"snapshot_id": snapshot_id},
        ) from None
    return manifest


def list_manifests(ws: Workspace, dataset: str | None = None) -> list[dict[str, Any]]:
    """Manifests, oldest first."""
    found = []
    if ws.snapshots_dir.is_dir():
        for path in ws.snapshots_dir.glob("ds-*/manifest.json"):
            try:
                manifest = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                continue
            if dataset is None or manifest.get("dataset") == dataset:
                found.append(manifest)
    found.sort(key=lambda m: (m.get("created_at") or "", m["id"]))
    return found


def latest_snapshot_id(ws: Workspace, dataset: str) -> str | None:
    manifests = list_manifests(ws, dataset)
    return manifests[-1]["id"] if manifests else None


def load_snapshot(ws: Workspace, snapshot_id: str) -> pd.DataFrame:
    """The snapshot's rows: time column as datetime64, ordered by time then entities."""
    import pandas as pd

    manifest = get_manifest(ws, snapshot_id)
    frame = pd.read_parquet(snapshot_dir(ws, snapshot_id) / "data.parquet")
    time_column = manifest["time_column"]
    frame[time_column] = pd.to_datetime(frame[time_column])
    return frame


def read_and_validate(ws: Workspace, dataset: DatasetConfig, source: str | None) -> tuple[Any, Any]:
    from core.data.sources import read_source
    from core.data.validation import validate_source

    source_frame = read_source(ws.root, source or dataset.source)
    report, normalized = validate_source(ws, dataset, source_frame)
    return source_frame, (report, normalized)


def create_snapshot(
    ws: Workspace, dataset_name: str | None, source: str | None = None
) -> SnapshotResult:
    """Validate `source` (default: the dataset's configured source) and store a snapshot."""
    dataset = dataset_config(ws, dataset_name)
    source_frame, (report, frame) = read_and_validate(ws, dataset, source)
    if not report.ok or frame is None:
        raise DataInvalidError(
            report.summary(),
            hint="Fix the rows listed in details (or the schema version in factory.toml), then "
            "snapshot again. Nothing was stored.",
            details=report.to_dict(),
        )
    digest = content_hash(frame, dataset.name, dataset.schema)
    snapshot_id = f"ds-{digest[:12]}"
    final = ws.snapshots_dir / snapshot_id
    if (final / "manifest.json").is_file():
        return SnapshotResult(snapshot_id, False, get_manifest(ws, snapshot_id))
    time_values = frame[dataset.time_column]
    manifest = {
        "id": snapshot_id,
        "dataset": dataset.name,
        "source": source_frame.label,
        "source_path": source_frame.path,
        "source_sha256": source_frame.sha256,
        "rows": len(frame),
        "columns": [str(c) for c in frame.columns],
        "dtypes": {str(c): str(t) for c, t in frame.dtypes.items()},
        "time_column": dataset.time_column,
        "entity_columns": list(dataset.entity_columns),
        "time_range": [time_values.min().isoformat(), time_values.max().isoformat()],
        "distinct_times": int(time_values.nunique()),
        "source_time_zone": report.source_time_zone,
        "schema_version": dataset.schema,
        "schema_hash": report.schema_hash,
        "content_hash": digest,
        "created_at": clock.iso(),
    }
    ws.snapshots_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{snapshot_id}.", suffix=".tmp", dir=ws.snapshots_dir))
    try:
        parquet = staging / "data.parquet"
        frame.to_parquet(parquet, index=False)
        with open(parquet, "rb") as handle:
            os.fsync(handle.fileno())
        write_json(staging / "manifest.json", manifest)
        try:
            os.rename(staging, final)
        except OSError:
            # Another process stored the same content first: theirs is identical.
            if (final / "manifest.json").is_file():
                shutil.rmtree(staging, ignore_errors=True)
                return SnapshotResult(snapshot_id, False, get_manifest(ws, snapshot_id))
            raise
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(staging)
        raise
    from core.foundation.events import emit

    emit(
        ws.events_dir,
        "snapshot.created",
        dataset_id=snapshot_id,
        dataset=dataset.name,
        rows=manifest["rows"],
        source=manifest["source"],
    )
    return SnapshotResult(snapshot_id, True, manifest)


def validate_only(ws: Workspace, dataset_name: str | None, source: str) -> Any:
    """Check `source` against the dataset's schema without storing anything."""
    dataset = dataset_config(ws, dataset_name)
    _, (report, _) = read_and_validate(ws, dataset, source)
    return report


def snapshot_for(ws: Workspace, config: ModelConfig, snapshot: str | None) -> str:
    """The snapshot a model trains or is checked on: the one asked for (of the model's
    dataset), else the newest one, else a new one of its source."""
    if snapshot is not None:
        manifest = get_manifest(ws, snapshot)
        if manifest.get("dataset") != config.dataset:
            raise FactoryError(
                "snapshot_mismatch",
                f"Snapshot {snapshot} is of dataset {manifest.get('dataset')!r}; model "
                f"{config.name!r} trains on {config.dataset!r}",
                hint=f"List snapshots with `factory data list --dataset {config.dataset}`.",
                details={"snapshot": snapshot, "dataset": manifest.get("dataset")},
                exit_code=ExitCode.USAGE,
            )
        return snapshot
    latest = latest_snapshot_id(ws, config.dataset)
    if latest is not None:
        return latest
    return create_snapshot(ws, config.dataset).id
