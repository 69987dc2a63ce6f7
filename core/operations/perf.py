"""`factory perf MODEL`: latency, errors, CPU and cost per run and tier, from the inference log.

One SQL definition for every reader: `inference_sql` reads the log's files (schema-2 batch
files with their record line, online per-process files, schema-1 session files) into one row
per logged prediction, `perf_sql` aggregates it; the `inference` and `perf` views of
`factory query` are these two statements, `factory perf` runs the second, and the gates'
`latency_p95` and `cost_per_1000` criteria read live figures through it (`live_figures`).

Latency percentiles are over logged predictions with status ok: online, the server time of the
request each belongs to (from receiving its body to its predictions being ready); in a batch,
the batch's scoring time divided by its rows. CPU is per prediction the same way; cost per
1,000 predictions is that CPU at `[cost] price_per_cpu_hour`. The error rate is the share of
logged lines with status error (a failed request logs one line).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.foundation.errors import UsageError
from core.foundation.ids import validate_name
from core.foundation.sql_text import sql_string
from core.foundation.workspace import Workspace
from core.operations.feedback.inference_log import inference_sources

RAW_COLUMNS = {
    "kind": "VARCHAR",
    "v": "BIGINT",
    "ts": "TIMESTAMP",
    "session_id": "VARCHAR",
    "model": "VARCHAR",
    "run_id": "VARCHAR",
    "tier": "VARCHAR",
    "batch_id": "VARCHAR",
    "mode": "VARCHAR",
    "arm": "VARCHAR",
    "rollout_id": "VARCHAR",
    "latency_ms": "DOUBLE",
    "cpu_ms": "DOUBLE",
    "status": "VARCHAR",
    "error_code": "VARCHAR",
    "input_file": "VARCHAR",
    "request_id": "VARCHAR",
    "row": "BIGINT",
    "time": "VARCHAR",
    "entity": "JSON",
    "input_hash": "VARCHAR",
    "prediction": "DOUBLE",
    "inference": "JSON",
}
"""Every key of every line the log has held, as `read_json` reads them."""

INFERENCE_KEEP = "kind IS NOT NULL OR request_id IS NOT NULL"
"""What a whole line of the log meets (a torn one reads as all nulls)."""

INFERENCE_COLUMNS = {
    "ts": "TIMESTAMP",
    "session_id": "VARCHAR",
    "model": "VARCHAR",
    "run_id": "VARCHAR",
    "tier": "VARCHAR",
    "batch_id": "VARCHAR",
    "mode": "VARCHAR",
    "arm": "VARCHAR",
    "rollout_id": "VARCHAR",
    "latency_ms": "DOUBLE",
    "cpu_ms": "DOUBLE",
    "status": "VARCHAR",
    "error_code": "VARCHAR",
    "input_file": "VARCHAR",
    "request_id": "VARCHAR",
    "row": "BIGINT",
    "time": "TIMESTAMP",
    "entity": "JSON",
    "input_hash": "VARCHAR",
    "prediction": "DOUBLE",
    "inference": "VARCHAR",
    "log_schema": "BIGINT",
}
"""The `inference` view: one row per logged prediction (or failed request)."""

PERF_COLUMNS = {
    "model": "VARCHAR",
    "run_id": "VARCHAR",
    "tier": "VARCHAR",
    "mode": "VARCHAR",
    "n": "BIGINT",
    "errors": "BIGINT",
    "error_rate": "DOUBLE",
    "p50_ms": "DOUBLE",
    "p95_ms": "DOUBLE",
    "p99_ms": "DOUBLE",
    "cpu_ms": "DOUBLE",
    "cost_per_1000": "DOUBLE",
    "currency": "VARCHAR",
    "first_ts": "TIMESTAMP",
    "last_ts": "TIMESTAMP",
}
"""The `perf` view: one row per model, run, tier and mode."""

MIN_LIVE = 100
"""Logged online predictions a run needs before the gates judge it on live figures."""


def _empty(columns: dict[str, str]) -> str:
    cols = ", ".join(f'CAST(NULL AS {t}) AS "{name}"' for name, t in columns.items())
    return f"SELECT {cols} WHERE false"


def inference_sql(ws: Workspace) -> str:
    """One row per logged prediction, every layout of the log, each line completed by its
    batch record: the JSONL files and, for closed days `factory compact` wrote, their Parquet
    (`core.foundation.log_archive`'s rules: every line counted once, pruned files too). A
    torn last line reads as an all-null row (ignore_errors): dropped."""
    from core.foundation.log_archive import SOURCE, current_state

    state = current_state(ws, "inference", ws.inference_dir)
    names = ", ".join(f'"{c}"' for c in RAW_COLUMNS)
    parts = []
    compacted = [p for p in state.parquet if p.is_file()]
    if compacted:
        where = f"({INFERENCE_KEEP})"
        if state.excluded:
            where += f" AND {SOURCE} NOT IN ({', '.join(sql_string(x) for x in state.excluded)})"
        paths = "[" + ", ".join(sql_string(str(p)) for p in compacted) + "]"
        parts.append(f"SELECT {names} FROM read_parquet({paths}, union_by_name=true) WHERE {where}")
    if state.loose:
        paths = "[" + ", ".join(sql_string(str(p)) for p in state.loose) + "]"
        columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in RAW_COLUMNS.items()) + "}"
        parts.append(
            f"SELECT {names} FROM read_json({paths}, format='newline_delimited', "
            f"columns={columns}, ignore_errors=true, hive_partitioning=false) "
            f"WHERE {INFERENCE_KEEP}"
        )
    if not parts:
        return _empty(INFERENCE_COLUMNS)
    return inference_rows_sql(" UNION ALL ".join(parts))


def inference_rows_sql(raw: str) -> str:
    """The `inference` rows of `raw`, a SELECT of the log's lines in `RAW_COLUMNS` (the
    JSONL files above, or their compacted Parquet beside them: `core.lens.compaction`)."""
    return f"""WITH raw AS (
    {raw}
), records AS (
    SELECT * FROM raw WHERE kind = 'batch'
    QUALIFY row_number() OVER (PARTITION BY batch_id ORDER BY ts) = 1
)
SELECT
    coalesce(p.ts, b.ts) AS "ts",
    coalesce(p.session_id, b.session_id) AS "session_id",
    coalesce(p.model, b.model) AS "model",
    coalesce(p.run_id, b.run_id) AS "run_id",
    coalesce(p.tier, b.tier) AS "tier",
    p.batch_id AS "batch_id",
    coalesce(p.mode, b.mode, 'batch') AS "mode",
    coalesce(p.arm, b.arm, 'stable') AS "arm",
    coalesce(p.rollout_id, b.rollout_id) AS "rollout_id",
    coalesce(p.latency_ms, b.latency_ms) AS "latency_ms",
    coalesce(p.cpu_ms, b.cpu_ms) AS "cpu_ms",
    coalesce(p.status, b.status, 'ok') AS "status",
    p.error_code AS "error_code",
    coalesce(p.input_file, b.input_file) AS "input_file",
    p.request_id AS "request_id",
    p."row" AS "row",
    TRY_CAST(p.time AS TIMESTAMP) AS "time",
    p.entity AS "entity",
    p.input_hash AS "input_hash",
    p.prediction AS "prediction",
    json_extract_string(coalesce(p.inference, b.inference), '$.version') AS "inference",
    coalesce(p.v, b.v, 1) AS "log_schema"
FROM raw p LEFT JOIN records b ON b.batch_id = p.batch_id
WHERE p.request_id IS NOT NULL AND p.kind IS NULL"""


def last_logged_sql(raw: str) -> str:
    """`(model, run_id, newest ts)` of the predictions among `raw`'s lines: the digest a
    compacted day of the log keeps in its manifest entry, so `status` knows when each run
    last predicted without opening the Parquet (`inference_log.logged_times`)."""
    return (
        "SELECT model, run_id, strftime(max(ts), '%Y-%m-%dT%H:%M:%S.%gZ') "
        f"FROM ({inference_rows_sql(raw)}) AS logged "
        "WHERE model IS NOT NULL AND run_id IS NOT NULL AND ts IS NOT NULL GROUP BY ALL"
    )


def perf_sql(ws: Workspace) -> str:
    """Per model, run, tier and mode: n, errors, latency percentiles, CPU and cost."""
    price = float(ws.config.cost.price_per_cpu_hour)
    currency = sql_string(ws.config.cost.currency)
    ok = "FILTER (WHERE status = 'ok')"
    return f"""SELECT
    model, run_id, tier, mode,
    count(*) AS "n",
    count(*) FILTER (WHERE status = 'error') AS "errors",
    avg(CASE WHEN status = 'error' THEN 1.0 ELSE 0.0 END) AS "error_rate",
    quantile_cont(latency_ms, 0.5) {ok} AS "p50_ms",
    quantile_cont(latency_ms, 0.95) {ok} AS "p95_ms",
    quantile_cont(latency_ms, 0.99) {ok} AS "p99_ms",
    avg(cpu_ms) {ok} AS "cpu_ms",
    avg(cpu_ms) {ok} * {price!r} / 3600.0 AS "cost_per_1000",
    {currency} AS "currency",
    min(ts) AS "first_ts",
    max(ts) AS "last_ts"
FROM ({inference_sql(ws)}) AS logged
GROUP BY model, run_id, tier, mode
ORDER BY model, tier, run_id, mode"""


@dataclass(frozen=True)
class PerfRow:
    model: str
    run_id: str
    tier: str | None
    mode: str
    n: int
    """Logged lines: predictions, and failed requests (one line each)."""
    errors: int
    error_rate: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    cpu_ms: float | None
    """Mean CPU milliseconds per prediction."""
    cost_per_1000: float | None
    """That CPU per 1,000 predictions at `[cost] price_per_cpu_hour`."""
    currency: str
    first_ts: str | None
    last_ts: str | None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class PerfResult:
    model: str
    rows: list[PerfRow]
    price_per_cpu_hour: float
    currency: str
    files: int
    """Log files read."""
    query: str = "SELECT * FROM perf WHERE model = ?"
    """The same numbers with `factory query`."""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "rows": [r.to_dict() for r in self.rows],
            "price_per_cpu_hour": self.price_per_cpu_hour,
            "currency": self.currency,
            "files": self.files,
            "query": self.query,
            "notes": self.notes,
        }


def _run(ws: Workspace, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    from core.foundation.sql_engine import duckdb

    con = duckdb.connect(
        ":memory:",
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
    )
    try:
        cursor = con.execute(sql, params)
        names = [d[0] for d in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _row(raw: dict[str, Any]) -> PerfRow:
    def stamp(value: Any) -> str | None:
        return None if value is None else value.isoformat()

    return PerfRow(
        model=str(raw["model"]),
        run_id=str(raw["run_id"]),
        tier=raw["tier"],
        mode=str(raw["mode"]),
        n=int(raw["n"]),
        errors=int(raw["errors"]),
        error_rate=float(raw["error_rate"]),
        p50_ms=_float(raw["p50_ms"]),
        p95_ms=_float(raw["p95_ms"]),
        p99_ms=_float(raw["p99_ms"]),
        cpu_ms=_float(raw["cpu_ms"]),
        cost_per_1000=_float(raw["cost_per_1000"]),
        currency=str(raw["currency"]),
        first_ts=stamp(raw["first_ts"]),
        last_ts=stamp(raw["last_ts"]),
    )


def perf(ws: Workspace, model: str, mode: str | None = None) -> PerfResult:
    """The `perf` rows of one model (of one mode: online, batch or shadow, when given)."""
    validate_name(model, "model")
    ws.model(model)
    if mode is not None and mode not in ("online", "batch", "shadow"):
        raise UsageError(f"Unknown mode {mode!r}", hint="Use --mode online, batch or shadow.")
    sql = f"SELECT * FROM ({perf_sql(ws)}) AS perf WHERE model = ?"
    params: list[Any] = [model]
    if mode is not None:
        sql += " AND mode = ?"
        params.append(mode)
    rows = [_row(r) for r in _run(ws, sql, params)]
    notes = []
    if not rows:
        notes.append(
            f"nothing logged for {model} yet: `factory predict {model} --input FILE` or "
            "`factory serve` writes the inference log"
        )
    return PerfResult(
        model=model,
        rows=rows,
        price_per_cpu_hour=float(ws.config.cost.price_per_cpu_hour),
        currency=ws.config.cost.currency,
        files=len(inference_sources(ws)),
        notes=notes,
    )


@dataclass(frozen=True)
class LiveFigures:
    """A run's figures from its logged online predictions."""

    run_id: str
    n: int
    """Logged online predictions with status ok."""
    p95_ms: float | None
    cpu_ms: float | None
    cost_per_1000: float | None
    enough: bool
    """At least `MIN_LIVE` predictions: enough to judge the run on."""


def live_figures(ws: Workspace, run_ids: list[str]) -> dict[str, LiveFigures]:
    """Live p95 latency, CPU and cost per run (runs without a logged online prediction are
    absent)."""
    if not run_ids or not inference_sources(ws):
        return {}
    price = float(ws.config.cost.price_per_cpu_hour)
    marks = ", ".join("?" for _ in run_ids)
    sql = f"""SELECT run_id, count(*) AS n, quantile_cont(latency_ms, 0.95) AS p95_ms,
    avg(cpu_ms) AS cpu_ms
FROM ({inference_sql(ws)}) AS logged
WHERE mode = 'online' AND status = 'ok' AND run_id IN ({marks})
GROUP BY run_id"""
    from core.foundation.sql_engine import duckdb

    try:
        rows = _run(ws, sql, list(run_ids))
    except duckdb.Error:  # an unreadable log is no live figure, never a failed gate
        return {}
    found = {}
    for raw in rows:
        cpu = _float(raw["cpu_ms"])
        found[str(raw["run_id"])] = LiveFigures(
            run_id=str(raw["run_id"]),
            n=int(raw["n"]),
            p95_ms=_float(raw["p95_ms"]),
            cpu_ms=cpu,
            cost_per_1000=None if cpu is None else cpu * price / 3600.0,
            enough=int(raw["n"]) >= MIN_LIVE,
        )
    return found


CARD_KEY = "serving"
"""The card's frontmatter key with the served runs' live figures (`record_on_card`)."""


def record_on_card(ws: Workspace, model: str) -> dict[str, Any] | None:
    """Write the model's online and shadow figures (per run, tier and mode) into its card, so
    the card says how its runs served; `factory serve` calls this when it stops. Nothing is
    written for a model without a card or without a logged online request."""
    from core.foundation import clock
    from core.records.card_store import card_path, update_card

    if not card_path(ws, model).is_file():
        return None
    rows = [r for r in perf(ws, model).rows if r.mode in ("online", "shadow")]
    if not rows:
        return None

    def rounded(value: float | None, digits: int = 4) -> float | None:
        return None if value is None else round(value, digits)

    figures: dict[str, Any] = {
        "as_of": clock.iso(),
        "source": f"factory perf {model}",
        "runs": [
            {
                "run_id": r.run_id,
                "tier": r.tier,
                "mode": r.mode,
                "n": r.n,
                "error_rate": rounded(r.error_rate),
                "p50_ms": rounded(r.p50_ms, 3),
                "p95_ms": rounded(r.p95_ms, 3),
                "p99_ms": rounded(r.p99_ms, 3),
                "cpu_ms": rounded(r.cpu_ms, 3),
                "cost_per_1000": None
                if r.cost_per_1000 is None
                else float(f"{r.cost_per_1000:.4g}"),
                "currency": r.currency,
            }
            for r in rows
        ],
    }

    def mutate(meta: dict[str, Any]) -> None:
        meta[CARD_KEY] = figures

    update_card(ws, model, mutate)
    return figures
