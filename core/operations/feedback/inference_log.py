"""Reading the inference log back: one dict per logged prediction, whatever the layout.

The one place feedback and sunset read `logs/inference/` (written by `core.operations.predict`
and `core.serve.logbook`, adrs/0015), so a change of the log's layout is adapted here only:

- schema 2, batch: `date=D/<batch_id>.jsonl`, a batch record first (`"kind": "batch"`: model,
  run, tier, mode, arm, rollout, time and entity columns, ...), then one line per prediction
  (`request_id`, `batch_id`, `row`, `time`, `entity`, `input_hash`, `prediction`);
- schema 2, online: `date=D/o-<session>.<pid>-<hex>.jsonl`, a record per run served, then
  lines carrying every field themselves (`tier`, `mode`, `arm`, `status`, ...);
- schema 1: `date=D/<session>.jsonl`, every field on every line, no `time` or `entity`.

A prediction line takes each field from itself, else from its batch record. Temporary files
of a killed writer (`.<name>.tmp`) are never read, nor a torn last line. Files `factory
compact --prune` deleted are read from the compacted Parquet, which keeps their lines as
written (`core.foundation.log_archive`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.foundation.log_archive import LogSource, log_sources
from core.foundation.workspace import Workspace

RECORD_FIELDS = (
    "model", "run_id", "tier", "mode", "arm", "rollout_id", "status", "ts", "session_id",
    "latency_ms", "time_column", "entity_columns",
)  # fmt: skip
"""What a prediction line may take from its batch record."""


def inference_sources(
    ws: Workspace, since_date: str | None = None, until_date: str | None = None
) -> list[LogSource]:
    """The log's files, pruned ones included, oldest partition first; `since_date` and
    `until_date` (YYYY-MM-DD, inclusive) skip the partitions outside. Only regular files
    inside the workspace (a planted symlink is never read)."""
    return log_sources(ws, "inference", ws.inference_dir, since_date, until_date)


def _data(source: LogSource | Path) -> bytes:
    try:
        return source.read_bytes() if isinstance(source, Path) else source.data()
    except OSError:
        return b""


def _lines(source: LogSource | Path) -> Iterator[dict[str, Any]]:
    for raw in _data(source).splitlines(keepends=True):
        if not raw.endswith(b"\n"):
            return  # torn last line
        try:
            value = json.loads(raw)
        except ValueError:
            continue
        if isinstance(value, dict):
            yield value


def file_predictions(source: LogSource | Path) -> Iterator[dict[str, Any]]:
    """Every prediction of one log file, completed by its batch record."""
    records: dict[str, dict[str, Any]] = {}
    for line in _lines(source):
        if line.get("kind") == "batch":
            batch_id = line.get("batch_id")
            if isinstance(batch_id, str):
                records.setdefault(batch_id, line)
            continue
        if line.get("kind") is not None or not line.get("request_id"):
            continue
        record = records.get(str(line.get("batch_id"))) or {}
        merged = dict(line)
        for key in RECORD_FIELDS:
            if merged.get(key) is None and record.get(key) is not None:
                merged[key] = record[key]
        merged.setdefault("mode", "batch")
        if merged.get("mode") is None:
            merged["mode"] = "batch"
        if merged.get("arm") is None:
            merged["arm"] = "stable"
        if merged.get("status") is None:
            merged["status"] = "ok"
        yield merged


def predictions(
    ws: Workspace, model: str | None = None, since_date: str | None = None
) -> Iterator[dict[str, Any]]:
    """Every logged prediction (of `model`), file by file."""
    for source in inference_sources(ws, since_date):
        for line in file_predictions(source):
            if model is None or line.get("model") == model:
                yield line


def logged_times(ws: Workspace, model: str) -> Iterator[tuple[str, str]]:
    """`(run_id, ts)` pairs whose newest per run is when each run of `model` last predicted:
    one per run and compacted day from the manifest's digest (`perf.last_logged_sql`), and
    one per prediction of the files the digest does not cover (today's, grown ones). Reads
    no Parquet, so `status` stays quick and free of DuckDB however long the log."""
    from core.foundation.log_archive import read_manifest

    entries = (read_manifest(ws, "inference") or {}).get("partitions") or {}
    digested = set()
    for date, entry in entries.items():
        digest = entry.get("digest") if isinstance(entry, dict) else None
        if isinstance(digest, dict):
            digested.add(date)
            for run_id, ts in (digest.get(model) or {}).items():
                yield str(run_id), str(ts)
    for source in inference_sources(ws):
        if source.date in digested and (source.path is None or source.parquet is not None):
            continue  # pruned or covered: its lines are in the day's digest
        for line in file_predictions(source):
            if line.get("model") == model and isinstance(line.get("run_id"), str):
                yield str(line["run_id"]), str(line.get("ts") or "")


def file_runs(source: LogSource | Path) -> set[str]:
    """The runs whose predictions (or records) a log file holds."""
    runs: set[str] = set()
    for line in _lines(source):
        run_id = line.get("run_id")
        if isinstance(run_id, str):
            runs.add(run_id)
    return runs
