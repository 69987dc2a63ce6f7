"""Views over operations files: `inference` (one row per prediction), `perf` (latency and
cost per run and tier), `gates`, `drift`, `alerts`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.foundation.workspace import Workspace
from core.lens.views.sql import ViewSpec, empty_select, sql_paths, workspace_files

if TYPE_CHECKING:
    from core.lens.compaction.door import Attachment

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


def inference_sql(ws: Workspace, attachment: Attachment) -> str:
    """The inference log, every layout (one SQL definition, in `core.operations.perf`),
    over its compacted date partitions and the JSONL beside them (adrs/0028)."""
    from core.lens.compaction.families import inference_family
    from core.lens.compaction.logs import log_rows_sql
    from core.operations.perf import inference_rows_sql

    return inference_rows_sql(log_rows_sql(ws, attachment, inference_family()))


def perf_sql(ws: Workspace) -> str:
    """Latency, errors, CPU and cost per model, run, tier and mode (`factory perf`)."""
    from core.operations.perf import perf_sql as sql

    return sql(ws)


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
        "one row per prediction from logs/inference (request id, run, tier, mode, arm, "
        "latency, cpu, status, the row's time and entity, input hash)",
        lazy=inference_sql,
    ),
    ViewSpec(
        "perf",
        "per model, run, tier and mode: n, error rate, p50/p95/p99 latency, cpu ms and cost "
        "per 1,000 predictions, from the inference log",
        perf_sql,
    ),
    ViewSpec("gates", "one row per gate verdict (reports/gate-*.json)", gates_sql),
    ViewSpec("drift", "one row per drift check (reports/drift-*.json)", drift_sql),
    ViewSpec("alerts", "one row per alert, open or acknowledged (logs/alerts)", alerts_sql),
)
