"""The `events` view over `logs/events/date=*/*.jsonl` and its compacted partitions
(adrs/0028), with the session `factory history` shows for each event (`work_session`: the
named session, or the work session a person's commands cluster into, adrs/0006)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.foundation.workspace import Workspace
from core.lens.views.sql import ViewSpec

if TYPE_CHECKING:
    from core.lens.compaction.door import Attachment

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


def events_sql(ws: Workspace, attachment: Attachment) -> str:
    """Every event: compacted date partitions and the JSONL beside them (the `events` log
    family of `core.lens.compaction.families`), with each event's work session."""
    from core.lens.compaction.families import EVENTS
    from core.lens.compaction.logs import log_rows_sql

    raw = log_rows_sql(ws, attachment, EVENTS)
    # Per-process events (`p-...`) form a work session until a gap of 30 minutes, named as
    # history names it (`w-` and the first event's time). Window functions only, over one
    # reading of the rows: numbering rows twice would pair them differently when the rows
    # come from parallel scans of Parquet and JSONL.
    return f"""
        WITH e AS ({raw}),
        o AS (
            SELECT *, session_id LIKE 'p-%' AS per_process_,
                CASE WHEN lag(ts) OVER (PARTITION BY session_id LIKE 'p-%' ORDER BY ts) IS NULL
                    OR ts - lag(ts) OVER (PARTITION BY session_id LIKE 'p-%' ORDER BY ts)
                        >= INTERVAL 30 MINUTE
                THEN 1 ELSE 0 END AS opens_
            FROM e
        ),
        g AS (SELECT *, sum(opens_) OVER (PARTITION BY per_process_ ORDER BY ts) AS group_ FROM o)
        SELECT * EXCLUDE (per_process_, opens_, group_),
            CASE WHEN per_process_
                THEN 'w-' || strftime(min(ts) OVER (PARTITION BY per_process_, group_),
                    '%Y%m%dt%H%M%S')
                ELSE session_id END AS work_session
        FROM g
    """


VIEWS = (
    ViewSpec(
        "events",
        "every event: one row per JSON line under logs/events (date partitions)",
        lazy=events_sql,
    ),
)
