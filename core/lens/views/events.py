"""The `events` view over `logs/events/date=*/*.jsonl`."""

from __future__ import annotations

from core.foundation.workspace import Workspace
from core.lens.views.sql import ViewSpec, empty_select, sql_paths, workspace_files

EVENT_COLUMNS = {
    "ts": "TIMESTAMP",
    "session_id": "VARCHAR",
    "event": "VARCHAR",
    "run_id": "VARCHAR",
    "model": "VARCHAR",
    "model_version": "VARCHAR",
    "request_id": "VARCHAR",
    "dataset_id": "VARCHAR",
    "command": "VARCHAR",
    "pid": "BIGINT",
    "data": "JSON",
}


def events_sql(ws: Workspace) -> str:
    files = workspace_files(ws, ws.events_dir, "date=*/*.jsonl")
    if not files:
        return empty_select({**EVENT_COLUMNS, "date": "VARCHAR"})
    columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in EVENT_COLUMNS.items()) + "}"
    glob = sql_paths(files)
    # A torn last line reads as an all-null row with ignore_errors: filter it out.
    return (
        f"SELECT * FROM read_json({glob}, format='newline_delimited', columns={columns}, "
        "ignore_errors=true, hive_partitioning=true, hive_types_autocast=false) "
        "WHERE ts IS NOT NULL AND event IS NOT NULL"
    )


VIEWS = (
    ViewSpec(
        "events",
        "every event: one row per JSON line under logs/events (date partitions)",
        events_sql,
    ),
)
