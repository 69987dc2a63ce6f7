"""The `snapshots` view over `data/snapshots/ds-*/manifest.json`."""

from __future__ import annotations

from core.store import empty_select, has_files, sql_path, view
from core.workspace import Workspace

SNAPSHOT_COLUMNS = {
    "id": "VARCHAR",
    "dataset": "VARCHAR",
    "source": "VARCHAR",
    "source_path": "VARCHAR",
    "source_sha256": "VARCHAR",
    "rows": "BIGINT",
    "columns": "VARCHAR[]",
    "time_column": "VARCHAR",
    "entity_columns": "VARCHAR[]",
    "time_range": "VARCHAR[]",
    "distinct_times": "BIGINT",
    "schema_version": "VARCHAR",
    "schema_hash": "VARCHAR",
    "content_hash": "VARCHAR",
    "created_at": "TIMESTAMP",
}


@view("snapshots", "one row per stored dataset snapshot (its manifest)")
def snapshots_sql(ws: Workspace) -> str:
    if not has_files(ws.snapshots_dir, "ds-*/manifest.json"):
        return empty_select(SNAPSHOT_COLUMNS)
    columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in SNAPSHOT_COLUMNS.items()) + "}"
    glob = sql_path(ws.snapshots_dir / "ds-*" / "manifest.json")
    return f"SELECT * FROM read_json({glob}, format='auto', columns={columns})"
