"""The `events` view over `logs/events/date=*/*.jsonl`, with the session `factory history`
shows for each event (`work_session`: the named session, or the work session a person's
commands cluster into, adrs/0006)."""

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
        return empty_select({**EVENT_COLUMNS, "date": "VARCHAR", "work_session": "VARCHAR"})
    columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in EVENT_COLUMNS.items()) + "}"
    glob = sql_paths(files)
    # A torn last line reads as an all-null row with ignore_errors: filter it out.
    raw = (
        f"SELECT * FROM read_json({glob}, format='newline_delimited', columns={columns}, "
        "ignore_errors=true, hive_partitioning=true, hive_types_autocast=false) "
        "WHERE ts IS NOT NULL AND event IS NOT NULL"
    )
    # Per-process events (`p-...`) form a work session until a gap of 30 minutes, named as
    # history names it (`w-` and the first event's time).
    return f"""
        WITH e AS ({raw}),
        p AS (
            SELECT rowid_ AS r, ts,
                CASE WHEN lag(ts) OVER (ORDER BY ts, rowid_) IS NULL
                    OR ts - lag(ts) OVER (ORDER BY ts, rowid_) >= INTERVAL 30 MINUTE
                THEN 1 ELSE 0 END AS opens
            FROM (SELECT row_number() OVER () AS rowid_, * FROM e) WHERE session_id LIKE 'p-%'
        ),
        g AS (SELECT r, ts, sum(opens) OVER (ORDER BY ts, r) AS grp FROM p),
        w AS (
            SELECT r, 'w-' || strftime(min(ts) OVER (PARTITION BY grp), '%Y%m%dt%H%M%S')
                AS work_session FROM g
        )
        SELECT e.* EXCLUDE (rowid_), coalesce(w.work_session, e.session_id) AS work_session
        FROM (SELECT row_number() OVER () AS rowid_, * FROM e) e LEFT JOIN w ON w.r = e.rowid_
    """


VIEWS = (
    ViewSpec(
        "events",
        "every event: one row per JSON line under logs/events (date partitions)",
        events_sql,
    ),
)
