"""Views over operations files: `inference` (one row per prediction), `gates`, `drift`,
`alerts`."""

from __future__ import annotations

from core.foundation.workspace import Workspace
from core.lens.views.sql import ViewSpec, empty_select, sql_paths, workspace_files

INFERENCE_COLUMNS = {
    "ts": "TIMESTAMP",
    "session_id": "VARCHAR",
    "model": "VARCHAR",
    "run_id": "VARCHAR",
    "tier": "VARCHAR",
    "batch_id": "VARCHAR",
    "latency_ms": "DOUBLE",
    "input_file": "VARCHAR",
    "request_id": "VARCHAR",
    "row": "BIGINT",
    "input_hash": "VARCHAR",
    "prediction": "DOUBLE",
}
GATE_COLUMNS = {
    "gate_id": "VARCHAR",
    "run_id": "VARCHAR",
    "model": "VARCHAR",
    "tier": "VARCHAR",
    "incumbent": "VARCHAR",
    "passed": "BOOLEAN",
    "failed": "VARCHAR[]",
    "created_at": "TIMESTAMP",
}
DRIFT_COLUMNS = {
    "drift_id": "VARCHAR",
    "model": "VARCHAR",
    "drift_detected": "BOOLEAN",
    "share": "DOUBLE",
    "share_threshold": "DOUBLE",
    "drifted_count": "BIGINT",
    "column_count": "BIGINT",
    "features_version": "VARCHAR",
    "created_at": "TIMESTAMP",
}
ALERT_COLUMNS = {
    "alert_id": "VARCHAR",
    "kind": "VARCHAR",
    "model": "VARCHAR",
    "message": "VARCHAR",
    "source": "VARCHAR",
    "raised_at": "TIMESTAMP",
    "state": "VARCHAR",
    "acked_at": "TIMESTAMP",
}


def _columns(columns: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"


def _select(columns: dict[str, str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def inference_sql(ws: Workspace) -> str:
    files = workspace_files(ws, ws.inference_dir, "date=*/*.jsonl")
    if not files:
        return empty_select(INFERENCE_COLUMNS)
    glob = sql_paths(files)
    # A torn last line reads as an all-null row (ignore_errors): drop it.
    return (
        f"SELECT {_select(INFERENCE_COLUMNS)} FROM read_json({glob}, format='newline_delimited', "
        f"columns={_columns(INFERENCE_COLUMNS)}, ignore_errors=true, hive_partitioning=false) "
        "WHERE request_id IS NOT NULL"
    )


def gates_sql(ws: Workspace) -> str:
    files = workspace_files(ws, ws.reports_dir, "gate-*.json")
    if not files:
        return empty_select(GATE_COLUMNS)
    glob = sql_paths(files)
    return f"SELECT {_select(GATE_COLUMNS)} FROM read_json({glob}, format='auto', columns={_columns(GATE_COLUMNS)})"


def drift_sql(ws: Workspace) -> str:
    files = workspace_files(ws, ws.reports_dir, "drift-*.json")
    if not files:
        return empty_select(DRIFT_COLUMNS)
    glob = sql_paths(files)
    return f"SELECT {_select(DRIFT_COLUMNS)} FROM read_json({glob}, format='auto', columns={_columns(DRIFT_COLUMNS)})"


def alerts_sql(ws: Workspace) -> str:
    folder = ws.logs_dir / "alerts"
    files = workspace_files(ws, folder, "al-*.json")
    if not files:
        return empty_select(ALERT_COLUMNS)
    glob = sql_paths(files)
    return f"SELECT {_select(ALERT_COLUMNS)} FROM read_json({glob}, format='auto', columns={_columns(ALERT_COLUMNS)})"


VIEWS = (
    ViewSpec(
        "inference",
        "one row per prediction from logs/inference (request id, run, tier, latency, input hash)",
        inference_sql,
    ),
    ViewSpec("gates", "one row per gate verdict (reports/gate-*.json)", gates_sql),
    ViewSpec("drift", "one row per drift check (reports/drift-*.json)", drift_sql),
    ViewSpec("alerts", "one row per alert, open or acknowledged (logs/alerts)", alerts_sql),
)
