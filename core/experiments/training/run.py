"""`train_run`: walk-forward CatBoost training of one model, idempotent and crash-safe.

The run id is a hash of the run's inputs (adrs/0008-run-ids-from-inputs.md), so training the
same thing again returns the existing run. While training, a marker
`.factory/runs/<run_id>.running.json` says so; the report is written atomically, then the
index summary and the card entry, and only then is the marker removed. A process killed at
any point leaves either no report (the marker shows the run as interrupted, and the next
`train` with those inputs completes it) or a whole one.

A check never changes what it checks: `retrain_in_scratch` (the gate's reproducibility
check, and `--force`) trains in a scratch folder under `.factory/scratch/` and compares; a
forced retrain whose results are identical changes nothing, one whose results differ keeps the
run's `created_at` and `plan_id` and records the retrain in the report.

A features version that failed the point-in-time check is refused (`features_leak`, exit 1)
unless `allow_leaky` gives a reason; such a run is marked leaky in its report and left out of
best runs, effects and suggestions. A version never checked at its current source hash is
checked first.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from core.experiments import index
from core.experiments.report import (
    REPORT_SCHEMA,
    Aggregate,
    Baselines,
    ComponentRef,
    EarlyStopping,
    FoldResult,
    Leak,
    Predictions,
    PrimaryMetric,
    RunReport,
    Window,
    finite,
)
from core.experiments.training.fit import Progress, fit_final, fit_fold, measure_latency
from core.experiments.training.inputs import RunInputs, resolve_inputs
from core.foundation import clock
from core.foundation.atomic import atomic_path, write_json
from core.foundation.errors import ExitCode, FactoryError
from core.foundation.workspace import Workspace


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
    """With --force: whether every metric and prediction equals the report's (None otherwise).
    True means nothing was written."""
    completed_interrupted: bool = False
    """A marker showed an earlier attempt at this run died; this call completed it."""
    component_changed: list[dict[str, Any]] = field(default_factory=list)
    duration_s: float | None = None
    plan_id: str | None = None
    baselines: dict[str, Any] | None = None
    """Best naive baseline, the run's skill over it and the paired verdict."""
    leaky: dict[str, Any] | None = None
    point_in_time: dict[str, Any] | None = None
    """The leak check this call ran before training (None when one was on record)."""
    expectation: dict[str, Any] | None = None
    """The plan this run carried out and whether its expectation held: `{plan_id, expect,
    held, reason, checks}` (None without a plan)."""

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


# ------------------------------------------------------------------------- one training


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
                        "kind": kind,
                        "ref": info.ref,
                        "hash": info.hash,
                        "previous_hash": previous,
                        "previous_run": summary["run_id"],
                        "message": f"released component changed: {info.ref} differs from the "
                        f"source that run {summary['run_id']} used",
                    }
                )
    return changed


def _iso_times(values: Any) -> list[str]:
    return [v.isoformat() for v in values]


def train_once(
    ws: Workspace,
    inputs: RunInputs,
    *,
    artifact_dir: Path,
    plan_id: str | None,
    progress: Progress | None,
    threads: int,
    leak: Leak | None = None,
) -> RunReport:
    """Train every fold and the final model, write the artifacts into `artifact_dir` (and
    nowhere else), and return the report; nothing in `reports/` or the card is touched."""
    import numpy as np

    from core.data.snapshots import load_snapshot
    from core.experiments.repro import reproducibility
    from core.experiments.training import baselines as naive
    from core.experiments.training.matrix import build_matrix, label_horizon, load_modules
    from core.experiments.training.skill import versus_best_baseline
    from core.experiments.walkforward import check_gap, plan_folds

    run_id = inputs.run_id
    started_at = clock.iso()
    wall = time.perf_counter()
    cpu = time.process_time()
    timings: dict[str, Any] = {}

    mark = time.perf_counter()
    frame = load_snapshot(ws, inputs.snapshot_id)
    frame = frame.sort_values(inputs.time_column, kind="mergesort").reset_index(drop=True)
    timings["load_s"] = time.perf_counter() - mark

    mark = time.perf_counter()
    modules = load_modules(inputs)
    labels_info = inputs.components["labels"]
    horizon = label_horizon(labels_info, modules["labels"])
    settings = ws.config.validation
    check_gap(settings, horizon, labels_info.ref)
    features, labels, categorical = build_matrix(
        inputs, frame, modules["features"], modules["labels"]
    )
    persisted, persistence_info = naive.persistence(
        modules["labels"], labels_info, frame, labels, inputs.time_column,
        inputs.entity_columns, horizon,
    )  # fmt: skip
    timings["features_s"] = time.perf_counter() - mark

    usable = labels.notna().to_numpy()
    stopping = inputs.early_stopping_rounds
    plan = plan_folds(frame[inputs.time_column], settings, usable, early_stopping=bool(stopping))
    metric_module = modules["metrics"]
    directions: dict[str, str] = dict(metric_module.METRICS)
    primary_name = inputs.model.primary_metric
    if primary_name not in directions:
        raise FactoryError(
            "config_invalid",
            f"{ws.config_path}: [models.{inputs.model.name}] primary_metric {primary_name!r} is "
            f"not computed by {inputs.components['metrics'].ref} ({', '.join(directions)})",
            hint="Set primary_metric to one of those, or pick another metrics version.",
            details={"metric": primary_name, "available": list(directions)},
        )
    iterations = int(inputs.hparams.get("iterations", 1000))
    if progress is not None:
        progress("folds", {"total": len(plan.folds), "iterations": iterations})

    def score(y: Any, prediction: Any) -> dict[str, float | None]:
        return {k: finite(v) for k, v in metric_module.compute(y, prediction).items()}

    arch = modules["arch"]
    names = naive.names_for(inputs.model.task)
    if persisted is None:
        names = tuple(n for n in names if n != "persistence")
    fold_results: list[FoldResult] = []
    curves: list[dict[str, Any]] = []
    curve_metric = None
    picks: list[int] = []
    oof: dict[str, list[Any]] = {"fold": [], "row": [], "time": [], "y": [], "prediction": []}
    oof_entity: dict[str, list[str]] = {c: [] for c in inputs.entity_columns}
    oof_baselines: dict[str, list[float]] = {n: [] for n in names}
    uncovered = 0
    for k, fold in enumerate(plan.folds):
        mark = time.perf_counter()
        train_mask, test_mask = plan.train_masks[k], plan.test_masks[k]
        if progress is not None:
            progress(
                "fold_start",
                {"fold": fold.index, "label": f"fold {fold.index}", "iterations": iterations},
            )
        fitted = fit_fold(
            arch, inputs, threads, features, labels, categorical,
            train_mask=train_mask, test_mask=test_mask, fit_mask=plan.fit_masks[k],
            inner_mask=plan.inner_masks[k], progress=progress, fold=fold.index,
            where=f"fold {fold.index} ({fold.window()})",
        )  # fmt: skip
        if fitted.best_iteration is not None:
            picks.append(fitted.best_iteration)
        y_test = labels[test_mask].to_numpy(dtype=float)
        prediction = np.asarray(
            arch.predict(fitted.model, features[test_mask], inputs.model.task), dtype=float
        )
        values = score(y_test, prediction)
        y_train = labels[train_mask].to_numpy(dtype=float)
        persisted_test = (
            persisted[test_mask].to_numpy(dtype=float) if persisted is not None else None
        )
        if persisted_test is not None:
            uncovered += int(np.isnan(persisted_test).sum())
        fold_baselines: dict[str, dict[str, float | None]] = {}
        for name in names:
            guess = naive.predict(name, y_train, persisted_test, len(y_test))
            fold_baselines[name] = score(y_test, guess)
            oof_baselines[name].extend(float(v) for v in guess)
        flags = []
        if inputs.model.task == "classification" and len(set(y_test.tolist())) < 2:
            flags.append("one_class")
        positions = np.flatnonzero(test_mask)
        oof["fold"].extend([fold.index] * len(positions))
        oof["row"].extend(int(p) for p in positions)
        oof["time"].extend(_iso_times(frame[inputs.time_column].iloc[positions]))
        oof["y"].extend(float(v) for v in y_test)
        oof["prediction"].extend(float(v) for v in prediction)
        for column in inputs.entity_columns:
            oof_entity[column].extend(str(v) for v in frame[column].iloc[positions])
        curve = fitted.curve
        curve_metric = curve.get("metric", curve_metric)
        curves.append(
            {
                "fold": fold.index,
                "learn": curve.get("learn") or [],
                "validation": curve.get("validation") or [],
                **(
                    {"early_stopping": curve["early_stopping"]} if "early_stopping" in curve else {}
                ),
            }
        )
        seconds = time.perf_counter() - mark
        windows = fold.to_dict()
        inner = windows.get("early_stopping")
        fold_results.append(
            FoldResult(
                fold=fold.index,
                train=Window.from_dict(windows["train"]),
                test=Window.from_dict(windows["test"]),
                gap_days=fold.gap_days,
                metrics=values,
                baselines=fold_baselines,
                early_stopping=EarlyStopping(
                    fit_end=inner["fit_end"],
                    start=inner["start"],
                    end=inner["end"],
                    rows=inner["rows"],
                    fit_rows=inner["fit_rows"],
                    best_iteration=fitted.best_iteration,
                )
                if inner
                else None,
                iterations=fitted.trees,
                seconds=round(seconds, 4),
                flags=flags,
            )
        )
        if progress is not None:
            progress("fold_end", {"fold": fold.index, "metrics": values})
    timings["folds_s"] = [f.seconds for f in fold_results]

    mark = time.perf_counter()
    if progress is not None:
        progress("fold_start", {"fold": "final", "label": "final model", "iterations": iterations})
    final = fit_final(
        arch, inputs, threads, features[usable], labels[usable], categorical, picks, progress
    )
    timings["final_s"] = time.perf_counter() - mark
    if progress is not None:
        progress("fold_end", {"fold": "final", "metrics": {}})

    artifact_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(artifact_dir / "model.cbm") as tmp:
        arch.save(final.model, tmp)
    write_json(
        artifact_dir / "meta.json",
        {
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
        },
    )

    mark = time.perf_counter()
    latency = measure_latency(arch, final.model, features[usable], inputs.model.task)
    timings["latency_s"] = time.perf_counter() - mark

    aggregate = {
        name: Aggregate.of_values([f.metrics.get(name) for f in fold_results])
        for name in directions
    }
    predictions = Predictions(
        fold=oof["fold"], row=oof["row"], time=oof["time"], entity=oof_entity, y=oof["y"],
        prediction=oof["prediction"], baselines=oof_baselines,
    )  # fmt: skip
    baseline_aggregate = {
        name: {
            metric: Aggregate.of_values([f.baselines[name].get(metric) for f in fold_results])
            for metric in directions
        }
        for name in names
    }
    best_name, versus, skill = versus_best_baseline(
        predictions, fold_results, baseline_aggregate, primary_name, directions[primary_name],
        horizon,
    )  # fmt: skip
    cpu_seconds = round(time.process_time() - cpu, 4)
    timings["total_s"] = time.perf_counter() - wall
    timings = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in timings.items()}
    price = ws.config.cost.price_per_cpu_hour
    importance = sorted(arch.importance(final.model), key=lambda p: -p[1])
    primary_agg = aggregate[primary_name]
    return RunReport(
        schema=REPORT_SCHEMA,
        run_id=run_id,
        model=inputs.model.name,
        task=inputs.model.task,
        dataset=inputs.model.dataset,
        snapshot_id=inputs.snapshot_id,
        plan_id=plan_id,
        created_at=started_at,
        finished_at=clock.iso(),
        components={
            k: ComponentRef(c.version, c.hash, c.origin) for k, c in inputs.components.items()
        },
        hparams=inputs.hparams,
        seed=inputs.seed,
        validation=inputs.validation,
        inputs=inputs.hashed(),
        labels={
            "version": labels_info.version,
            "horizon": persistence_info["horizon"],
            "persistence": persistence_info["how"],
        },
        rows={"total": len(frame), "labelled": int(usable.sum())},
        features={"names": list(features.columns), "categorical": categorical},
        primary_metric=PrimaryMetric(
            name=primary_name,
            direction=inputs.model.direction,
            mean=primary_agg.mean,
            std=primary_agg.std,
            min=primary_agg.min,
            max=primary_agg.max,
            n=primary_agg.n,
            of=primary_agg.of,
        ),
        metric_directions=directions,
        aggregate=aggregate,
        folds=fold_results,
        predictions=predictions,
        baselines=Baselines(
            names=list(names),
            aggregate=baseline_aggregate,
            best=best_name,
            versus_best=versus,
            skill=skill,
            persistence={**persistence_info, "rows_filled_with_level": uncovered}
            if persisted is not None
            else persistence_info,
        ),
        curves={
            "metric": curve_metric,
            "folds": curves,
            "final": {"learn": final.curve.get("learn") or []},
        },
        feature_importance=[{"feature": n, "importance": round(v, 6)} for n, v in importance],
        timings=timings,
        latency=latency,
        cost={
            "cpu_seconds": cpu_seconds,
            "price_per_cpu_hour": price,
            "currency": ws.config.cost.currency,
            "cost": cpu_seconds * price / 3600,
            "per_1000_predictions": latency["p50_ms"] / 1000 * 1000 * price / 3600,
        },
        reproducibility=reproducibility(ws.root, inputs.seed, threads),
        artifact={
            "dir": f"artifacts/{run_id}",
            "model": f"artifacts/{run_id}/model.cbm",
            "meta": f"artifacts/{run_id}/meta.json",
            "final_trees": final.trees,
        },
        component_changed=_changed_components(ws, inputs, run_id),
        leaky=leak,
    )


# ----------------------------------------------------------------- scratch and sameness


def differences(old: RunReport, new: RunReport) -> list[str]:
    """What differs between two trainings of the same inputs (empty: identical results)."""
    found = []
    if [f.metrics for f in old.folds] != [f.metrics for f in new.folds]:
        found.append("per-fold metrics")
    if old.predictions is None or new.predictions is None:
        if old.predictions is not new.predictions:
            found.append("out-of-fold predictions (one report has none)")
    elif old.predictions.prediction != new.predictions.prediction:
        found.append("out-of-fold predictions")
    if [f.baselines for f in old.folds] != [f.baselines for f in new.folds]:
        found.append("baseline scores")
    return found


@contextlib.contextmanager
def scratch_folder(ws: Workspace, run_id: str) -> Iterator[Path]:
    """A private folder for a training whose result is only compared, removed afterwards.
    Folders of processes that died are removed by the next caller."""
    root = ws.state_dir / "scratch"
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob("*"):
        pid = stale.name.rsplit("-", 2)[-2] if stale.name.count("-") >= 2 else ""
        if pid.isdigit() and not index.pid_alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    folder = root / f"{run_id}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class Retrain:
    """A retraining of a run's recorded inputs, compared with its report."""

    run_id: str
    same_run_id: bool
    """False: the recipe now gives another run id (a component's source or a setting moved)."""
    new_run_id: str
    identical: bool
    differences: list[str]
    report: RunReport | None
    """The retrained report (None when the inputs no longer give the same run)."""


def inputs_of(ws: Workspace, report: RunReport) -> RunInputs:
    """The inputs a report's recipe gives today (versions from the report, sources as now)."""
    versions = report.component_versions()
    return resolve_inputs(
        ws,
        report.model,
        features=versions.get("features"),
        labels=versions.get("labels"),
        hparams=versions.get("hparams"),
        arch=versions.get("arch"),
        snapshot=report.snapshot_id,
    )


def retrain_in_scratch(
    ws: Workspace,
    report: RunReport,
    *,
    threads: int | None = None,
    keep: Path | None = None,
    install: Path | None = None,
) -> Retrain:
    """Train the report's recipe again in a scratch folder and compare; nothing the run owns
    (report, artifact, card entry, index summary) is touched. With `keep`, the scratch
    artifacts are moved there when the results differ (for `--force`); with `install`, when
    they are identical (for `rebuild`: an artifact is used only once it matches its report)."""
    inputs = inputs_of(ws, report)
    if inputs.run_id != report.run_id:
        return Retrain(report.run_id, False, inputs.run_id, False, ["inputs"], None)
    count = threads or int(os.environ.get("FACTORY_THREADS") or os.cpu_count() or 1)
    with scratch_folder(ws, report.run_id) as folder:
        again = train_once(
            ws, inputs, artifact_dir=folder / "artifact", plan_id=report.plan_id,
            progress=None, threads=count, leak=report.leaky,
        )  # fmt: skip
        found = differences(report, again)
        target = keep if found else install
        if target is not None:
            for name in ("model.cbm", "meta.json"):
                with atomic_path(target / name) as tmp:
                    shutil.copyfile(folder / "artifact" / name, tmp)
    return Retrain(report.run_id, True, inputs.run_id, not found, found, again)


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


Record = Callable[[dict[str, Any]], None]
"""What to do with a report once it landed (the model card records it): given by the caller,
so training knows nothing of the layers that remember it."""


def _result(
    report: RunReport,
    *,
    reused: bool,
    forced: bool,
    identical: bool | None,
    completed: bool,
    point_in_time: dict[str, Any] | None = None,
) -> TrainResult:
    baselines = report.baselines
    return TrainResult(
        run_id=report.run_id,
        model=report.model,
        reused=reused,
        forced=forced,
        report_path=f"reports/{report.run_id}.json",
        artifact_dir=str(report.artifact.get("dir") or f"artifacts/{report.run_id}"),
        snapshot_id=report.snapshot_id,
        components=report.component_versions(),
        primary=report.primary_metric.to_dict(),
        metrics={k: a.to_dict() for k, a in report.aggregate.items()},
        folds=[
            {
                "fold": f.fold,
                "train": f.train.to_dict(),
                "test": f.test.to_dict(),
                "metrics": f.metrics,
                "flags": f.flags,
                "early_stopping": f.early_stopping.to_dict() if f.early_stopping else None,
            }
            for f in report.folds
        ],
        identical_to_previous=identical,
        completed_interrupted=completed,
        component_changed=list(report.component_changed),
        duration_s=report.timings.get("total_s"),
        plan_id=report.plan_id,
        baselines=(
            {
                "best": baselines.best,
                "skill": baselines.skill,
                "versus_best": baselines.versus_best,
            }
            if baselines
            else None
        ),
        leaky=report.leaky.to_dict() if report.leaky else None,
        point_in_time=point_in_time,
    )


def _leak_gate(
    ws: Workspace, inputs: RunInputs, allow_leaky: str | None
) -> tuple[Leak | None, dict[str, Any] | None]:
    """Refuse a features version known to leak; check one never checked at this hash."""
    from core.experiments.leaks import pit_state, record_check
    from core.experiments.pit import check_point_in_time

    info = inputs.components["features"]
    state = pit_state(ws, info.version, info.hash)
    ran: dict[str, Any] | None = None
    if state.state == "unchecked":
        result = check_point_in_time(
            ws,
            info.version,
            inputs.model.name,
            inputs.snapshot_id,
            budget_s=ws.config.validation.leak_check_budget_s,
        )
        pit_id = record_check(ws, result)
        ran = {"pit_id": pit_id, "ok": result.ok, "summary": getattr(result, "summary", None)}
        state = pit_state(ws, info.version, info.hash)
    if state.state != "failed":
        return None, ran
    if allow_leaky is not None and allow_leaky.strip():
        return Leak(state.pit_id, allow_leaky.strip(), list(state.changed_columns)), ran
    raise FactoryError(
        "features_leak",
        f"{info.ref} failed the point-in-time check ({state.pit_id}): "
        f"{', '.join(state.changed_columns) or 'some columns'} read rows from after a row's "
        "own time, so its scores would be too good to be true",
        hint=f"Fix it in a new version (e.g. {info.version}_fixed), check it with "
        f"`factory check features NEW`; to train anyway, for a known reason, pass "
        '--allow-leaky "why"; the run is then marked leaky and never called best.',
        details={
            "features": info.ref,
            "hash": info.hash,
            "pit_id": state.pit_id,
            "changed_columns": list(state.changed_columns),
            "ran_now": ran,
        },
        exit_code=ExitCode.CHECK_FAILED,
    )


def run_training(
    ws: Workspace,
    inputs: RunInputs,
    *,
    plan_id: str | None = None,
    force: bool = False,
    allow_leaky: str | None = None,
    progress: Progress | None = None,
    thread_count: int | None = None,
    record: Record | None = None,
) -> TrainResult:
    """Train `inputs`, or return the existing run with the same inputs. See the module
    docstring; `record` receives the report as it landed (and a reused one when a plan links
    to it)."""
    from core.foundation.events import emit

    run_id = inputs.run_id
    model = inputs.model.name
    threads = thread_count or int(os.environ.get("FACTORY_THREADS") or os.cpu_count() or 1)
    path = index.report_path(ws, run_id)
    marker = index.markers_dir(ws) / f"{run_id}.running.json"
    with _run_lock(ws, run_id):
        completed = marker.is_file()
        if path.is_file() and not force:
            raw = index.load_report(ws, run_id)
            if plan_id is not None and raw.get("plan_id") != plan_id:
                raw = {**raw, "plan_id": plan_id}  # the card links this plan to the run
                if record is not None:
                    record(raw)
            index.write_summary(ws, index.load_report(ws, run_id))  # rebuilt if it was lost
            marker.unlink(missing_ok=True)
            emit(
                ws.events_dir,
                "run.reused",
                run_id=run_id,
                model=model,
                dataset_id=inputs.snapshot_id,
            )
            return _result(
                RunReport.from_dict(raw), reused=True, forced=False, identical=None, completed=False
            )
        leak, checked = _leak_gate(ws, inputs, allow_leaky)
        if path.is_file():
            existing = RunReport.from_dict(index.load_report(ws, run_id))
            return _force(ws, existing, threads, record)
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
            leaky=leak is not None,
        )
        try:
            built = train_once(
                ws, inputs, artifact_dir=ws.artifacts_dir / run_id, plan_id=plan_id,
                progress=progress, threads=threads, leak=leak,
            )  # fmt: skip
            write_json(path, built.to_dict())
            # Read back what landed (sorted keys), so the card sees the same report whether
            # this run was just trained or is reused later.
            raw = index.load_report(ws, run_id)
            index.write_summary(ws, raw)
            if record is not None:
                record(raw)
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
            primary=built.primary_metric.to_dict(),
            duration_s=built.timings.get("total_s"),
            leaky=leak is not None,
        )
        marker.unlink(missing_ok=True)
        if progress is not None:
            progress("done", {})
        return _result(
            RunReport.from_dict(raw), reused=False, forced=False, identical=None,
            completed=completed, point_in_time=checked,
        )  # fmt: skip


def _force(ws: Workspace, report: RunReport, threads: int, record: Record | None) -> TrainResult:
    """`--force` on an existing run: retrain in scratch; identical results change nothing;
    different ones replace the results and keep when the run began and which plan it served."""
    from core.foundation.events import emit

    retrained = retrain_in_scratch(
        ws, report, threads=threads, keep=ws.artifacts_dir / report.run_id
    )
    assert retrained.report is not None  # same inputs: the run id matched above
    emit(
        ws.events_dir,
        "run.retrained",
        run_id=report.run_id,
        model=report.model,
        identical=retrained.identical,
        differences=retrained.differences,
    )
    if retrained.identical:
        return _result(report, reused=False, forced=True, identical=True, completed=False)
    history = [
        *report.retrains,
        {
            "at": clock.iso(),
            "differences": retrained.differences,
            "previous_primary": report.primary_metric.to_dict(),
            "previous_finished_at": report.finished_at,
        },
    ]
    updated = replace(
        retrained.report,
        created_at=report.created_at,
        plan_id=report.plan_id,
        retrains=history,
    )
    write_json(index.report_path(ws, report.run_id), updated.to_dict())
    raw = index.load_report(ws, report.run_id)
    index.write_summary(ws, raw)
    if record is not None:
        record(raw)
    return _result(
        RunReport.from_dict(raw), reused=False, forced=True, identical=False, completed=False
    )
