"""`factory predict` and `factory trace`: batch scoring with one lineage line per prediction.

One code path for every tier: the tier names a run (`tiers` in the card; `dev` needs an
explicit run), the run names its artifact and components, the input file is checked against
the dataset's schema, and the versioned inference component (`core/components/inference/`)
turns the rows plus their history into predictions with the run's own features and arch: the
earlier rows of the file serve as history (`--from` scores only later rows). `factory serve`
loads runs and scores through the same `Scorer`, so online equals batch by construction.

The inference log (adrs/0015-inference-lineage-log.md, schema 2) lives in
`logs/inference/date=YYYY-MM-DD/`:

- a batch is one file, `<batch_id>.jsonl`, written atomically (temporary file, fsync,
  rename): its first line is the batch record (`"kind": "batch"`: input file, session, run,
  tier, components and inference version with their hashes, allowed code changes, amortized
  latency and CPU per row), then one line per prediction (`request_id`, `batch_id`, `row`,
  the row's `time` and `entity` values, `input_hash`, `prediction`). A batch's id hashes
  run, tier, input content and range, so the same batch has the same name; the check for
  an earlier copy and the write happen under one lock, so a re-run, or four concurrent runs
  of the same file, log it once, and a run killed half-way leaves only a hidden temporary
  file (`.<batch_id>.jsonl.<hex>.tmp`, no `.jsonl` suffix, under the git-ignored `logs/`),
  removed by the next run of that batch;
- online requests (`factory serve`) append whole lines, one write per request, to a file of
  their own process (`o-<session>.<pid>-<hex>.jsonl`), a record per run served first.

Schema-1 lines (`<session>.jsonl`, every field on every line) are still read by trace and
the `inference` view.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from core.foundation import clock
from core.foundation.atomic import atomic_path, file_lock
from core.foundation.errors import ExitCode, FactoryError, UsageError
from core.foundation.events import emit, session_id
from core.foundation.ids import hash_inputs, validate_name
from core.foundation.workspace import Workspace
from core.operations.artifacts import load_model, refuse_changed
from core.operations.common import load_run, model_config, read_json, validated_file

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from core.components.registry import ComponentInfo

PREDICT_TIERS = ("prod", "staging", "dev")
REQUEST_ID = re.compile(r"^rq-[0-9a-f]{16}$")
LOG_SCHEMA = 2
"""Version of the inference log's lines (adrs/0015); schema-1 lines carry no `kind`."""
INFERENCE_VERSION = "rows_v1"
"""The inference component version that scores when the model names none."""
DEFAULT_HISTORY = timedelta(days=90)
"""History kept online per entity when neither the features nor the inference module
declares one."""


@dataclass(frozen=True)
class PredictResult:
    model: str
    tier: str
    run_id: str
    batch_id: str
    input: str
    output: str
    rows: int
    """Rows scored (rows before `--from` only served as history)."""
    history_rows: int
    """Rows before the first scored row: the history lags and windows were computed from
    (0 without `--from`: the first rows' lags are then missing, as CatBoost allows)."""
    seconds: float
    rows_per_second: float
    logged: bool
    """Whether this call wrote the batch's log file (False when the batch had been logged
    before, by an earlier or a concurrent run, or with logging off)."""
    log_file: str | None
    first_request_id: str | None
    reused: bool
    preview: list[dict[str, Any]]
    allowed_changes: list[dict[str, Any]] = field(default_factory=list)
    """Components whose source differs from the run's, scored anyway (`--allow-changed`)."""
    warnings: list[str] = field(default_factory=list)
    inference: str = INFERENCE_VERSION
    """The inference component version that scored (`inference/<version>`)."""

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class TraceResult:
    request_id: str
    prediction: dict[str, Any]
    """The inference log line, with what its batch record holds for every line (run, tier,
    session, input file, mode, latency, ...)."""
    run: dict[str, Any]
    """Run id, snapshot, components with versions and hashes, primary metric, created_at."""
    snapshot: dict[str, Any] | None
    card_entry: dict[str, Any] | None
    tier_history: list[dict[str, Any]]
    """Tier changes of this run, from the card."""
    log_file: str
    batch: dict[str, Any] | None = None
    """The batch record of the line (None for schema-1 lines, which carry it inline)."""
    time: str | None = None
    """The predicted row's time (None for schema-1 lines, which did not log it)."""
    entity: dict[str, Any] | None = None
    """The predicted row's entity values (`{}` for a dataset without entity columns)."""

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _resolve_run(ws: Workspace, model: str, tier: str, run: str | None) -> dict[str, Any]:
    from core.operations.tier_state import read_tiers

    if tier not in PREDICT_TIERS:
        raise FactoryError(
            "unknown_tier",
            f"Unknown tier {tier!r}",
            hint="Use --tier prod, staging or dev (dev needs --run).",
        )
    if tier == "dev":
        if run is None:
            raise UsageError(
                "--tier dev needs --run RUN", hint=f"List runs with `factory runs {model}`."
            )
        report = load_run(ws, run)
    else:
        held = read_tiers(ws, model).get(tier)
        if held is None:
            raise FactoryError(
                "tier_empty",
                f"No run of {model} is in {tier}",
                hint=f"See `factory tiers {model}`; promote a run with `factory promote RUN --to {tier}`, "
                "or score with a dev run: --tier dev --run RUN.",
                details={"model": model, "tier": tier},
            )
        if run is not None and not held.startswith(run):
            raise UsageError(
                f"--run {run} is not the run in {tier} ({held})",
                hint="Drop --run, or use --tier dev.",
            )
        report = load_run(ws, held)
    if report.get("model") != model:
        raise FactoryError(
            "model_mismatch",
            f"Run {report['run_id']} is of model {report.get('model')!r}, not {model!r}",
        )
    from core.operations.sunset.retire import refuse_retired

    refuse_retired(ws, str(report["run_id"]), model)  # says when it retired, what replaced it
    return report


# ----------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class Scorer:
    """A run loaded for scoring: its model, features and arch modules, and the inference
    component that puts them together. Batch and online both score through `score`."""

    run_id: str
    model: str
    task: str
    report: dict[str, Any]
    features: ComponentInfo
    inference: ComponentInfo
    inference_module: ModuleType
    history: timedelta
    """How much history per entity a row's features need (features `HISTORY`, else the
    inference component's, else `DEFAULT_HISTORY`)."""
    allowed_changes: list[dict[str, Any]]
    run: dict[str, Any]
    """The `run` mapping the inference component receives (contracts.py)."""

    def components(self) -> dict[str, Any]:
        """Versions and hashes of what computes a prediction, for the batch record."""
        recorded = self.report.get("components") or {}
        out: dict[str, Any] = {}
        for kind in ("features", "arch"):
            entry = recorded.get(kind) or {}
            out[kind] = {"version": entry.get("version"), "hash": entry.get("hash")}
        return out

    def inference_ref(self) -> dict[str, str]:
        return {"version": self.inference.version, "hash": self.inference.hash}

    def score(
        self, frame: pd.DataFrame, scored: Any, time_column: str, entity: tuple[str, ...]
    ) -> np.ndarray:
        """Predictions for the rows of `frame` (ordered by time, index 0..n-1) where
        `scored` is True, by the inference component."""
        import numpy as np

        from core.components.contracts import call_component

        info = self.inference
        values = call_component(
            info.ref,
            info.path,
            self.inference_module.predict,
            frame,
            scored,
            time_column,
            tuple(entity),
            self.run,
        )
        out = np.asarray(values, dtype=float).reshape(-1)
        wanted = int(np.count_nonzero(scored))
        if len(out) != wanted:
            raise FactoryError(
                "component_contract",
                f"{info.path}: {info.ref} predict() returned {len(out)} values for {wanted} "
                "scored rows",
                details={"ref": info.ref},
            )
        return out


def inference_version(ws: Workspace, model: str) -> str:
    """The inference component version of a model (`inference = ...` in its table when the
    configuration has one, else `INFERENCE_VERSION`)."""
    named = getattr(model_config(ws, model), "inference", None)
    return str(named) if named else INFERENCE_VERSION


def load_scorer(
    ws: Workspace, report: dict[str, Any], allowed_changes: list[dict[str, Any]] | None = None
) -> Scorer:
    """Load a run for scoring. The caller has already refused (or allowed) changed code."""
    from core.components.contracts import call_component, feature_history, parse_duration
    from core.components.registry import get_component, load_module

    model_object, meta, arch = load_model(ws, report)
    run_id = str(report["run_id"])
    model = str(report.get("model"))
    task = str(report.get("task"))
    version = str(((report.get("components") or {}).get("features") or {}).get("version"))
    features = get_component(ws, "features", version)
    features_module = load_module(features)
    inference = get_component(ws, "inference", inference_version(ws, model))
    inference_module = load_module(inference)
    history = (
        feature_history(features_module)
        or parse_duration(getattr(inference_module, "HISTORY", None))
        or DEFAULT_HISTORY
    )

    def build(frame: Any, time_column: str, entity: tuple[str, ...]) -> Any:
        return call_component(
            features.ref, features.path, features_module.build, frame, time_column, entity
        )

    def predict(matrix: Any) -> Any:
        return arch.predict(model_object, matrix, task)

    run = {
        "build": build,
        "categorical": [str(c) for c in getattr(features_module, "CATEGORICAL", [])],
        "feature_names": list(meta.get("feature_names") or []),
        "predict": predict,
        "task": task,
        "run_id": run_id,
        "features_ref": features.ref,
        "features_path": features.path,
    }
    return Scorer(
        run_id=run_id,
        model=model,
        task=task,
        report=report,
        features=features,
        inference=inference,
        inference_module=inference_module,
        history=history,
        allowed_changes=list(allowed_changes or []),
        run=run,
    )


# ----------------------------------------------------------------------------- batch


def _row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """A 64-bit hash of each input row (pandas' row hash), as 16 hex digits per row: an
    (n, 16) uint8 array of ASCII, formatted in numpy because per-row Python costs most of the
    log's time at 100,000 rows."""
    import numpy as np
    import pandas as pd

    values = pd.util.hash_pandas_object(frame, index=False).to_numpy().astype(">u8")
    nibbles = values.view(np.uint8).reshape(len(values), 8)
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    out = np.empty((len(values), 16), dtype=np.uint8)
    out[:, 0::2] = digits[nibbles >> 4]
    out[:, 1::2] = digits[nibbles & 15]
    return out


def request_ids(batch_id: str, rows: Any) -> list[str]:
    """One id per scored row, derived from the batch and the row's position (stable)."""
    prefix = batch_id.encode() + b":"
    return ["rq-" + hashlib.sha256(prefix + str(int(r)).encode()).hexdigest()[:16] for r in rows]


def predict_file(
    ws: Workspace,
    model: str,
    input_path: str,
    *,
    tier: str = "prod",
    run: str | None = None,
    output: str | None = None,
    start: str | None = None,
    log: bool = True,
    allow_changed: bool = False,
    engine: str | None = None,
) -> PredictResult:
    """Score `input_path` with the model in `tier`; see the module docstring. `engine`
    (`--engine`) overrides `[compute] engine`: where the model scores, in row partitions."""
    import numpy as np
    import pandas as pd

    validate_name(model, "model")
    config = model_config(ws, model)
    dataset = ws.config.datasets[config.dataset]
    report = _resolve_run(ws, model, tier, run)
    run_id = str(report["run_id"])
    allowed = refuse_changed(ws, report, allow_changed)
    frame, describe, _ = validated_file(ws, dataset, input_path)
    time_column, entity = dataset.time_column, tuple(dataset.entity_columns)
    frame = frame.sort_values(time_column, kind="mergesort").reset_index(drop=True)
    keep = np.ones(len(frame), dtype=bool)
    if start is not None:
        from core.foundation.timeparse import parse_day

        day = parse_day(start, "--from")
        if day is None:
            raise UsageError(
                f"--from {start!r} is not a date", hint="For example --from 2015-10-01."
            )
        keep = (frame[time_column] >= pd.Timestamp(day)).to_numpy()
        if not keep.any():
            raise FactoryError(
                "nothing_to_score",
                f"{describe['path']}: no row on or after {day}",
                hint="Pick an earlier --from, or a file with newer rows.",
            )
    scorer = load_scorer(ws, report, allowed)
    warnings = _history_warnings(scorer, frame, time_column, keep)
    version = scorer.inference.version
    batch_id = "b-" + hash_inputs(
        {"run": run_id, "tier": tier, "input": describe["sha256"], "from": start}
        | ({"allowed_changes": allowed} if allowed else {})
        | ({"inference": version} if version != INFERENCE_VERSION else {})
    )
    target = Path(output) if output else ws.root / "predictions" / f"{model}-{tier}-{batch_id}.csv"
    if not target.is_absolute():
        target = ws.root / target
    if target.suffix.lower() not in (".csv", ".parquet"):
        raise UsageError(
            f"--output {target}: write .csv or .parquet", hint="For example --output scores.csv"
        )

    with _on_engine(ws, scorer, engine) as scoring:
        started, cpu_started = time.perf_counter(), time.process_time()
        predictions = scoring.score(frame, keep, time_column, entity)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
    scored = frame.loc[keep].reset_index(drop=True)
    rows = np.flatnonzero(keep)
    ids = request_ids(batch_id, rows)
    out = pd.DataFrame({"request_id": ids, time_column: scored[time_column]})
    for column in entity:
        out[column] = scored[column].to_numpy()
    out["prediction"] = predictions
    out["model"] = model
    out["run_id"] = run_id
    out["tier"] = tier
    # The log's lines are built in a second thread while the predictions file is written:
    # Arrow's kernels and pandas' hashing release the GIL, so on two cores most of the
    # logging's cost hides behind that write (adrs/0015).
    pool = futures.ThreadPoolExecutor(1) if log and find_batch(ws, batch_id) is None else None
    body: futures.Future[memoryview] | None = None
    if pool is not None:
        body = pool.submit(
            batch_lines,
            batch_id,
            ids,
            rows,
            scored[time_column],
            scored[list(entity)],
            _row_hashes(scored),
            predictions,
        )
    try:
        with atomic_path(target) as tmp:
            if target.suffix.lower() == ".parquet":
                out.to_parquet(tmp, index=False)
            else:
                out.to_csv(tmp, index=False)
    finally:
        if pool is not None:
            pool.shutdown(wait=True)

    log_file: str | None = None
    logged = reused = False
    if log:
        count = max(len(scored), 1)
        record = batch_record(
            batch_id=batch_id,
            mode="batch",
            scorer=scorer,
            tier=tier,
            extra={
                "input_file": str(describe["path"]),
                "input_sha256": describe["sha256"],
                "from": start,
                "rows": len(scored),
                "time_column": time_column,
                "entity_columns": list(entity),
                "latency_ms": seconds * 1000 / count,
                "cpu_ms": cpu_seconds * 1000 / count,
                "seconds": round(seconds, 6),
            },
        )

        def lines() -> memoryview:
            if body is not None:
                return body.result()
            return batch_lines(
                batch_id,
                ids,
                rows,
                scored[time_column],
                scored[list(entity)],
                _row_hashes(scored),
                predictions,
            )

        path, logged = log_batch(ws, record, lines)
        log_file, reused = str(path), not logged
        if logged:
            emit(
                ws.events_dir,
                "predict.batch",
                run_id=run_id,
                model=model,
                tier=tier,
                batch_id=batch_id,
                rows=len(scored),
                input=describe["id"],
                output=str(target),
                seconds=round(seconds, 4),
                allowed_changes=allowed,
                log_file=log_file,
            )
    preview = json.loads(out.head(5).to_json(orient="records", date_format="iso"))
    return PredictResult(
        model=model,
        tier=tier,
        run_id=run_id,
        batch_id=batch_id,
        input=str(describe["id"]),
        output=str(target),
        rows=len(scored),
        history_rows=int(len(frame) - keep.sum()),
        seconds=seconds,
        rows_per_second=len(scored) / seconds if seconds > 0 else float(len(scored)),
        logged=logged,
        log_file=log_file,
        first_request_id=ids[0] if ids else None,
        reused=reused,
        preview=preview,
        allowed_changes=allowed,
        warnings=warnings,
        inference=version,
    )


@contextlib.contextmanager
def _on_engine(ws: Workspace, scorer: Scorer, engine: str | None) -> Iterator[Scorer]:
    """The scorer, its model applied in row partitions on the engine's workers when
    `[compute]` or `--engine` names one (adrs/0033). The features are still built here, over
    the whole input, so every row keeps its history; the log is written by this process."""
    from dataclasses import replace

    from core.compute.engine import engine_spec, open_engine

    spec = engine_spec(ws.config.compute, engine)
    if spec.local:
        yield scorer
        return
    from core.components.registry import get_component
    from core.compute.scoring import partitioned_predict

    recorded = (scorer.report.get("components") or {}).get("arch") or {}
    # The arch `load_scorer` loaded the model with (`artifacts.load_model`'s default too).
    info = get_component(ws, "arch", str(recorded.get("version") or "catboost_v1"))
    model_file = ws.artifacts_dir / scorer.run_id / "model.cbm"
    with open_engine(spec) as opened:
        predict = partitioned_predict(opened, info, model_file, scorer.task, scorer.run["predict"])
        yield replace(scorer, run={**scorer.run, "predict": predict})


def _history_warnings(scorer: Scorer, frame: Any, time_column: str, keep: Any) -> list[str]:
    """A warning when the input holds less history before its first scored row than the
    features module says a row needs (`HISTORY`): those rows' lags and windows are short."""
    from core.components.contracts import feature_history
    from core.components.registry import load_module

    module = load_module(scorer.features)
    needed = feature_history(module)
    if needed is None:
        return []
    import pandas as pd

    times = frame[time_column]
    first_scored = times[keep].min()
    held = first_scored - times.min()
    if held >= pd.Timedelta(needed):
        return []
    message = (
        f"{scorer.features.ref} needs {getattr(module, 'HISTORY', needed)} of history before a "
        f"scored row; the input holds {held} before its first scored row ({first_scored}): the "
        "first rows' lags and windows are incomplete. Give earlier rows and --from DATE to score "
        "only the later ones."
    )
    print(f"factory: warning: {message}", file=sys.stderr)
    return [message]


# ------------------------------------------------------------------------ the log


def batch_record(
    *, batch_id: str, mode: str, scorer: Scorer, tier: str | None, extra: dict[str, Any]
) -> dict[str, Any]:
    """The record of a batch (or of an online process serving a run): everything that repeats
    for each of its predictions. `kind` and `batch_id` come first, so trace finds it with a
    byte search."""
    return {
        "kind": "batch",
        "batch_id": batch_id,
        "v": LOG_SCHEMA,
        "ts": clock.iso(),
        "session_id": session_id(),
        "pid": os.getpid(),
        "mode": mode,
        "model": scorer.model,
        "run_id": scorer.run_id,
        "tier": tier,
        "arm": "stable" if mode == "batch" else None,
        "rollout_id": None,
        "status": "ok",
        "components": scorer.components(),
        "inference": scorer.inference_ref(),
        "allowed_changes": [c["ref"] for c in scorer.allowed_changes],
        **extra,
    }


def record_line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, separators=(",", ":"), default=str) + "\n").encode("utf-8")


def iso_times(times: Any) -> Any:
    """Times as ISO 8601 text (`2015-12-01T00:00:00`, fractions only when a time has them), an
    Arrow string array: the one format of `time` in batch and online lines."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    series = pd.Series(times)
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_localize(None)
    values = series.to_numpy(dtype="datetime64[ns]")
    whole = bool((values.astype(np.int64) % 1_000_000_000 == 0).all()) if len(values) else True
    unit = "s" if whole else "ns"
    array = pa.array(values.astype(f"datetime64[{unit}]"), type=pa.timestamp(unit))
    # A cast and a replace cost a tenth of `strftime` (7 ms, not 90 ms, at 100,000 rows).
    return pc.replace_substring(pc.cast(array, pa.large_string()), " ", "T", max_replacements=1)


def _json_value(value: Any) -> Any:
    import math

    item = value.item() if hasattr(value, "item") else value
    if isinstance(item, float) and not math.isfinite(item):
        return None
    return item


def entity_json(entities: pd.DataFrame) -> Any:
    """Each row's entity values as a JSON object (`{"city":"north"}`), an Arrow string array
    formatted once per distinct value; without entity columns the scalar `{}`."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.large_string()
    if entities.shape[1] == 0:
        return pa.scalar("{}", text)
    parts: list[Any] = []
    for position, column in enumerate(entities.columns):
        codes, uniques = pd.factorize(entities[column], use_na_sentinel=True)
        encoded = np.array(
            [json.dumps(_json_value(v), default=str) for v in uniques] + ["null"], dtype=object
        )
        prefix = ("{" if position == 0 else ",") + json.dumps(str(column)) + ":"
        parts += [pa.scalar(prefix, text), pa.array(encoded[codes], text)]
    parts.append(pa.scalar("}", text))
    return pc.binary_join_element_wise(*parts, pa.scalar("", text))


def batch_lines(
    batch_id: str,
    request_ids: list[str],
    rows: Any,
    times: Any,
    entities: pd.DataFrame,
    hashes: np.ndarray,
    predictions: Any,
) -> memoryview:
    """The prediction lines of a batch, assembled by Arrow's string kernels: per-row Python
    (an f-string and a float repr per line) made logging cost a third of a batch's time.
    Arrow prints floats in their shortest round-trip form, as `repr` does; NaN and infinity,
    which JSON lacks, become null."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    count = len(request_ids)
    values = np.asarray(predictions, dtype=float)
    text = pa.large_string()  # 64-bit offsets: a batch's log may pass 2 GB
    offsets = np.arange(0, 16 * (count + 1), 16, dtype=np.int64)
    digests = pa.LargeStringArray.from_buffers(
        count, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(hashes).tobytes())
    )
    numbers = pc.if_else(
        pc.is_finite(pa.array(values)),
        pc.cast(pa.array(values), text),
        pa.scalar("null", text),
    )

    def literal(value: str) -> pa.Scalar:
        return pa.scalar(value, text)

    lines = pc.binary_join_element_wise(
        literal('{"request_id":"'),
        pa.array(request_ids, text),
        literal(f'","batch_id":"{batch_id}","row":'),
        pc.cast(pa.array(np.asarray(rows, dtype=np.int64)), text),
        literal(',"time":"'),
        pc.cast(iso_times(times), text),
        literal('","entity":'),
        entity_json(entities),
        literal(',"input_hash":"'),
        digests,
        literal('","prediction":'),
        numbers,
        literal("}\n"),
        literal(""),
    )
    if count == 0:
        return memoryview(b"")
    # A string array without nulls keeps its values back to back: that buffer is the file.
    bounds = np.frombuffer(lines.buffers()[1], dtype=np.int64)
    first, last = bounds[lines.offset], bounds[lines.offset + count]
    return memoryview(lines.buffers()[2])[first:last]


def partition(ws: Workspace, ts: str) -> Path:
    """The date partition of the inference log a line written at `ts` goes to."""
    return ws.inference_dir / f"date={ts[:10]}"


def legacy_marker(ws: Workspace, batch_id: str) -> Path:
    """Where schema 1 recorded a logged batch (`.factory/`, which may be deleted)."""
    return ws.state_dir / "inference" / "batches" / f"{batch_id}.json"


def find_batch(ws: Workspace, batch_id: str) -> Path | None:
    """The log file of a batch logged before, in any date partition (or in the schema-1
    layout, while its marker exists)."""
    folder = ws.inference_dir
    if folder.is_dir():
        for part in sorted(folder.glob("date=*"), reverse=True):
            path = part / f"{batch_id}.jsonl"
            if path.is_file():
                return path
    marker = read_json(legacy_marker(ws, batch_id))
    if isinstance(marker, dict) and marker.get("log_file"):
        old = Path(str(marker["log_file"]))
        if old.is_file():
            return old
    return None


def _remove_temporaries(ws: Workspace, batch_id: str) -> None:
    """Temporary files of this batch left by a process killed while writing it: with the
    batch's lock held, no living process is writing one."""
    folder = ws.inference_dir
    if not folder.is_dir():
        return
    for stale in folder.glob(f"date=*/.{batch_id}.jsonl.*.tmp"):
        with contextlib.suppress(OSError):
            stale.unlink()


def log_batch(
    ws: Workspace, record: dict[str, Any], lines: Callable[[], memoryview | bytes]
) -> tuple[Path, bool]:
    """Write a batch's log file once: (its path, whether this call wrote it).

    Under the batch's lock (`.factory/locks/`, regenerable): look for an earlier copy in
    every partition, else write record and lines to one file atomically. A concurrent run
    of the same batch waits for the lock and finds the file; a killed one leaves only a
    temporary file, which the next run of the batch removes."""
    batch_id = str(record["batch_id"])
    with file_lock(ws.state_dir / "locks" / f"inference-{batch_id}.lock"):
        found = find_batch(ws, batch_id)
        if found is not None:
            return found, False
        _remove_temporaries(ws, batch_id)
        target = partition(ws, str(record["ts"])) / f"{batch_id}.jsonl"
        body = lines()
        with atomic_path(target) as tmp, open(tmp, "wb") as handle:
            handle.write(record_line(record))
            handle.write(body)
        return target, True


# ----------------------------------------------------------------------------- trace

_RECORD_KEYS = (
    "ts",
    "session_id",
    "model",
    "run_id",
    "tier",
    "mode",
    "arm",
    "rollout_id",
    "input_file",
    "latency_ms",
    "cpu_ms",
    "status",
    "inference",
    "allowed_changes",
)
"""What a batch record holds for each of its lines."""


def _line_at(data: bytes, at: int) -> dict[str, Any] | None:
    start = data.rfind(b"\n", 0, at) + 1
    end = data.find(b"\n", at)
    if end < 0:
        return None  # torn last line
    try:
        value = json.loads(data[start:end])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _find_request(ws: Workspace, request_id: str) -> tuple[dict[str, Any], Path, bytes] | None:
    """The line of a request (a shadow score of the same request only when nothing else
    has its id), with its file and that file's bytes."""
    folder = ws.inference_dir
    if not folder.is_dir():
        return None
    needle = f'"request_id":"{request_id}"'.encode()
    shadow: tuple[dict[str, Any], Path, bytes] | None = None
    for part in sorted(folder.glob("date=*"), reverse=True):
        for path in sorted(part.glob("*.jsonl")):
            data = path.read_bytes()
            at = data.find(needle)
            while at >= 0:
                line = _line_at(data, at)
                if line is not None and line.get("request_id") == request_id:
                    if line.get("mode") != "shadow":
                        return line, path, data
                    shadow = shadow or (line, path, data)
                at = data.find(needle, at + len(needle))
    return shadow


def _batch_of(data: bytes, batch_id: str, run_id: str | None) -> dict[str, Any] | None:
    needle = f'{{"kind":"batch","batch_id":"{batch_id}"'.encode()
    at = data.find(needle)
    while at >= 0:
        record = _line_at(data, at)
        if record is not None and (run_id is None or record.get("run_id") == run_id):
            return record
        at = data.find(needle, at + len(needle))
    return None


def trace(ws: Workspace, request_id: str) -> TraceResult:
    """From a prediction back to its run, components, snapshot, card entry and tier changes."""
    if not REQUEST_ID.match(request_id or ""):
        raise FactoryError(
            "invalid_request_id",
            f"{request_id!r} is not a request id (rq- followed by 16 hex digits)",
            hint="Request ids are in the predictions file and in logs/inference.",
            exit_code=ExitCode.USAGE,
        )
    found = _find_request(ws, request_id)
    if found is None:
        raise FactoryError(
            "unknown_request",
            f"No prediction {request_id} in {ws.inference_dir}",
            hint='Old inference logs may have been removed; `factory query "SELECT * FROM inference LIMIT 5"` '
            "shows what is there.",
            details={"request_id": request_id},
        )
    line, path, data = found
    record = None
    if line.get("batch_id"):
        record = _batch_of(data, str(line["batch_id"]), line.get("run_id"))
    prediction = {
        **{k: record.get(k) for k in _RECORD_KEYS if record is not None and k in record},
        **line,
    }
    run_id = str(prediction.get("run_id"))
    report = load_run(ws, run_id)
    snapshot = None
    from core.data.snapshots import get_manifest

    try:
        manifest = get_manifest(ws, str(report.get("snapshot_id")))
        snapshot = {
            k: manifest.get(k)
            for k in (
                "id",
                "dataset",
                "source",
                "rows",
                "time_range",
                "schema_version",
                "content_hash",
            )
        }
    except FactoryError:
        snapshot = {"id": report.get("snapshot_id"), "missing": True}
    entry = None
    history: list[dict[str, Any]] = []
    from core.records.card_store import read_card
    from core.records.runs import run_entry

    card = read_card(ws, str(report.get("model")))
    entry = run_entry(ws, card, run_id)
    history = [
        h
        for h in card.meta.get("tier_history") or []
        if isinstance(h, dict) and h.get("run_id") == run_id
    ]
    run = {
        "run_id": run_id,
        "model": report.get("model"),
        "created_at": report.get("created_at"),
        "snapshot_id": report.get("snapshot_id"),
        "components": report.get("components"),
        "hparams": report.get("hparams"),
        "seed": report.get("seed"),
        "primary_metric": report.get("primary_metric"),
        "report": f"reports/{run_id}.json",
        "artifact": (report.get("artifact") or {}).get("model"),
    }
    entity = line.get("entity")
    return TraceResult(
        request_id,
        prediction,
        run,
        snapshot,
        entry,
        history,
        str(path),
        batch=record,
        time=line.get("time"),
        entity=entity if isinstance(entity, dict) else None,
    )
