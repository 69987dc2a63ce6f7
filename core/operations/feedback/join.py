"""`factory feedback join MODEL` and `factory feedback ingest FILE`: outcomes for logged
predictions.

Join: once newer data has arrived (a snapshot), each run's own labels version (the one it
trained with) is run on the snapshot, and its labels are joined to the logged predictions by
the row's time and entity values (adrs/0031-outcomes-and-sunset.md). Only predictions whose time lies within
`[feedback] lookback_days` before the snapshot's newest time are joined; older ones stay
unjoined (counted), as do predictions whose row has no label yet (`pending`: tomorrow has not
happened) or no row at all in the snapshot (`no_row`). Each joined prediction gets the
per-row loss of its run's metrics version (`outcomes.loss_metric`).

Ingest: outcomes from elsewhere, a CSV, Parquet or JSON-lines file with a label per
`request_id` (or per time and entity values with `--key time`). Every logged prediction of
that request (the stable run's and a shadow's) gets the label.

Both write through `outcomes.write_outcomes` under the model's lock after reading the keys
already joined: a rerun adds nothing, and a run killed mid-write leaves nothing half-written.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.foundation import clock
from core.foundation.atomic import file_lock
from core.foundation.errors import FactoryError, UsageError
from core.foundation.events import emit
from core.foundation.ids import hash_inputs
from core.foundation.workspace import Workspace
from core.operations.common import newest_snapshot_id, read_json
from core.operations.feedback.inference_log import predictions
from core.operations.feedback.outcomes import (
    OUTCOME_SCHEMA,
    joined_keys,
    lock_path,
    loss_metric,
    row_loss,
    write_outcomes,
)

if TYPE_CHECKING:
    import pandas as pd

JOIN_SCHEMA = "factory.feedback.join/1"
INGEST_SCHEMA = "factory.feedback.ingest/1"


@dataclass(frozen=True)
class JoinResult:
    model: str
    source: str
    """join (a snapshot) or ingest (a file)."""
    snapshot_id: str | None
    file: str | None
    window: list[str] | None
    """[first, last] time a prediction may have to be joined (the lookback)."""
    lookback_days: int | None
    logged: int
    """Logged predictions of the model considered (status ok, with a time and a value)."""
    joined: int
    """Outcomes written now."""
    already: int
    """Predictions joined by an earlier run (nothing written for them)."""
    pending: int
    """The row is in the data but its label is not known yet."""
    outside_lookback: int
    no_row: int
    """No row of that time and entity in the data (or no such request in the file)."""
    by_run: dict[str, int] = field(default_factory=dict)
    """Outcomes written now, per run."""
    outcome_file: str | None = None
    join_id: str | None = None
    loss_metrics: dict[str, str] = field(default_factory=dict)
    """run -> the metric whose per-row loss its outcomes carry."""
    unmatched: list[str] = field(default_factory=list)
    """Ingest: the first keys of the file that match no logged prediction."""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


# ------------------------------------------------------------------------- helpers


def _plain(value: Any) -> Any:
    """A key value as JSON reads it back: numpy scalars unwrapped, whole floats as ints."""
    item = value.item() if hasattr(value, "item") else value
    if isinstance(item, float):
        if not math.isfinite(item):
            return None
        if item.is_integer():
            return int(item)
    return item


def entity_key(values: list[Any]) -> str:
    return json.dumps([_plain(v) for v in values], default=str)


def _times(values: Any) -> Any:
    """Times as naive datetime64[ns] (the wall clock the log writes)."""
    import pandas as pd

    series = pd.to_datetime(pd.Series(values), errors="coerce")
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_localize(None)
    return series.astype("datetime64[ns]")


class _Runs:
    """Each run's report, labels and metrics modules, read once."""

    def __init__(self, ws: Workspace, model: str) -> None:
        self.ws = ws
        self.config = ws.model(model)
        self.reports: dict[str, dict[str, Any]] = {}
        self.modules: dict[tuple[str, str], Any] = {}

    def report(self, run_id: str) -> dict[str, Any]:
        if run_id not in self.reports:
            raw = read_json(self.ws.reports_dir / f"{run_id}.json")
            self.reports[run_id] = raw if isinstance(raw, dict) else {}
        return self.reports[run_id]

    def version(self, run_id: str, kind: str) -> str:
        entry = (self.report(run_id).get("components") or {}).get(kind)
        if isinstance(entry, dict) and entry.get("version"):
            return str(entry["version"])
        return str(getattr(self.config, kind))

    def module(self, kind: str, version: str) -> Any:
        from core.components.registry import get_component, load_module

        if (kind, version) not in self.modules:
            self.modules[(kind, version)] = load_module(get_component(self.ws, kind, version))
        return self.modules[(kind, version)]

    def loss(self, run_id: str) -> tuple[str | None, Any]:
        metrics = self.module("metrics", self.version(run_id, "metrics"))
        primary = str(
            (self.report(run_id).get("primary_metric") or {}).get("name")
            or self.config.primary_metric
        )
        return loss_metric(metrics, primary), metrics


def _logged(ws: Workspace, model: str) -> tuple[pd.DataFrame, int]:
    """The model's logged predictions that can be joined (one per request and run), and how
    many logged lines had no time (schema 1) or no value."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    skipped = 0
    seen: set[tuple[str, str]] = set()
    for line in predictions(ws, model):
        value = line.get("prediction")
        if line.get("status") != "ok" or not isinstance(value, (int, float)):
            continue
        if not line.get("time") or not line.get("run_id"):
            skipped += 1
            continue
        key = (str(line["request_id"]), str(line["run_id"]))
        if key in seen:
            continue
        seen.add(key)
        rows.append(
            {
                "request_id": key[0],
                "run_id": key[1],
                "tier": line.get("tier"),
                "arm": line.get("arm"),
                "rollout_id": line.get("rollout_id"),
                "mode": line.get("mode"),
                "time": str(line["time"]),
                "entity": line.get("entity") if isinstance(line.get("entity"), dict) else {},
                "prediction": float(value),
                "logged_at": line.get("ts"),
            }
        )
    columns = [
        "request_id", "run_id", "tier", "arm", "rollout_id", "mode", "time", "entity",
        "prediction", "logged_at",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns), skipped


def _outcome_lines(
    runs: _Runs,
    frame: pd.DataFrame,
    labels: Any,
    *,
    source: str,
    join_id: str,
    ts: str,
    model: str,
) -> tuple[list[dict[str, Any]], dict[str, str], list[str]]:
    """Outcome lines for the rows of `frame` (predictions) with their `labels`."""
    import numpy as np

    lines: list[dict[str, Any]] = []
    metrics_of: dict[str, str] = {}
    notes: list[str] = []
    task = runs.config.task
    for run_id, part in frame.groupby("run_id", sort=True):
        y = np.asarray(labels[part.index], dtype=float)
        p = part["prediction"].to_numpy(dtype=float)
        if task == "classification" and np.any((y != 0.0) & (y != 1.0)):
            raise FactoryError(
                "outcomes_invalid",
                f"labels for {model} (classification) must be 0 or 1; got "
                f"{sorted(set(y.tolist()) - {0.0, 1.0})[:5]}",
                hint="Give 0/1 labels (the labels version's own values).",
            )
        metric, module = runs.loss(str(run_id))
        losses = np.full(len(part), np.nan)
        if metric is not None:
            try:
                losses = row_loss(module, metric, y, p)
            except ValueError as exc:
                notes.append(f"{run_id}: no per-row {metric} ({exc})")
            metrics_of[str(run_id)] = metric
        labels_version = runs.version(str(run_id), "labels")
        for (_, row), label, loss in zip(part.iterrows(), y, losses, strict=True):
            lines.append(
                {
                    "request_id": row["request_id"],
                    "run_id": str(run_id),
                    "model": model,
                    "tier": row["tier"],
                    "arm": row["arm"],
                    "rollout_id": row["rollout_id"],
                    "mode": row["mode"],
                    "time": row["time"],
                    "entity": row["entity"],
                    "prediction": float(row["prediction"]),
                    "label": float(label),
                    "loss": float(loss) if math.isfinite(float(loss)) else None,
                    "loss_metric": metric,
                    "labels": labels_version,
                    "source": source,
                    "join_id": join_id,
                    "logged_at": row["logged_at"],
                    "ts": ts,
                    "v": OUTCOME_SCHEMA,
                }
            )
    return lines, metrics_of, notes


def _write(
    ws: Workspace,
    model: str,
    record: dict[str, Any],
    build: Any,
) -> tuple[Path | None, list[dict[str, Any]], dict[str, str], list[str], int]:
    """Under the model's lock: skip what is joined already, write the rest."""
    with file_lock(lock_path(ws, model)):
        existing = joined_keys(ws, model)
        lines, metrics_of, notes, already = build(existing)
        if not lines:
            return None, [], metrics_of, notes, already
        keys = sorted((line["request_id"], line["run_id"]) for line in lines)
        join_id = "j-" + hash_inputs({"model": model, **record["inputs"], "keys": keys})
        for line in lines:
            line["join_id"] = join_id
        path = write_outcomes(ws, {**record, "join_id": join_id, "rows": len(lines)}, lines)
    return path, lines, metrics_of, notes, already


# ------------------------------------------------------------------------- join


def join_outcomes(ws: Workspace, model: str, snapshot: str | None = None) -> JoinResult:
    """See the module docstring."""
    import numpy as np
    import pandas as pd

    from core.data.snapshots import get_manifest, load_snapshot

    runs = _Runs(ws, model)
    config = runs.config
    dataset = ws.config.datasets[config.dataset]
    snapshot_id = snapshot or newest_snapshot_id(ws, config.dataset)
    if snapshot_id is None:
        raise FactoryError(
            "no_snapshot",
            f"{config.dataset} has no snapshot: there is no newer data to take labels from",
            hint=f"Snapshot the newer data: `factory data snapshot --dataset {config.dataset}`.",
        )
    manifest = get_manifest(ws, snapshot_id)
    if manifest.get("dataset") != config.dataset:
        raise FactoryError(
            "snapshot_mismatch",
            f"Snapshot {snapshot_id} is of dataset {manifest.get('dataset')!r}; {model} uses "
            f"{config.dataset!r}",
            hint=f"List snapshots with `factory data list --dataset {config.dataset}`.",
        )
    lookback = int(ws.config.feedback.lookback_days)
    logged, no_time = _logged(ws, model)
    notes = (
        [f"{no_time} logged predictions carry no row time (inference log schema 1): not joinable"]
        if no_time
        else []
    )
    time_column, entity = dataset.time_column, list(dataset.entity_columns)
    frame = load_snapshot(ws, snapshot_id)
    frame = frame.sort_values(time_column, kind="mergesort").reset_index(drop=True)
    times = _times(frame[time_column])
    end = times.max()
    start = end - pd.Timedelta(days=lookback)
    window = [str(start), str(end)] if pd.notna(end) else None
    counts = {"pending": 0, "outside": 0, "no_row": 0}
    ts = clock.iso()

    def build(
        existing: set[tuple[str, str]],
    ) -> tuple[list[dict[str, Any]], dict[str, str], list[str], int]:
        keys = list(zip(logged["request_id"], logged["run_id"], strict=True))
        fresh = np.array([k not in existing for k in keys], dtype=bool)
        already = int((~fresh).sum())
        todo = logged.loc[fresh].copy()
        if todo.empty:
            return [], {}, [], already
        todo["__t"] = _times(todo["time"]).to_numpy()
        inside = ((todo["__t"] >= start) & (todo["__t"] <= end)).to_numpy()
        counts["outside"] = int((~inside).sum())
        todo = todo.loc[inside]
        todo["__e"] = [entity_key([e.get(c) for c in entity]) for e in todo["entity"]]
        found = pd.Series(np.nan, index=todo.index)
        in_data = pd.Series(False, index=todo.index)
        lines: list[dict[str, Any]] = []
        metrics_of: dict[str, str] = {}
        more: list[str] = []
        versions = {r: runs.version(str(r), "labels") for r in todo["run_id"].unique()}
        keyed = pd.DataFrame(
            {
                "__t": times.to_numpy(),
                "__e": [entity_key(list(v)) for v in frame[entity].itertuples(index=False)]
                if entity
                else [entity_key([])] * len(frame),
            }
        )
        for version in sorted(set(versions.values())):
            module = runs.module("labels", version)
            from core.components.contracts import call_component

            labels = call_component(
                f"labels/{version}", "", module.build, frame.copy(), time_column, tuple(entity)
            )
            table = keyed.assign(
                __label=np.asarray(labels, dtype=float), __row=True
            ).drop_duplicates(["__t", "__e"])
            mine = todo[todo["run_id"].map(versions) == version]
            merged = (
                mine[["__t", "__e"]]
                .reset_index()
                .merge(table, on=["__t", "__e"], how="left")
                .set_index("index")
            )
            in_data.loc[merged.index] = merged["__row"].notna().to_numpy()
            found.loc[merged.index] = merged["__label"].to_numpy()
        labelled = found.notna()
        counts["pending"] = int((in_data & ~labelled).sum())
        counts["no_row"] = int((~in_data).sum())
        if labelled.any():
            lines, metrics_of, more = _outcome_lines(
                runs, todo.loc[labelled], found, source="join", join_id="", ts=ts, model=model
            )
        return lines, metrics_of, more, already

    record = {
        "kind": "join",
        "v": OUTCOME_SCHEMA,
        "ts": ts,
        "model": model,
        "source": "join",
        "snapshot_id": snapshot_id,
        "lookback_days": lookback,
        "window": window,
        "inputs": {"snapshot": snapshot_id, "lookback": lookback},
    }
    path, lines, metrics_of, more, already = _write(ws, model, record, build)
    by_run: dict[str, int] = {}
    for line in lines:
        by_run[line["run_id"]] = by_run.get(line["run_id"], 0) + 1
    result = JoinResult(
        model=model,
        source="join",
        snapshot_id=snapshot_id,
        file=None,
        window=window,
        lookback_days=lookback,
        logged=len(logged),
        joined=len(lines),
        already=already,
        pending=counts["pending"],
        outside_lookback=counts["outside"],
        no_row=counts["no_row"],
        by_run=by_run,
        outcome_file=str(path.relative_to(ws.root)) if path else None,
        join_id=lines[0]["join_id"] if lines else None,
        loss_metrics=metrics_of,
        notes=notes + more,
    )
    if lines:
        emit(
            ws.events_dir,
            "feedback.joined",
            model=model,
            dataset_id=snapshot_id,
            join_id=result.join_id,
            joined=len(lines),
            pending=result.pending,
            outside_lookback=result.outside_lookback,
        )
        from core.operations.feedback.live import live

        live(ws, model, record=True)  # the summary `status` reads
    return result


# ------------------------------------------------------------------------- ingest


def _read_file(ws: Workspace, source: str) -> tuple[pd.DataFrame, Path]:
    import pandas as pd

    path = Path(source)
    if not path.is_absolute():
        path = Path.cwd() / path
    if not path.is_file():
        raise FactoryError(
            "source_not_found",
            f"{source}: no such file",
            hint="Give a CSV, Parquet or JSON-lines file of outcomes.",
            details={"path": str(path)},
        )
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif suffix in (".jsonl", ".ndjson", ".json"):
            frame = pd.read_json(path, lines=True, dtype=False)
        else:
            frame = pd.read_csv(path, dtype={"request_id": str})
    except (ValueError, OSError) as exc:
        raise FactoryError(
            "source_format",
            f"{path}: not a readable CSV, Parquet or JSON-lines file ({exc})",
            details={"path": str(path)},
        ) from None
    return frame, path


def ingest_outcomes(
    ws: Workspace,
    source: str,
    *,
    key: str = "request_id",
    label: str = "label",
    model: str | None = None,
) -> list[JoinResult]:
    """See the module docstring: one result per model the file's outcomes belong to."""
    import numpy as np
    import pandas as pd

    if key not in ("request_id", "time"):
        raise UsageError(f"--key {key!r}: use request_id or time", hint="--key request_id")
    if key == "time" and model is None:
        raise UsageError("--key time needs --model MODEL", hint="--key time --model rain")
    frame, path = _read_file(ws, source)
    line_of = {i: i + 2 for i in range(len(frame))}  # header is line 1 (CSV)
    models = [model] if model else list(ws.config.models)
    needed = [label] + (["request_id"] if key == "request_id" else [])
    if key == "time":
        dataset = ws.config.datasets[ws.model(str(model)).dataset]
        needed += [dataset.time_column, *dataset.entity_columns]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise FactoryError(
            "outcomes_invalid",
            f"{path}: no column {', '.join(repr(c) for c in missing)} (columns: "
            f"{', '.join(map(str, frame.columns))})",
            hint=f"Name the label column with --label; the key columns are {', '.join(needed[1:])}.",
            details={"path": str(path), "missing": missing},
        )
    values = pd.to_numeric(frame[label], errors="coerce")
    bad = frame.index[values.isna() & frame[label].notna()].tolist()
    if bad:
        raise FactoryError(
            "outcomes_invalid",
            f"{path}:{line_of[bad[0]]}: label {frame[label].iloc[bad[0]]!r} is not a number",
            hint="Give numeric labels (0/1 for a classifier); leave the cell empty for unknown.",
            details={"path": str(path), "lines": [line_of[i] for i in bad[:10]]},
        )
    if key == "request_id":
        keys = frame["request_id"].astype(str).tolist()
    else:
        times = _times(frame[dataset.time_column]).astype(str).tolist()
        keys = [
            f"{t}|{entity_key(list(e))}"
            for t, e in zip(
                times, frame[list(dataset.entity_columns)].itertuples(index=False), strict=True
            )
        ]
    by_key: dict[str, float] = {}
    for index, (k, v) in enumerate(zip(keys, values.tolist(), strict=True)):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        if k in by_key and by_key[k] != v:
            raise FactoryError(
                "outcomes_invalid",
                f"{path}:{line_of[index]}: {key} {k} has two labels ({by_key[k]!r} and {v!r})",
                hint="Keep one label per key.",
                details={"path": str(path), "line": line_of[index], "key": k},
            )
        by_key[k] = float(v)
    results: list[JoinResult] = []
    matched: set[str] = set()
    from core.operations.sunset.archive import sha256_of

    digest = sha256_of(path)
    for name in models:
        runs = _Runs(ws, name)
        logged, _ = _logged(ws, name)
        if logged.empty:
            continue
        if key == "request_id":
            logged_keys = logged["request_id"]
        else:
            entity = list(ws.config.datasets[runs.config.dataset].entity_columns)
            logged_keys = pd.Series(
                [
                    f"{t}|{entity_key([e.get(c) for c in entity])}"
                    for t, e in zip(
                        _times(logged["time"]).astype(str), logged["entity"], strict=True
                    )
                ],
                index=logged.index,
            )
        hit = logged_keys.isin(by_key).to_numpy()
        if not hit.any():
            continue
        matched.update(logged_keys[hit].tolist())
        ts = clock.iso()
        labels = pd.Series([by_key.get(k, np.nan) for k in logged_keys], index=logged.index)

        def build(
            existing: set[tuple[str, str]],
            logged: pd.DataFrame = logged,
            hit: Any = hit,
            labels: pd.Series = labels,
            runs: _Runs = runs,
            name: str = name,
            ts: str = ts,
        ) -> tuple[list[dict[str, Any]], dict[str, str], list[str], int]:
            fresh = np.array(
                [
                    (r, u) not in existing
                    for r, u in zip(logged["request_id"], logged["run_id"], strict=True)
                ]
            )
            already = int((hit & ~fresh).sum())
            todo = logged.loc[hit & fresh]
            if todo.empty:
                return [], {}, [], already
            lines, metrics_of, notes = _outcome_lines(
                runs, todo, labels, source="ingest", join_id="", ts=ts, model=name
            )
            return lines, metrics_of, notes, already

        record = {
            "kind": "join",
            "v": OUTCOME_SCHEMA,
            "ts": ts,
            "model": name,
            "source": "ingest",
            "file": str(path),
            "key": key,
            "inputs": {"file": digest, "key": key},
        }
        out, lines, metrics_of, notes, already = _write(ws, name, record, build)
        by_run: dict[str, int] = {}
        for line in lines:
            by_run[line["run_id"]] = by_run.get(line["run_id"], 0) + 1
        results.append(
            JoinResult(
                model=name,
                source="ingest",
                snapshot_id=None,
                file=str(path),
                window=None,
                lookback_days=None,
                logged=int(hit.sum()),
                joined=len(lines),
                already=already,
                pending=0,
                outside_lookback=0,
                no_row=0,
                by_run=by_run,
                outcome_file=str(out.relative_to(ws.root)) if out else None,
                join_id=lines[0]["join_id"] if lines else None,
                loss_metrics=metrics_of,
                notes=notes,
            )
        )
        if lines:
            emit(ws.events_dir, "feedback.ingested", model=name, joined=len(lines), file=str(path))
    unmatched = [k for k in by_key if k not in matched]
    if not results:
        raise FactoryError(
            "outcomes_invalid",
            f"{path}: none of its {len(by_key)} labelled keys matches a logged prediction"
            + (f" of {model}" if model else ""),
            hint="Check the key column (request ids are in the predictions file and the "
            'inference log: `factory query "SELECT request_id FROM inference LIMIT 5"`).',
            details={"path": str(path), "unmatched": unmatched[:10]},
        )
    first = results[0]
    results[0] = JoinResult(
        **{**first.to_dict(), "no_row": len(unmatched), "unmatched": unmatched[:20]}
    )
    return results
