"""Views over rollouts: `rollouts` (one row per rollout: its spec and where it stands),
`rollout_analyses` (one row per analysis) and `rollout_criteria` (one row per criterion of
each analysis: value, threshold, verdict and interval), from `logs/rollouts/<model>/<id>/`
(`core.operations.rollouts.store`)."""

from __future__ import annotations

from core.foundation.workspace import Workspace
from core.lens.views.sql import ViewSpec, empty_select, sql_paths, workspace_files

STATE_COLUMNS = {
    "rollout_id": "VARCHAR",
    "model": "VARCHAR",
    "mode": "VARCHAR",
    "stable": "VARCHAR",
    "challenger": "VARCHAR",
    "status": "VARCHAR",
    "step": "BIGINT",
    "share": "DOUBLE",
    "started_at": "TIMESTAMP",
    "updated_at": "TIMESTAMP",
    "ended_at": "TIMESTAMP",
    "failures": "BIGINT",
    "inconclusive": "BIGINT",
    "consecutive_errors": "BIGINT",
    "decision": "VARCHAR",
    "reason": "VARCHAR",
    "report": "VARCHAR",
    "paused_reason": "VARCHAR",
    "looks": "JSON",
}
SPEC_COLUMNS = {
    "model": "VARCHAR",
    "stable": "VARCHAR",
    "challenger": "VARCHAR",
    "mode": "VARCHAR",
    "steps": "DOUBLE[]",
    "interval_s": "DOUBLE",
    "alpha": "DOUBLE",
    "min_requests": "BIGINT",
    "failure_limit": "BIGINT",
    "inconclusive_limit": "BIGINT",
    "consecutive_error_limit": "BIGINT",
    "latency_quantile": "DOUBLE",
    "latency_ratio_max": "DOUBLE",
    "error_rate_margin": "DOUBLE",
    "cost_ratio_max": "DOUBLE",
    "quality": "VARCHAR",
    "attempt": "BIGINT",
}
SPEC_SELECTED = (
    "steps", "interval_s", "alpha", "min_requests", "failure_limit", "inconclusive_limit",
    "consecutive_error_limit", "latency_quantile", "latency_ratio_max", "error_rate_margin",
    "cost_ratio_max", "quality", "attempt",
)  # fmt: skip
ROLLOUT_COLUMNS = {
    **{k: v for k, v in STATE_COLUMNS.items() if k != "looks"},
    "looks_done": "BIGINT",
    **{k: SPEC_COLUMNS[k] for k in SPEC_SELECTED},
}
CRITERION = (
    "STRUCT(name VARCHAR, value DOUBLE, threshold DOUBLE, verdict VARCHAR, required BOOLEAN, "
    '"interval" DOUBLE[], stable DOUBLE, challenger DOUBLE, n_stable BIGINT, '
    "n_challenger BIGINT, unit VARCHAR, reason VARCHAR, alpha DOUBLE)[]"
)
ANALYSIS_COLUMNS = {
    "rollout_id": "VARCHAR",
    "model": "VARCHAR",
    "look": "BIGINT",
    "ts": "TIMESTAMP",
    "mode": "VARCHAR",
    "step": "BIGINT",
    "share": "DOUBLE",
    "status": "VARCHAR",
    "n_stable": "BIGINT",
    "n_challenger": "BIGINT",
    "overall": "VARCHAR",
    "action": "VARCHAR",
    "reason": "VARCHAR",
    "failures": "BIGINT",
    "inconclusive": "BIGINT",
    "consecutive_errors": "BIGINT",
    "error": "VARCHAR",
}
CRITERIA_COLUMNS = {
    "rollout_id": "VARCHAR",
    "model": "VARCHAR",
    "look": "BIGINT",
    "ts": "TIMESTAMP",
    "share": "DOUBLE",
    "name": "VARCHAR",
    "value": "DOUBLE",
    "threshold": "DOUBLE",
    "verdict": "VARCHAR",
    "required": "BOOLEAN",
    "interval_low": "DOUBLE",
    "interval_high": "DOUBLE",
    "stable": "DOUBLE",
    "challenger": "DOUBLE",
    "n_stable": "BIGINT",
    "n_challenger": "BIGINT",
    "reason": "VARCHAR",
}


def _columns(columns: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"


def _quoted(columns: dict[str, str] | tuple[str, ...], prefix: str = "") -> str:
    return ", ".join(f'{prefix}"{c}"' for c in columns)


def rollouts_sql(ws: Workspace) -> str:
    folder = ws.logs_dir / "rollouts"
    states = workspace_files(ws, folder, "*/rollout-*/state.json")
    specs = workspace_files(ws, folder, "*/rollout-*/spec.json")
    if not states or not specs:
        return empty_select(ROLLOUT_COLUMNS)
    return (
        f"SELECT {_quoted(tuple(k for k in STATE_COLUMNS if k != 'looks'), 's.')}, "
        "CAST(json_array_length(s.looks) AS BIGINT) AS looks_done, "
        f"{_quoted(SPEC_SELECTED, 'p.')} "
        f"FROM read_json({sql_paths(states)}, format='auto', columns={_columns(STATE_COLUMNS)}) s "
        f"JOIN (SELECT *, parse_path(filename)[-2] AS rollout_id FROM read_json("
        f"{sql_paths(specs)}, format='auto', columns={_columns(SPEC_COLUMNS)}, filename=true)) p "
        "USING (rollout_id)"
    )


def _analyses(ws: Workspace) -> str | None:
    files = workspace_files(ws, ws.logs_dir / "rollouts", "*/rollout-*/analyses.jsonl")
    if not files:
        return None
    # The files say `at` (when the analysis ran); a keyword in SQL, so the views say `ts`.
    columns = {
        **{("at" if k == "ts" else k): v for k, v in ANALYSIS_COLUMNS.items()},
        "criteria": CRITERION,
    }
    # A torn last line reads as an all-null row (ignore_errors): drop it. A look written
    # twice (a tick killed between its line and its state) keeps its later line.
    return (
        f'SELECT * RENAME ("at" AS ts) FROM read_json({sql_paths(files)}, '
        "format='newline_delimited', "
        f"columns={_columns(columns)}, ignore_errors=true) WHERE rollout_id IS NOT NULL "
        'QUALIFY row_number() OVER (PARTITION BY rollout_id, look ORDER BY "at" DESC) = 1'
    )


def analyses_sql(ws: Workspace) -> str:
    inner = _analyses(ws)
    if inner is None:
        return empty_select(ANALYSIS_COLUMNS)
    return f"SELECT {_quoted(ANALYSIS_COLUMNS)} FROM ({inner})"


def criteria_sql(ws: Workspace) -> str:
    inner = _analyses(ws)
    if inner is None:
        return empty_select(CRITERIA_COLUMNS)
    return (
        "SELECT rollout_id, model, look, ts, share, c.name AS name, c.value AS value, "
        "c.threshold AS threshold, c.verdict AS verdict, c.required AS required, "
        'c."interval"[1] AS interval_low, c."interval"[2] AS interval_high, '
        "c.stable AS stable, c.challenger AS challenger, c.n_stable AS n_stable, "
        "c.n_challenger AS n_challenger, c.reason AS reason "
        f"FROM (SELECT *, unnest(criteria) AS c FROM ({inner}))"
    )


VIEWS = (
    ViewSpec(
        "rollouts",
        "one row per rollout (shadow, canary, A/B): spec, status, share, counters and verdict",
        rollouts_sql,
    ),
    ViewSpec(
        "rollout_analyses",
        "one row per rollout analysis: look, time, share, requests per arm, overall, action",
        analyses_sql,
    ),
    ViewSpec(
        "rollout_criteria",
        "one row per criterion of each rollout analysis: value, threshold, verdict, interval",
        criteria_sql,
    ),
)
