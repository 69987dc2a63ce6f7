"""`factory predict` and `factory trace`: batch scoring with one lineage line per prediction.

One code path for every tier: the tier names a run (`tiers` in the card; `dev` needs an
explicit run), the run names its artifact and components, the input file is checked against
the dataset's schema, features are computed by the run's own features component on the
input rows (earlier rows of the file serve as history; `--from` scores only later rows),
and the predictions are written atomically.

Each prediction appends one line to `logs/inference/date=YYYY-MM-DD/<session>.jsonl`:
request id, batch id, model, run id, tier, amortized latency and a hash of its input row
(adrs/0015-inference-lineage-log.md). The lines of a batch go out in one buffered append of
whole lines, so logging costs little and a reader never sees half a line. A batch's id hashes
run, tier, input content and range: scoring the same file again rewrites identical
predictions and logs nothing twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.foundation import clock
from core.foundation.atomic import atomic_path, write_json
from core.foundation.errors import ExitCode, FactoryError, UsageError
from core.foundation.events import emit, session_id
from core.foundation.ids import hash_inputs, validate_name
from core.foundation.workspace import Workspace
from core.operations.artifacts import load_model, refuse_changed
from core.operations.common import (
    compute_features,
    load_run,
    model_config,
    read_json,
    validated_file,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

PREDICT_TIERS = ("prod", "staging", "dev")
REQUEST_ID = re.compile(r"^rq-[0-9a-f]{16}$")


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
    """Whether inference lines were written (False when the batch had been logged before,
    or with logging off)."""
    log_file: str | None
    first_request_id: str | None
    reused: bool
    preview: list[dict[str, Any]]
    allowed_changes: list[dict[str, Any]] = field(default_factory=list)
    """Components whose source differs from the run's, scored anyway (`--allow-changed`)."""
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class TraceResult:
    request_id: str
    prediction: dict[str, Any]
    """The inference log line."""
    run: dict[str, Any]
    """Run id, snapshot, components with versions and hashes, primary metric, created_at."""
    snapshot: dict[str, Any] | None
    card_entry: dict[str, Any] | None
    tier_history: list[dict[str, Any]]
    """Tier changes of this run, from the card."""
    log_file: str

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
    return report


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


def batches_dir(ws: Workspace) -> Path:
    return ws.state_dir / "inference" / "batches"


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
) -> PredictResult:
    """Score `input_path` with the model in `tier`; see the module docstring."""
    import numpy as np
    import pandas as pd

    validate_name(model, "model")
    config = model_config(ws, model)
    dataset = ws.config.datasets[config.dataset]
    report = _resolve_run(ws, model, tier, run)
    run_id = str(report["run_id"])
    allowed = refuse_changed(ws, report, allow_changed)
    frame, describe, _ = validated_file(ws, dataset, input_path)
    time_column, entity = dataset.time_column, list(dataset.entity_columns)
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
    warnings = _history_warnings(ws, report, frame, time_column, keep)
    batch_id = "b-" + hash_inputs(
        {"run": run_id, "tier": tier, "input": describe["sha256"], "from": start}
        | ({"allowed_changes": allowed} if allowed else {})
    )
    target = Path(output) if output else ws.root / "predictions" / f"{model}-{tier}-{batch_id}.csv"
    if not target.is_absolute():
        target = ws.root / target
    if target.suffix.lower() not in (".csv", ".parquet"):
        raise UsageError(
            f"--output {target}: write .csv or .parquet", hint="For example --output scores.csv"
        )

    model_object, meta, arch = load_model(ws, report)
    features_version = str(((report.get("components") or {}).get("features") or {}).get("version"))
    started = time.perf_counter()
    features = compute_features(ws, frame, features_version, time_column, entity)
    names = list(meta.get("feature_names") or features.columns)
    missing = [n for n in names if n not in features.columns]
    if missing:
        raise FactoryError(
            "features_mismatch",
            f"{describe['path']}: features/{features_version} did not produce {', '.join(missing[:5])} "
            f"that run {run_id} was trained on",
            hint="Give the file the same columns as the training data.",
            details={"missing": missing},
        )
    matrix = features.loc[keep, names]
    scored = frame.loc[keep].reset_index(drop=True)
    predictions = np.asarray(arch.predict(model_object, matrix, report.get("task")), dtype=float)
    seconds = time.perf_counter() - started
    per_row_ms = seconds * 1000 / max(len(scored), 1)
    rows = np.flatnonzero(keep)
    ids = request_ids(batch_id, rows)
    out = pd.DataFrame({"request_id": ids, time_column: scored[time_column]})
    for column in entity:
        out[column] = scored[column].to_numpy()
    out["prediction"] = predictions
    out["model"] = model
    out["run_id"] = run_id
    out["tier"] = tier
    with atomic_path(target) as tmp:
        if target.suffix.lower() == ".parquet":
            out.to_parquet(tmp, index=False)
        else:
            out.to_csv(tmp, index=False)

    marker = batches_dir(ws) / f"{batch_id}.json"
    logged_before = marker.is_file()
    log_file: str | None = None
    if log and not logged_before:
        hashes = _row_hashes(scored)
        log_file = str(
            write_inference_log(
                ws,
                model,
                run_id,
                tier,
                batch_id,
                ids,
                hashes,
                predictions,
                per_row_ms,
                str(describe["path"]),
                rows,
                allowed,
            )
        )
        write_json(
            marker,
            {
                "batch_id": batch_id,
                "rows": len(scored),
                "log_file": log_file,
                "first_request_id": ids[0],
                "at": clock.iso(),
            },
        )
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
        )
    elif logged_before:
        log_file = (read_json(marker) or {}).get("log_file")
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
        logged=bool(log and not logged_before),
        log_file=log_file,
        first_request_id=ids[0] if ids else None,
        reused=logged_before,
        preview=preview,
        allowed_changes=allowed,
        warnings=warnings,
    )


def _history_warnings(
    ws: Workspace, report: dict[str, Any], frame: Any, time_column: str, keep: Any
) -> list[str]:
    """A warning when the input holds less history before its first scored row than the
    features module says a row needs (`HISTORY`): those rows' lags and windows are short."""
    import pandas as pd

    from core.components.registry import get_component, load_module

    version = ((report.get("components") or {}).get("features") or {}).get("version")
    try:
        module = load_module(get_component(ws, "features", str(version)))
    except FactoryError:
        return []
    needed = getattr(module, "HISTORY", None)
    if not isinstance(needed, str):
        return []
    try:
        span = pd.Timedelta(needed)
    except ValueError:
        return []
    times = frame[time_column]
    first_scored = times[keep].min()
    held = first_scored - times.min()
    if held >= span:
        return []
    message = (
        f"features/{version} needs {needed} of history before a scored row; the input holds "
        f"{held} before its first scored row ({first_scored}): the first rows' lags and "
        "windows are incomplete. Give earlier rows and --from DATE to score only the later ones."
    )
    print(f"factory: warning: {message}", file=sys.stderr)
    return [message]


def write_inference_log(
    ws: Workspace,
    model: str,
    run_id: str,
    tier: str,
    batch_id: str,
    request_ids: list[str],
    hashes: np.ndarray,
    predictions: Any,
    per_row_ms: float,
    input_file: str,
    rows: Any,
    allowed_changes: list[dict[str, Any]] | None = None,
) -> Path:
    """Append one line per prediction in a single write (whole lines only)."""
    ts = clock.iso()
    session = session_id()
    path = ws.inference_dir / f"date={ts[:10]}" / f"{session}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    head = (
        f'{{"ts":"{ts}","session_id":{json.dumps(session)},"model":{json.dumps(model)},'
        f'"run_id":"{run_id}","tier":"{tier}","batch_id":"{batch_id}","latency_ms":{per_row_ms:.6f},'
        f'"input_file":{json.dumps(input_file)},'
        + (
            f'"allowed_changes":{json.dumps([c["ref"] for c in allowed_changes])},'
            if allowed_changes
            else ""
        )
        + '"request_id":"'
    )
    data = _log_lines(head, request_ids, rows, hashes, predictions)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    finally:
        os.close(fd)
    return path


def _log_lines(
    head: str, request_ids: list[str], rows: Any, hashes: np.ndarray, predictions: Any
) -> memoryview:
    """The batch's JSON lines, assembled by Arrow's string kernels: per-row Python (an
    f-string and a float repr per line) made logging cost a third of a batch's time, this
    about a tenth. Arrow prints floats in their shortest round-trip form, as `repr` does;
    NaN and infinity, which JSON lacks, become null."""
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
        literal(head),
        pa.array(request_ids, text),
        literal('","row":'),
        pc.cast(pa.array(np.asarray(rows, dtype=np.int64)), text),
        literal(',"input_hash":"'),
        digests,
        literal('","prediction":'),
        numbers,
        literal("}\n"),
        literal(""),
    )
    # A string array without nulls keeps its values back to back: that buffer is the file.
    bounds = np.frombuffer(lines.buffers()[1], dtype=np.int64)
    first, last = bounds[lines.offset], bounds[lines.offset + count]
    return memoryview(lines.buffers()[2])[first:last]


# ----------------------------------------------------------------------------- trace


def _find_request(ws: Workspace, request_id: str) -> tuple[dict[str, Any], Path] | None:
    folder = ws.inference_dir
    if not folder.is_dir():
        return None
    needle = f'"request_id":"{request_id}"'.encode()
    for partition in sorted(folder.glob("date=*"), reverse=True):
        for path in sorted(partition.glob("*.jsonl")):
            data = path.read_bytes()
            at = data.find(needle)
            if at < 0:
                continue
            start = data.rfind(b"\n", 0, at) + 1
            end = data.find(b"\n", at)
            if end < 0:
                continue  # torn last line
            try:
                return json.loads(data[start:end]), path
            except ValueError:
                continue
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
    line, path = found
    run_id = str(line.get("run_id"))
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
    return TraceResult(request_id, line, run, snapshot, entry, history, str(path))
