"""`train_run`: walk-forward CatBoost training of one model, idempotent and crash-safe.

The run id is a hash of the run's inputs (adrs/0008-run-ids-from-inputs.md), so training the
same thing again returns the existing run. While training, a marker
`.factory/runs/<run_id>.running.json` says so; the report is written atomically, then the
index summary and the card entry, and only then is the marker removed. A process killed at
any point leaves either no report (the marker shows the run as interrupted, and the next
`train` with those inputs completes it) or a whole one.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from core import clock
from core.atomic import atomic_path, write_json
from core.components.registry import ComponentInfo, get_component, load_module, load_toml
from core.config import ModelConfig
from core.errors import ExitCode, FactoryError, UsageError
from core.experiments import index
from core.ids import hash_inputs, validate_name
from core.modules import import_if_present
from core.workspace import Workspace

REPORT_SCHEMA = "factory.report/1"
LATENCY_SAMPLES = 200
COMPONENT_KINDS = ("features", "labels", "hparams", "arch", "metrics")

Progress = Callable[[str, dict[str, Any]], None]
"""`progress(event, info)`: `folds` {total, iterations}, `fold_start` {fold, label,
iterations}, `iteration` {fold, iteration} (only when the callable has a true
`per_iteration` attribute), `fold_end` {fold, metrics}, `done` {}."""


@dataclass(frozen=True)
class TrainResult:
    run_id: str
    model: str
    reused: bool
    """The run already existed with these inputs: nothing was trained."""
    forced: bool
    report_path: str
    artifact_dir: str
    snapshot_id: str
    components: dict[str, str]
    primary: dict[str, Any]
    metrics: dict[str, Any]
    folds: list[dict[str, Any]]
    identical_to_previous: bool | None = None
    """With --force: whether every metric equals the previous report's (None otherwise)."""
    completed_interrupted: bool = False
    """A marker showed an earlier attempt at this run died; this call completed it."""
    component_changed: list[dict[str, Any]] = field(default_factory=list)
    duration_s: float | None = None
    plan_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class RunInputs:
    """Everything a run's result depends on; its hash is the run id."""

    model: ModelConfig
    snapshot_id: str
    components: dict[str, ComponentInfo]
    hparams: dict[str, Any]
    seed: int
    validation: dict[str, Any]
    time_column: str
    entity_columns: list[str]

    def hashed(self) -> dict[str, Any]:
        return {
            "model": self.model.name,
            "task": self.model.task,
            "snapshot_id": self.snapshot_id,
            "components": {k: [c.version, c.hash] for k, c in sorted(self.components.items())},
            "hparams": self.hparams,
            "seed": self.seed,
            "validation": self.validation,
            "time_column": self.time_column,
            "entity_columns": self.entity_columns,
        }

    @property
    def run_id(self) -> str:
        return "r-" + hash_inputs(self.hashed())


# ------------------------------------------------------------------------------ inputs


def model_config(ws: Workspace, model: str) -> ModelConfig:
    return ws.model(model)


def _choose_components(
    ws: Workspace, config: ModelConfig, chosen: dict[str, str | None], plan_id: str | None
) -> dict[str, str]:
    versions = {
        "features": config.features,
        "labels": config.labels,
        "hparams": config.hparams,
        "arch": config.arch,
    }
    if plan_id is not None:
        if not import_if_present("core.cards.api"):
            raise FactoryError("plans_unavailable", "Plans need core.cards, which is missing")
        from core.cards.api import get_plan

        plan = get_plan(ws, plan_id)
        if plan.model != config.name:
            raise UsageError(
                f"Plan {plan_id} is for model {plan.model!r}, not {config.name!r}",
                hint=f"Run `factory train {plan.model} --plan {plan_id}`.",
            )
        for kind, version in plan.components.items():
            if kind in versions:
                versions[kind] = version
        clashes = {
            k: (v, versions[k]) for k, v in chosen.items() if v is not None and v != versions[k]
        }
        if clashes:
            raise UsageError(
                f"--plan {plan_id} pins "
                + ", ".join(f"{k}={b} (flag says {a})" for k, (a, b) in clashes.items()),
                hint="Drop the component flags, or record a new plan with `factory plan`.",
            )
    for kind, pinned in chosen.items():
        if pinned is not None:
            versions[kind] = pinned
    versions["metrics"] = config.metrics
    return versions


def _snapshot(ws: Workspace, config: ModelConfig, snapshot: str | None) -> str:
    from core.data.snapshots import create_snapshot, get_manifest, latest_snapshot_id

    if snapshot is not None:
        manifest = get_manifest(ws, snapshot)
        if manifest.get("dataset") != config.dataset:
            raise FactoryError(
                "snapshot_mismatch",
                f"Snapshot {snapshot} is of dataset {manifest.get('dataset')!r}; model "
                f"{config.name!r} trains on {config.dataset!r}",
                hint=f"List snapshots with `factory data list --dataset {config.dataset}`.",
                details={"snapshot": snapshot, "dataset": manifest.get("dataset")},
                exit_code=ExitCode.USAGE,
            )
        return snapshot
    latest = latest_snapshot_id(ws, config.dataset)
    if latest is not None:
        return latest
    return create_snapshot(ws, config.dataset).id


def resolve_inputs(
    ws: Workspace,
    model: str,
    *,
    features: str | None = None,
    labels: str | None = None,
    hparams: str | None = None,
    arch: str | None = None,
    snapshot: str | None = None,
    plan_id: str | None = None,
) -> RunInputs:
    """What a `train` call would train, without training (the run id is known here)."""
    config = model_config(ws, model)
    versions = _choose_components(
        ws,
        config,
        {"features": features, "labels": labels, "hparams": hparams, "arch": arch},
        plan_id,
    )
    components = {kind: get_component(ws, kind, versions[kind]) for kind in COMPONENT_KINDS}
    hparam_values = load_toml(components["hparams"])
    snapshot_id = _snapshot(ws, config, snapshot)
    dataset = ws.config.datasets[config.dataset]
    validation = ws.config.validation
    return RunInputs(
        model=config,
        snapshot_id=snapshot_id,
        components=components,
        hparams=dict(hparam_values),
        seed=validation.seed,
        validation={
            "folds": validation.folds,
            "gap_days": validation.gap_days,
            "test_days": validation.test_days,
            "window": validation.window,
            "train_days": validation.train_days if validation.window == "sliding" else None,
        },
        time_column=dataset.time_column,
        entity_columns=list(dataset.entity_columns),
    )


def _module(info: ComponentInfo) -> ModuleType:
    from core.components.contracts import check_module

    module = load_module(info)
    check_module(info.kind, info.ref, info.path, module)
    return module


# ---------------------------------------------------------------------------- training


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _aggregate(values: list[float | None]) -> dict[str, Any]:
    finite = [v for v in values if v is not None]
    if not finite:
        return {"mean": None, "std": None, "min": None, "max": None, "n": 0}
    mean = sum(finite) / len(finite)
    std = (
        math.sqrt(sum((v - mean) ** 2 for v in finite) / (len(finite) - 1))
        if len(finite) > 1
        else 0.0
    )
    return {"mean": mean, "std": std, "min": min(finite), "max": max(finite), "n": len(finite)}


def build_matrix(
    inputs: RunInputs, frame: Any, features_module: ModuleType, labels_module: ModuleType
) -> tuple[Any, Any, list[str]]:
    """(features, labels, categorical columns) for every row of `frame`, contracts checked."""
    import pandas as pd

    from core.components.contracts import call_component, categorical_columns

    refs = inputs.components
    time_column, entity = inputs.time_column, inputs.entity_columns
    task = getattr(labels_module, "TASK", None)
    if task != inputs.model.task:
        raise FactoryError(
            "task_mismatch",
            f"{refs['labels'].path}: labels are for {task!r} but model {inputs.model.name!r} "
            f"is {inputs.model.task!r}",
            hint="Pick labels of the model's task, or change `task` in factory.toml.",
            details={"labels": refs["labels"].ref, "task": task},
        )
    features = call_component(
        refs["features"].ref,
        refs["features"].path,
        features_module.build,
        frame.copy(),
        time_column,
        tuple(entity),
    )
    labels = call_component(
        refs["labels"].ref,
        refs["labels"].path,
        labels_module.build,
        frame.copy(),
        time_column,
        tuple(entity),
    )
    if not isinstance(features, pd.DataFrame) or len(features) != len(frame):
        raise FactoryError(
            "component_contract",
            f"{refs['features'].path}: build() must return a DataFrame with one row per input "
            f"row ({len(frame)}), got {type(features).__name__} of {len(features)}",
            details={"ref": refs["features"].ref},
        )
    if not features.index.equals(frame.index):
        features = features.reindex(frame.index)
    if not isinstance(labels, pd.Series) or len(labels) != len(frame):
        raise FactoryError(
            "component_contract",
            f"{refs['labels'].path}: build() must return a Series with one value per row",
            details={"ref": refs["labels"].ref},
        )
    labels = pd.to_numeric(labels.reindex(frame.index), errors="coerce").astype(float)
    features.columns = [str(c) for c in features.columns]
    if features.columns.duplicated().any():
        duplicated = sorted(set(features.columns[features.columns.duplicated()]))
        raise FactoryError(
            "component_contract",
            f"{refs['features'].path}: duplicate feature columns {', '.join(duplicated)}",
            details={"ref": refs["features"].ref},
        )
    categorical = categorical_columns(features_module, features)
    for column in categorical:
        features[column] = features[column].astype("string").fillna("<missing>").astype(str)
    if inputs.model.task == "classification":
        seen = set(labels.dropna().unique().tolist())
        if not seen <= {0.0, 1.0}:
            raise FactoryError(
                "component_contract",
                f"{refs['labels'].path}: classification labels must be 0 or 1, got "
                f"{sorted(seen)[:5]}",
                details={"ref": refs["labels"].ref},
            )
    return features, labels, categorical


class _IterationCallback:
    """CatBoost calls `after_iteration` once per tree; we forward it to the progress bar."""

    def __init__(self, progress: Progress, fold: Any) -> None:
        self.progress = progress
        self.fold = fold

    def after_iteration(self, info: Any) -> bool:
        self.progress("iteration", {"fold": self.fold, "iteration": info.iteration})
        return True


def _fit(
    arch: ModuleType,
    inputs: RunInputs,
    thread_count: int,
    x: Any,
    y: Any,
    categorical: list[str],
    eval_set: tuple[Any, Any] | None,
    progress: Progress | None,
    fold: Any,
    where: str,
) -> Any:
    model = arch.make_model(inputs.model.task, inputs.hparams, inputs.seed, thread_count)
    stopping = inputs.hparams.get("early_stopping_rounds")
    options: dict[str, Any] = {"cat_features": categorical or None}
    if eval_set is not None:
        options["eval_set"] = eval_set
        # Picking the best iteration on the test window would leak it into the score.
        options["use_best_model"] = bool(stopping)
        if stopping:
            options["early_stopping_rounds"] = int(stopping)
    if progress is not None and getattr(progress, "per_iteration", False):
        # A Python call per tree costs time: only for a live progress bar that shows it.
        options["callbacks"] = [_IterationCallback(progress, fold)]
    try:
        model.fit(x, y, **options)
    except Exception as exc:
        if isinstance(exc, FactoryError):
            raise
        raise FactoryError(
            "training_failed",
            f"{inputs.components['arch'].ref} failed on {where}: {type(exc).__name__}: {exc}",
            hint="Check the fold's rows and labels (e.g. a test window with one class) in "
            "`factory data show`; adjust [validation] or the components.",
            details={"where": where, "rows": len(x)},
            exit_code=ExitCode.CHECK_FAILED,
        ) from exc
    return model


def _latency(arch: ModuleType, model: Any, features: Any, task: str) -> dict[str, Any]:
    import numpy as np

    row = features.iloc[[len(features) - 1]]
    for _ in range(5):
        arch.predict(model, row, task)
    samples = []
    for _ in range(LATENCY_SAMPLES):
        started = time.perf_counter()
        arch.predict(model, row, task)
        samples.append((time.perf_counter() - started) * 1000)
    values = np.asarray(samples)
    return {
        "p50_ms": float(np.percentile(values, 50)),
        "p95_ms": float(np.percentile(values, 95)),
        "mean_ms": float(values.mean()),
        "batch_rows": 1,
        "samples": LATENCY_SAMPLES,
    }


def _changed_components(ws: Workspace, inputs: RunInputs, run_id: str) -> list[dict[str, Any]]:
    """Components whose source differs from what an earlier run of the same version used."""
    changed = []
    seen: set[str] = set()
    for summary in reversed(index.read_summaries(ws)):
        if summary["run_id"] == run_id:
            continue
        versions = summary.get("components") or {}
        hashes = summary.get("component_hashes") or {}
        for kind, info in inputs.components.items():
            if info.ref in seen or versions.get(kind) != info.version:
                continue
            previous = hashes.get(kind)
            if previous and previous != info.hash:
                seen.add(info.ref)
                changed.append(
                    {
                        "ref": info.ref,
                        "hash": info.hash,
                        "previous_hash": previous,
                        "previous_run": summary["run_id"],
                        "message": f"released component changed: {info.ref} differs from the "
                        f"source that run {summary['run_id']} used",
                    }
                )
    return changed


def _metrics_identical(old: dict[str, Any] | None, new: dict[str, Any]) -> bool | None:
    if old is None:
        return None
    old_folds = [f.get("metrics") for f in old.get("folds") or []]
    new_folds = [f.get("metrics") for f in new.get("folds") or []]
    return old_folds == new_folds and (old.get("metrics") or {}).get("aggregate") == (
        new.get("metrics") or {}
    ).get("aggregate")


def _train(
    ws: Workspace,
    inputs: RunInputs,
    run_id: str,
    plan_id: str | None,
    progress: Progress | None,
    thread_count: int,
) -> dict[str, Any]:
    """Train every fold and the final model; write the artifacts; return the report."""
    from core.data.snapshots import load_snapshot
    from core.experiments.repro import reproducibility
    from core.experiments.walkforward import plan_folds

    started_at = clock.iso()
    wall = time.perf_counter()
    cpu = time.process_time()
    timings: dict[str, Any] = {}

    mark = time.perf_counter()
    frame = load_snapshot(ws, inputs.snapshot_id)
    frame = frame.sort_values(inputs.time_column, kind="mergesort").reset_index(drop=True)
    timings["load_s"] = time.perf_counter() - mark

    mark = time.perf_counter()
    modules = {k: _module(inputs.components[k]) for k in ("features", "labels", "arch", "metrics")}
    features, labels, categorical = build_matrix(
        inputs, frame, modules["features"], modules["labels"]
    )
    timings["features_s"] = time.perf_counter() - mark

    usable = labels.notna().to_numpy()
    settings = ws.config.validation
    folds_plan = plan_folds(frame[inputs.time_column], settings, usable)
    metric_module = modules["metrics"]
    directions: dict[str, str] = dict(metric_module.METRICS)
    primary_name = inputs.model.primary_metric
    if primary_name not in directions:
        raise FactoryError(
            "unknown_metric",
            f"{ws.config_path}: [models.{inputs.model.name}] primary_metric {primary_name!r} is "
            f"not computed by {inputs.components['metrics'].ref} ({', '.join(directions)})",
            hint="Set primary_metric to one of those, or pick another metrics version.",
            details={"metric": primary_name, "available": list(directions)},
        )
    iterations = int(inputs.hparams.get("iterations", 1000))
    if progress is not None:
        progress("folds", {"total": len(folds_plan.folds), "iterations": iterations})

    arch = modules["arch"]
    fold_reports: list[dict[str, Any]] = []
    curves: list[dict[str, Any]] = []
    curve_metric = None
    fold_seconds = []
    for fold, train_mask, test_mask in zip(
        folds_plan.folds, folds_plan.train_masks, folds_plan.test_masks, strict=True
    ):
        mark = time.perf_counter()
        if progress is not None:
            progress(
                "fold_start",
                {"fold": fold.index, "label": f"fold {fold.index}", "iterations": iterations},
            )
        x_train, y_train = features[train_mask], labels[train_mask]
        x_test, y_test = features[test_mask], labels[test_mask]
        model = _fit(
            arch, inputs, thread_count, x_train, y_train, categorical, (x_test, y_test),
            progress, fold.index, f"fold {fold.index} ({fold.window()})",
        )  # fmt: skip
        prediction = arch.predict(model, x_test, inputs.model.task)
        values = {
            k: _finite(v) for k, v in metric_module.compute(y_test.to_numpy(), prediction).items()
        }
        curve = arch.curves(model)
        curve_metric = curve.get("metric", curve_metric)
        curves.append(
            {"fold": fold.index, "learn": curve["learn"], "validation": curve["validation"]}
        )
        seconds = time.perf_counter() - mark
        fold_seconds.append(seconds)
        fold_reports.append(
            {
                **fold.to_dict(),
                "metrics": values,
                "iterations": int(model.tree_count_),
                "seconds": round(seconds, 4),
            }
        )
        if progress is not None:
            progress("fold_end", {"fold": fold.index, "metrics": values})
    timings["folds_s"] = [round(s, 4) for s in fold_seconds]

    mark = time.perf_counter()
    if progress is not None:
        progress("fold_start", {"fold": "final", "label": "final model", "iterations": iterations})
    final = _fit(
        arch, inputs, thread_count, features[usable], labels[usable], categorical, None,
        progress, "final", "the final model (all rows)",
    )  # fmt: skip
    timings["final_s"] = time.perf_counter() - mark
    final_curve = arch.curves(final)
    if progress is not None:
        progress("fold_end", {"fold": "final", "metrics": {}})

    artifact_dir = ws.artifacts_dir / run_id
    artifact_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(artifact_dir / "model.cbm") as tmp:
        arch.save(final, tmp)
    meta = {
        "run_id": run_id,
        "model": inputs.model.name,
        "task": inputs.model.task,
        "feature_names": list(features.columns),
        "categorical_columns": categorical,
        "components": {
            k: {"version": c.version, "hash": c.hash} for k, c in inputs.components.items()
        },
        "time_column": inputs.time_column,
        "entity_columns": inputs.entity_columns,
        "snapshot_id": inputs.snapshot_id,
    }
    write_json(artifact_dir / "meta.json", meta)

    mark = time.perf_counter()
    latency = _latency(arch, final, features[usable], inputs.model.task)
    timings["latency_s"] = time.perf_counter() - mark

    aggregate = {
        name: _aggregate([f["metrics"].get(name) for f in fold_reports]) for name in directions
    }
    cpu_seconds = round(time.process_time() - cpu, 4)
    timings["total_s"] = time.perf_counter() - wall
    timings = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in timings.items()}
    price = ws.config.cost.price_per_cpu_hour
    importance = sorted(arch.importance(final), key=lambda p: -p[1])
    return {
        "schema": REPORT_SCHEMA,
        "run_id": run_id,
        "model": inputs.model.name,
        "task": inputs.model.task,
        "dataset": inputs.model.dataset,
        "snapshot_id": inputs.snapshot_id,
        "plan_id": plan_id,
        "created_at": started_at,
        "finished_at": clock.iso(),
        "components": {
            k: {"version": c.version, "hash": c.hash, "origin": c.origin}
            for k, c in inputs.components.items()
        },
        "hparams": inputs.hparams,
        "seed": inputs.seed,
        "validation": inputs.validation,
        "inputs": inputs.hashed(),
        "rows": {"total": len(frame), "labelled": int(usable.sum())},
        "features": {"names": list(features.columns), "categorical": categorical},
        "primary_metric": {
            "name": primary_name,
            "direction": inputs.model.direction,
            **{k: aggregate[primary_name][k] for k in ("mean", "std", "min", "max")},
        },
        "metrics": {"directions": directions, "aggregate": aggregate},
        "folds": fold_reports,
        "curves": {
            "metric": curve_metric,
            "folds": curves,
            "final": {"learn": final_curve["learn"]},
        },
        "feature_importance": [{"feature": n, "importance": round(v, 6)} for n, v in importance],
        "timings": timings,
        "latency": latency,
        "cost": {
            "cpu_seconds": cpu_seconds,
            "price_per_cpu_hour": price,
            "currency": ws.config.cost.currency,
            "cost": cpu_seconds * price / 3600,
            "per_1000_predictions": latency["p50_ms"] / 1000 * 1000 * price / 3600,
        },
        "reproducibility": reproducibility(ws.root, inputs.seed, thread_count),
        "artifact": {
            "dir": f"artifacts/{run_id}",
            "model": f"artifacts/{run_id}/model.cbm",
            "meta": f"artifacts/{run_id}/meta.json",
        },
    }


# ------------------------------------------------------------------- the public entry


@contextlib.contextmanager
def _run_lock(ws: Workspace, run_id: str) -> Iterator[None]:
    """One process trains a given run at a time; a second one waits, then reuses it."""
    path = ws.state_dir / "locks" / f"{run_id}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"factory: another process is training {run_id}; waiting for it", file=sys.stderr)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _record_card(ws: Workspace, report: dict[str, Any]) -> None:
    if import_if_present("core.cards.api"):
        from core.cards.api import record_run

        record_run(ws, report)


def _result(
    report: dict[str, Any], *, reused: bool, forced: bool, identical: bool | None, completed: bool
) -> TrainResult:
    return TrainResult(
        run_id=report["run_id"],
        model=report["model"],
        reused=reused,
        forced=forced,
        report_path=f"reports/{report['run_id']}.json",
        artifact_dir=(report.get("artifact") or {}).get("dir") or f"artifacts/{report['run_id']}",
        snapshot_id=report.get("snapshot_id") or "",
        components={k: v.get("version") for k, v in (report.get("components") or {}).items()},
        primary=report.get("primary_metric") or {},
        metrics=(report.get("metrics") or {}).get("aggregate") or {},
        folds=[
            {
                "fold": f.get("fold"),
                "train": f.get("train"),
                "test": f.get("test"),
                "metrics": f.get("metrics"),
            }
            for f in report.get("folds") or []
        ],
        identical_to_previous=identical,
        completed_interrupted=completed,
        component_changed=list(report.get("component_changed") or []),
        duration_s=(report.get("timings") or {}).get("total_s"),
        plan_id=report.get("plan_id"),
    )


def train_run(
    ws: Workspace,
    model: str,
    *,
    features: str | None = None,
    labels: str | None = None,
    hparams: str | None = None,
    arch: str | None = None,
    snapshot: str | None = None,
    plan_id: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
    thread_count: int | None = None,
) -> TrainResult:
    """Train `model` (components default to factory.toml's, or the plan's), or return the
    existing run with the same inputs. See the module docstring for the crash-safety story."""
    from core.events import emit

    if plan_id is not None:
        validate_name(plan_id, "plan id")
    inputs = resolve_inputs(
        ws, model, features=features, labels=labels, hparams=hparams, arch=arch,
        snapshot=snapshot, plan_id=plan_id,
    )  # fmt: skip
    run_id = inputs.run_id
    threads = thread_count or int(os.environ.get("FACTORY_THREADS") or os.cpu_count() or 1)
    path = index.report_path(ws, run_id)
    marker = index.markers_dir(ws) / f"{run_id}.running.json"
    with _run_lock(ws, run_id):
        completed = marker.is_file()
        if path.is_file() and not force:
            report = index.load_report(ws, run_id)
            if plan_id is not None and report.get("plan_id") != plan_id:
                report = {**report, "plan_id": plan_id}  # the card links this plan to the run
            index.write_summary(ws, index.load_report(ws, run_id))  # rebuilt if it was lost
            _record_card(ws, report)
            marker.unlink(missing_ok=True)
            emit(
                ws.events_dir,
                "run.reused",
                run_id=run_id,
                model=model,
                dataset_id=inputs.snapshot_id,
            )
            return _result(report, reused=True, forced=False, identical=None, completed=False)
        previous = index.load_report(ws, run_id) if path.is_file() else None
        write_json(
            marker,
            {
                "run_id": run_id,
                "model": model,
                "inputs": inputs.hashed(),
                "plan_id": plan_id,
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started_at": clock.iso(),
                "force": force,
            },
        )
        emit(
            ws.events_dir,
            "run.started",
            run_id=run_id,
            model=model,
            dataset_id=inputs.snapshot_id,
            components={k: c.version for k, c in inputs.components.items()},
            force=force,
            resumed=completed,
        )
        try:
            report = _train(ws, inputs, run_id, plan_id, progress, threads)
            report["component_changed"] = _changed_components(ws, inputs, run_id)
            identical = _metrics_identical(previous, report)
            if force:
                report["rerun"] = {
                    "forced": True,
                    "previous_created_at": (previous or {}).get("created_at"),
                    "identical_to_previous": identical,
                }
            write_json(path, report)
            # Read back what landed (sorted keys), so the card sees the same report whether
            # this run was just trained or is reused later.
            report = index.load_report(ws, run_id)
            index.write_summary(ws, report)
            _record_card(ws, report)
        except BaseException as exc:
            if not isinstance(exc, KeyboardInterrupt):
                # A failure is not an interruption: nothing to complete later.
                marker.unlink(missing_ok=True)
                emit(
                    ws.events_dir,
                    "run.failed",
                    run_id=run_id,
                    model=model,
                    error=f"{type(exc).__name__}: {exc}"[:500],
                )
            raise
        emit(
            ws.events_dir,
            "run.finished",
            run_id=run_id,
            model=model,
            dataset_id=inputs.snapshot_id,
            primary=report["primary_metric"],
            duration_s=report["timings"]["total_s"],
            forced=force,
            identical_to_previous=identical,
        )
        marker.unlink(missing_ok=True)
        if progress is not None:
            progress("done", {})
        return _result(report, reused=False, forced=force, identical=identical, completed=completed)
