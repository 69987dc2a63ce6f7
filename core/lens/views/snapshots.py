"""The `snapshots` view over `data/snapshots/ds-*/manifest.json`."""

from __future__ import annotations

from core.foundation.workspace import Workspace
from core.lens.views.sql import ViewSpec, empty_select, sql_paths, workspace_files

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


def snapshots_sql(ws: Workspace) -> str:
    files = workspace_files(ws, ws.snapshots_dir, "ds-*/manifest.json")
    if not files:
        return empty_select(SNAPSHOT_COLUMNS)
    columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in SNAPSHOT_COLUMNS.items()) + "}"
    glob = sql_paths(files)
    return f"SELECT * FROM read_json({glob}, format='auto', columns={columns})"


VIEWS = (
    ViewSpec("snapshots", "one row per stored dataset snapshot (its manifest)", snapshots_sql),
)
