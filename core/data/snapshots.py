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

from core.data.manifests import SnapshotData, manifest_json
from core.foundation import clock
from core.foundation.atomic import write_json
from core.foundation.config import DatasetConfig, ModelConfig
from core.foundation.errors import DataInvalidError, ExitCode, FactoryError
from core.foundation.ids import validate_name
from core.foundation.workspace import Workspace

if TYPE_CHECKING:
    import pandas as pd

    from core.data.sources import SourceStream
    from core.data.validation import ValidationReport

SNAPSHOT_ID = re.compile(r"^ds-[0-9a-f]{12}$")


@dataclass(frozen=True)
class SnapshotResult:
    id: str
    created: bool
    """False when an identical snapshot already existed (nothing was written)."""
    manifest: dict[str, Any]

    def to_dict(self) -> SnapshotData:
        return {
            "snapshot_id": self.id,
            "created": self.created,
            "manifest": manifest_json(self.manifest),
        }


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


class ContentHasher:
    """SHA-256 over the dataset name, the schema version, the column names and dtypes, and
    pandas' per-row hashes of the normalized rows in order (ADR 0005). Rows may be given in
    batches: pandas hashes each row on its own, so batches hash as the whole frame would."""

    def __init__(self, dataset: str, schema_version: str | None, dtypes: list[tuple[str, Any]]):
        self.dtypes = [(str(c), str(t)) for c, t in dtypes]
        self.digest = hashlib.sha256()
        self.digest.update(json.dumps([dataset, schema_version]).encode())
        self.digest.update(json.dumps([[c, t] for c, t in self.dtypes]).encode())

    def update(self, frame: pd.DataFrame) -> None:
        import pandas as pd

        found = [(str(c), str(t)) for c, t in frame.dtypes.items()]
        if found != self.dtypes:  # pragma: no cover - a bug in the chunked path
            raise FactoryError(
                "internal",
                f"rows hashed with dtypes {found}, expected {self.dtypes}",
                exit_code=ExitCode.INTERNAL,
            )
        self.digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())

    def hexdigest(self) -> str:
        return self.digest.hexdigest()


def content_hash(frame: pd.DataFrame, dataset: str, schema_version: str | None) -> str:
    hasher = ContentHasher(dataset, schema_version, [(str(c), t) for c, t in frame.dtypes.items()])
    hasher.update(frame)
    return hasher.hexdigest()


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


@dataclass
class _Ingested:
    """A source checked, and (when asked and valid) its rows normalized."""

    report: ValidationReport
    stream: SourceStream
    frame: pd.DataFrame | None = None
    """A source read in one piece: its normalized rows, in memory."""
    staged: Path | None = None
    """A source read in chunks: the folder holding its sorted `data.parquet`."""
    facts: dict[str, Any] | None = None
    """For `staged`: rows, columns, dtypes, time range, distinct times, content hash."""

    def discard(self) -> None:
        if self.staged is not None:
            shutil.rmtree(self.staged, ignore_errors=True)
            self.staged = None


def _ingest(ws: Workspace, dataset: DatasetConfig, source: str, *, store: bool) -> _Ingested:
    """Read `source` in chunks of bounded size and check it against `dataset`; with
    `store`, also build the normalized rows (in memory for a one-chunk source, else a
    sorted Parquet file in a staging folder under data/snapshots)."""
    from core.data.sources import SourceStream
    from core.data.streaming import Reread

    as_text: tuple[str, ...] = ()
    while True:
        stream = SourceStream(ws.root, source)
        try:
            return _ingest_once(ws, dataset, stream, as_text, store=store)
        except Reread as again:
            if as_text:  # pragma: no cover - text columns read as text agree
                raise FactoryError(
                    "internal",
                    f"{stream.path}: columns {again.columns} disagree even read as text",
                    exit_code=ExitCode.INTERNAL,
                ) from None
            as_text = tuple(again.columns)


def _ingest_once(
    ws: Workspace,
    dataset: DatasetConfig,
    stream: SourceStream,
    as_text: tuple[str, ...],
    *,
    store: bool,
) -> _Ingested:
    from core.data.sources import SourceFrame
    from core.data.validation import validate_source

    chunks = stream.chunks(as_text=as_text)
    first = next(chunks)
    second = next(chunks, None)
    if second is None:  # the whole source in one piece: checked as a frame
        lines = [int(n) for n in first.lines] if first.lines is not None else None
        whole = SourceFrame(
            first.frame, stream.label, stream.path, stream.sha256 or "", stream.kind, lines
        )
        report, frame = validate_source(ws, dataset, whole)
        return _Ingested(report, stream, frame if store else None)
    return _ingest_chunks(ws, dataset, stream, chunks, [first, second], store=store)


def _ingest_chunks(
    ws: Workspace,
    dataset: DatasetConfig,
    stream: SourceStream,
    chunks: Any,
    ahead: list[Any],
    *,
    store: bool,
) -> _Ingested:
    import duckdb

    from core.data.sources import chunk_bytes_setting
    from core.data.streaming import (
        ChunkedCheck,
        Staging,
        check_memory,
        out_of_memory,
        staging_folder,
    )
    from core.data.validation import contract

    terms = contract(ws, dataset)
    whole_table = terms.whole_table_checks()
    if whole_table:
        raise FactoryError(
            "schema_not_streamable",
            f"{stream.path}: {stream.size / 2**20:.0f} MiB is read in chunks, and schema "
            f"{dataset.schema} has checks that need every row at once: "
            f"{'; '.join(whole_table)}",
            hint="Make those checks row-wise (pandera `element_wise=True`, or a built-in check "
            "such as in_range/isin), or drop them from the schema version; duplicate times "
            "per entity are checked by factory itself.",
            details={"file": stream.path, "schema": dataset.schema, "checks": whole_table},
        )
    root = ws.snapshots_dir if store else ws.state_dir / "staging"
    folder = staging_folder(root, "stage")
    try:
        _room_for(folder, stream, store)
        check_memory(stream.path, chunk_bytes_setting())
        staging = Staging(folder / "parts")
        staging.keeping = store
        check = ChunkedCheck(terms, staging, stream.label, stream.path)
        try:
            while ahead:
                check.add(ahead.pop(0))
            for chunk in chunks:
                check.add(chunk)
            report = check.finish()
            if not (store and report.ok):
                shutil.rmtree(folder, ignore_errors=True)
                return _Ingested(report, stream)
            facts = _write_merged(folder, staging, terms.keys, dataset, stream.path)
        except duckdb.OutOfMemoryException as exc:
            raise out_of_memory(stream.path, exc) from None
        finally:
            staging.close()
        shutil.rmtree(folder / "parts", ignore_errors=True)
        return _Ingested(report, stream, staged=folder, facts=facts)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _room_for(folder: Path, stream: SourceStream, store: bool) -> None:
    """Refuse up front when the staging folder's disk cannot hold the chunks."""
    need = int(stream.size * (1.0 if stream.kind == "csv" else 2.0)) if store else 0
    need = need // 2 + 64 * 2**20 if not store else need + 64 * 2**20
    free = shutil.disk_usage(folder).free
    if free < need:
        raise FactoryError(
            "disk_full",
            f"{folder.parent}: {free / 2**30:.1f} GiB free, and reading {stream.path} "
            f"({stream.size / 2**30:.1f} GiB) in chunks needs about {need / 2**30:.1f} GiB there",
            hint="Free disk space in the workspace, then run the command again. Nothing was "
            "stored.",
            details={"file": stream.path, "folder": str(folder.parent), "free": free, "need": need},
        )


def _write_merged(
    folder: Path, staging: Any, order: list[str], dataset: DatasetConfig, source_path: str
) -> dict[str, Any]:
    """The staged chunks merged into `folder/data.parquet`, hashed as they are written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from core.data.streaming import assemble

    dtypes = staging.data_kinds.unified()
    columns = list(staging.data_kinds.order or [])
    hasher = ContentHasher(dataset.name, dataset.schema, [(c, dtypes[c]) for c in columns])
    schema = _arrow_schema(staging, columns, dtypes)
    path = folder / "data.parquet"
    writer: Any = None

    def write(frame: pd.DataFrame) -> None:
        nonlocal writer
        hasher.update(frame)
        table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)

    try:
        done = assemble(staging, order, write, source_path)
    finally:
        if writer is not None:
            writer.close()
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())
    return {
        "rows": done.rows,
        "columns": columns,
        "dtypes": {c: str(dtypes[c]) for c in columns},
        "time_range": [done.first_time.isoformat(), done.last_time.isoformat()],
        "distinct_times": done.distinct_times,
        "content_hash": hasher.hexdigest(),
    }


def _arrow_schema(staging: Any, columns: list[str], dtypes: dict[str, Any]) -> Any:
    """The Arrow types of the merged rows: each column's type across the stored chunks
    (a column empty in one chunk takes the others' type)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from core.data.streaming import PART

    schemas = [pq.read_schema(p).remove_metadata() for p in staging.data_parts]
    unified = pa.unify_schemas(schemas, promote_options="permissive")
    fields = []
    for name in columns:
        arrow = unified.field(name)
        dtype = dtypes[name]
        if isinstance(dtype, pd.CategoricalDtype):
            size = len(dtype.categories)
            index = pa.int8() if size < 2**7 else pa.int16() if size < 2**15 else pa.int32()
            value = arrow.type.value_type if pa.types.is_dictionary(arrow.type) else arrow.type
            arrow = pa.field(name, pa.dictionary(index, value, ordered=dtype.ordered))
        fields.append(arrow)
    del PART
    return pa.schema(fields)


def create_snapshot(
    ws: Workspace, dataset_name: str | None, source: str | None = None
) -> SnapshotResult:
    """Validate `source` (default: the dataset's configured source) and store a snapshot.
    Memory stays bounded whatever the source's size (ADR 0029)."""
    dataset = dataset_config(ws, dataset_name)
    ingested = _ingest(ws, dataset, source or dataset.source, store=True)
    report, stream = ingested.report, ingested.stream
    if not report.ok:
        ingested.discard()
        raise DataInvalidError(
            report.summary(),
            hint="Fix the rows listed in details (or the schema version in factory.toml), then "
            "snapshot again. Nothing was stored.",
            details=report.to_dict(),
        )
    frame = ingested.frame
    if frame is not None:
        digest = content_hash(frame, dataset.name, dataset.schema)
        time_values = frame[dataset.time_column]
        facts: dict[str, Any] = {
            "rows": len(frame),
            "columns": [str(c) for c in frame.columns],
            "dtypes": {str(c): str(t) for c, t in frame.dtypes.items()},
            "time_range": [time_values.min().isoformat(), time_values.max().isoformat()],
            "distinct_times": int(time_values.nunique()),
            "content_hash": digest,
        }
    else:
        assert ingested.facts is not None
        facts = ingested.facts
        digest = facts["content_hash"]
    snapshot_id = f"ds-{digest[:12]}"
    final = ws.snapshots_dir / snapshot_id
    if (final / "manifest.json").is_file():
        ingested.discard()
        return SnapshotResult(snapshot_id, False, get_manifest(ws, snapshot_id))
    manifest = {
        "id": snapshot_id,
        "dataset": dataset.name,
        "source": stream.label,
        "source_path": stream.path,
        "source_sha256": stream.sha256,
        "rows": facts["rows"],
        "columns": facts["columns"],
        "dtypes": facts["dtypes"],
        "time_column": dataset.time_column,
        "entity_columns": list(dataset.entity_columns),
        "time_range": facts["time_range"],
        "distinct_times": facts["distinct_times"],
        "source_time_zone": report.source_time_zone,
        "schema_version": dataset.schema,
        "schema_hash": report.schema_hash,
        "content_hash": digest,
        "created_at": clock.iso(),
    }
    ws.snapshots_dir.mkdir(parents=True, exist_ok=True)
    staging = ingested.staged or Path(
        tempfile.mkdtemp(prefix=f".{snapshot_id}.", suffix=".tmp", dir=ws.snapshots_dir)
    )
    try:
        if frame is not None:
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


def validate_only(ws: Workspace, dataset_name: str | None, source: str) -> ValidationReport:
    """Check `source` against the dataset's schema without storing anything (in chunks of
    bounded size, as a snapshot reads it)."""
    dataset = dataset_config(ws, dataset_name)
    return _ingest(ws, dataset, source, store=False).report


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
