"""Views over runs: `runs`, `params`, `metrics`, `folds` read the small index summaries
(`.factory/index/runs/r-*.json`, rebuilt from reports when missing); `curves` reads the
reports themselves, the only place the per-iteration losses live."""

from __future__ import annotations

from core.foundation.workspace import Workspace
from core.lens.views.sql import ViewSpec, empty_select, has_files, sql_paths, workspace_files

SUMMARY_COLUMNS = {
    "run_id": "VARCHAR",
    "model": "VARCHAR",
    "created_at": "VARCHAR",
    "finished_at": "VARCHAR",
    "snapshot_id": "VARCHAR",
    "plan_id": "VARCHAR",
    "seed": "BIGINT",
    "components": "STRUCT(features VARCHAR, labels VARCHAR, hparams VARCHAR, arch VARCHAR, "
    "metrics VARCHAR)",
    "primary": "STRUCT(name VARCHAR, direction VARCHAR, mean DOUBLE, std DOUBLE, min DOUBLE, "
    "max DOUBLE)",
    "metrics": "MAP(VARCHAR, DOUBLE)",
    "params": "MAP(VARCHAR, JSON)",
    "folds": "STRUCT(fold BIGINT, train_start DATE, train_end DATE, train_rows BIGINT, "
    "test_start DATE, test_end DATE, test_rows BIGINT, metrics MAP(VARCHAR, DOUBLE))[]",
    "duration_s": "DOUBLE",
    "cpu_seconds": "DOUBLE",
    "cost": "DOUBLE",
    "latency_p50_ms": "DOUBLE",
}

RUNS_COLUMNS = {
    "run_id": "VARCHAR",
    "model": "VARCHAR",
    "created_at": "TIMESTAMP",
    "finished_at": "TIMESTAMP",
    "snapshot_id": "VARCHAR",
    "plan_id": "VARCHAR",
    "features": "VARCHAR",
    "labels": "VARCHAR",
    "hparams": "VARCHAR",
    "arch": "VARCHAR",
    "metrics_version": "VARCHAR",
    "primary_metric": "VARCHAR",
    "direction": "VARCHAR",
    "primary_mean": "DOUBLE",
    "primary_std": "DOUBLE",
    "seed": "BIGINT",
    "duration_s": "DOUBLE",
    "cpu_seconds": "DOUBLE",
    "cost": "DOUBLE",
    "latency_p50_ms": "DOUBLE",
}
PARAMS_COLUMNS = {"run_id": "VARCHAR", "model": "VARCHAR", "name": "VARCHAR", "value": "VARCHAR"}
METRICS_COLUMNS = {
    "run_id": "VARCHAR",
    "model": "VARCHAR",
    "fold": "BIGINT",
    "test_start": "DATE",
    "test_end": "DATE",
    "metric": "VARCHAR",
    "value": "DOUBLE",
}
FOLDS_COLUMNS = {
    "run_id": "VARCHAR",
    "model": "VARCHAR",
    "fold": "BIGINT",
    "train_start": "DATE",
    "train_end": "DATE",
    "train_rows": "BIGINT",
    "test_start": "DATE",
    "test_end": "DATE",
    "test_rows": "BIGINT",
}
CURVES_COLUMNS = {
    "run_id": "VARCHAR",
    "model": "VARCHAR",
    "fold": "BIGINT",
    "split": "VARCHAR",
    "metric": "VARCHAR",
    "iteration": "BIGINT",
    "value": "DOUBLE",
}


def _summaries(ws: Workspace) -> str | None:
    """`read_json` over the summaries, or None when there are none (an empty glob errors)."""
    from core.experiments.index import read_summaries, summaries_dir

    if not has_files(ws.reports_dir, "r-*.json"):
        return None
    read_summaries(ws)  # rebuilds summaries lost with .factory/ (e.g. a fresh clone)
    files = workspace_files(ws, summaries_dir(ws), "r-*.json")
    if not files:
        return None
    columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in SUMMARY_COLUMNS.items()) + "}"
    glob = sql_paths(files)
    return f"read_json({glob}, format='auto', columns={columns})"


def runs_sql(ws: Workspace) -> str:
    source = _summaries(ws)
    if source is None:
        return empty_select(RUNS_COLUMNS)
    return (
        "SELECT run_id, model, CAST(created_at AS TIMESTAMP) AS created_at, "
        "CAST(finished_at AS TIMESTAMP) AS finished_at, snapshot_id, plan_id, "
        "components.features AS features, components.labels AS labels, "
        "components.hparams AS hparams, components.arch AS arch, "
        "components.metrics AS metrics_version, "
        '"primary".name AS primary_metric, "primary".direction AS direction, '
        '"primary".mean AS primary_mean, "primary".std AS primary_std, seed, duration_s, '
        f"cpu_seconds, cost, latency_p50_ms FROM {source}"
    )


def params_sql(ws: Workspace) -> str:
    source = _summaries(ws)
    if source is None:
        return empty_select(PARAMS_COLUMNS)
    return (
        "SELECT run_id, model, p.key AS name, "
        "coalesce(json_extract_string(p.value, '$'), CAST(p.value AS VARCHAR)) AS value "
        f"FROM (SELECT run_id, model, unnest(map_entries(params)) AS p FROM {source})"
    )


def folds_sql(ws: Workspace) -> str:
    source = _summaries(ws)
    if source is None:
        return empty_select(FOLDS_COLUMNS)
    return (
        "SELECT run_id, model, f.fold, f.train_start, f.train_end, f.train_rows, f.test_start, "
        f"f.test_end, f.test_rows FROM (SELECT run_id, model, unnest(folds) AS f FROM {source})"
    )


def metrics_sql(ws: Workspace) -> str:
    source = _summaries(ws)
    if source is None:
        return empty_select(METRICS_COLUMNS)
    return (
        "SELECT run_id, model, fold, test_start, test_end, m.key AS metric, m.value AS value "
        "FROM (SELECT run_id, model, f.fold AS fold, f.test_start, f.test_end, "
        "unnest(map_entries(f.metrics)) AS m "
        f"FROM (SELECT run_id, model, unnest(folds) AS f FROM {source}))"
    )


def curves_sql(ws: Workspace) -> str:
    files = workspace_files(ws, ws.reports_dir, "r-*.json")
    if not files:
        return empty_select(CURVES_COLUMNS)
    glob = sql_paths(files)
    columns = (
        "{'run_id': 'VARCHAR', 'model': 'VARCHAR', 'curves': 'STRUCT(metric VARCHAR, "
        "folds STRUCT(fold BIGINT, learn DOUBLE[], validation DOUBLE[])[])'}"
    )
    folds = (
        f"SELECT run_id, model, curves.metric AS metric, unnest(curves.folds) AS f "
        f"FROM read_json({glob}, format='auto', columns={columns}) WHERE run_id IS NOT NULL"
    )
    return (
        f"WITH folds AS ({folds}) "
        "SELECT run_id, model, f.fold AS fold, 'learn' AS split, metric, "
        "unnest(range(len(f.learn))) AS iteration, unnest(f.learn) AS value FROM folds "
        "UNION ALL "
        "SELECT run_id, model, f.fold AS fold, 'validation' AS split, metric, "
        "unnest(range(len(f.validation))) AS iteration, unnest(f.validation) AS value FROM folds"
    )


VIEWS = (
    ViewSpec(
        "runs", "one row per run: components, primary metric mean/std, cost, latency", runs_sql
    ),
    ViewSpec("params", "one row per run and hyperparameter (value as text)", params_sql),
    ViewSpec(
        "folds",
        "one row per run and walk-forward fold: train and test windows, row counts",
        folds_sql,
    ),
    ViewSpec(
        "metrics", "one row per run, fold and metric (the fold's test-window score)", metrics_sql
    ),
    ViewSpec(
        "curves",
        "one row per run, fold, split (learn/validation) and iteration: the loss",
        curves_sql,
    ),
)
