"""The `outcomes` view: one row per logged prediction joined to what happened, from
`logs/outcomes/date=YYYY-MM-DD/<join_id>.jsonl` (`core.operations.feedback.outcomes`), the
files `factory feedback join` and `feedback ingest` write."""

from __future__ import annotations

from core.foundation.workspace import Workspace
from core.lens.views.sql import ViewSpec, empty_select, sql_paths, workspace_files

OUTCOME_COLUMNS = {
    "request_id": "VARCHAR",
    "run_id": "VARCHAR",
    "model": "VARCHAR",
    "tier": "VARCHAR",
    "arm": "VARCHAR",
    "rollout_id": "VARCHAR",
    "mode": "VARCHAR",
    "time": "TIMESTAMP",
    "entity": "JSON",
    "prediction": "DOUBLE",
    "label": "DOUBLE",
    "loss": "DOUBLE",
    "loss_metric": "VARCHAR",
    "labels": "VARCHAR",
    "source": "VARCHAR",
    "join_id": "VARCHAR",
    "logged_at": "TIMESTAMP",
    "joined_at": "TIMESTAMP",
}
RAW_TYPES = {
    **{k: v for k, v in OUTCOME_COLUMNS.items() if k not in ("time", "logged_at", "joined_at")},
    # Read as text and cast: a row time without a zone is the dataset's own clock, and a
    # value DuckDB cannot read as a time must not fail the whole view.
    "time": "VARCHAR",
    "logged_at": "VARCHAR",
    "ts": "VARCHAR",
    "kind": "VARCHAR",
}


def _columns(columns: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"


def outcomes_sql(ws: Workspace) -> str:
    # Only the writer's final files: a killed writer's hidden temporary file is never read,
    # and a symlink planted in the folder that points outside the workspace is skipped.
    files = [
        p
        for p in workspace_files(ws, ws.logs_dir / "outcomes", "date=*/*.jsonl")
        if not p.name.startswith(".")
    ]
    if not files:
        return empty_select(OUTCOME_COLUMNS)
    # Each file's first line is its join record (`kind` set): not an outcome. A torn last
    # line reads as an all-null row (ignore_errors): no request id, dropped. A prediction
    # is keyed by (request_id, run_id); writers never record one twice, and if two files
    # ever did, the first join counts.
    return (
        "SELECT request_id, run_id, model, tier, arm, rollout_id, mode, "
        'TRY_CAST("time" AS TIMESTAMP) AS "time", entity, prediction, label, loss, '
        "loss_metric, labels, source, join_id, TRY_CAST(logged_at AS TIMESTAMP) AS logged_at, "
        "TRY_CAST(ts AS TIMESTAMP) AS joined_at "
        f"FROM read_json({sql_paths(files)}, format='newline_delimited', "
        f"columns={_columns(RAW_TYPES)}, ignore_errors=true) "
        "WHERE kind IS NULL AND request_id IS NOT NULL AND run_id IS NOT NULL "
        "QUALIFY row_number() OVER (PARTITION BY request_id, run_id ORDER BY ts, join_id) = 1"
    )


VIEWS = (
    ViewSpec(
        "outcomes",
        "one row per logged prediction joined to its label (logs/outcomes: feedback join and "
        "ingest): request id, run, tier, arm, rollout, mode, the row's time and entity, "
        "prediction, label, per-row loss and its metric, labels version, source, join id, "
        "when it was logged and joined",
        outcomes_sql,
    ),
)
