"""One training of a run's inputs: every walk-forward fold, the naive baselines on the same
rows, the final model and its artifacts, and the typed report. It writes into the artifact folder
it is given and nowhere else; what lands in `reports/`, the index and the card is
`core.experiments.training.run`'s job."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from core.compute.engine import LOCAL, Engine, EngineSpec, open_engine
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
from core.experiments.training.fit import Fitted, Progress, fit_final, measure_latency
from core.experiments.training.folds import FoldData, FoldTask, fit_fold_task
from core.experiments.training.inputs import RunInputs
from core.foundation import clock
from core.foundation.atomic import atomic_path, write_json
from core.foundation.errors import FactoryError
from core.foundation.workspace import Workspace

# ------------------------------------------------------------------------- one training


def changed_components(ws: Workspace, inputs: RunInputs, run_id: str) -> list[dict[str, Any]]:
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
    engine: EngineSpec = LOCAL,
) -> RunReport:
    """Train every fold and the final model, write the artifacts into `artifact_dir` (and
    nowhere else), and return the report; nothing in `reports/` or the card is touched.
    The folds' fits run as tasks on `engine` (adrs/0033); the result is the same on each."""
    with open_engine(engine) as opened:
        return _train_once(
            ws, inputs, artifact_dir=artifact_dir, plan_id=plan_id, progress=progress,
            threads=threads, leak=leak, engine=opened,
        )  # fmt: skip


def _train_once(
    ws: Workspace,
    inputs: RunInputs,
    *,
    artifact_dir: Path,
    plan_id: str | None,
    progress: Progress | None,
    threads: int,
    leak: Leak | None,
    engine: Engine,
) -> RunReport:
    import numpy as np

    from core.compute.shipping import ship
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
    shared = FoldData(
        inputs=inputs, arch=ship(inputs.components["arch"]), threads=threads, features=features,
        labels=labels, categorical=categorical, train_masks=list(plan.train_masks),
        test_masks=list(plan.test_masks), fit_masks=list(plan.fit_masks),
        inner_masks=list(plan.inner_masks), folds=[f.index for f in plan.folds],
        windows=[f.window() for f in plan.folds],
    )  # fmt: skip

    def started(fold: Any) -> None:
        if progress is not None:
            progress(
                "fold_start",
                {"fold": fold.index, "label": f"fold {fold.index}", "iterations": iterations},
            )

    # Remote tasks run at once and cannot reach the progress bar: every fold starts now.
    local_progress = None if engine.remote else progress
    tasks = [FoldTask(k, local_progress) for k in range(len(plan.folds))]
    if engine.remote:
        for fold in plan.folds:
            started(fold)
    outputs = engine.map(fit_fold_task, shared, tasks)
    early_final: tuple[Fitted, float] | None = None
    if engine.remote and not stopping:
        # The final model needs nothing from the folds without early stopping: it grows
        # here while the workers fit them.
        mark = time.perf_counter()
        early = fit_final(
            arch, inputs, threads, features[usable], labels[usable], categorical, [], None
        )
        early_final = (early, time.perf_counter() - mark)
    remote_cpu = 0.0
    for k, fold in enumerate(plan.folds):
        train_mask, test_mask = plan.train_masks[k], plan.test_masks[k]
        if not engine.remote:
            started(fold)
        output = next(outputs)
        mark = time.perf_counter()
        if engine.remote:
            remote_cpu += output.cpu_seconds
        if output.best_iteration is not None:
            picks.append(output.best_iteration)
        y_test = labels[test_mask].to_numpy(dtype=float)
        prediction = output.prediction
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
        curve = output.curve
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
        seconds = output.seconds + time.perf_counter() - mark
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
                    best_iteration=output.best_iteration,
                )
                if inner
                else None,
                iterations=output.trees,
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
    if early_final is not None:
        final, timings["final_s"] = early_final
    else:
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
    # A worker's CPU is not this process's: the run's cost counts both.
    cpu_seconds = round(time.process_time() - cpu + remote_cpu, 4)
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
        reproducibility=reproducibility(ws.root, inputs.seed, threads)
        | ({"engine": engine.describe()} if engine.remote else {}),
        artifact={
            "dir": f"artifacts/{run_id}",
            "model": f"artifacts/{run_id}/model.cbm",
            "meta": f"artifacts/{run_id}/meta.json",
            "final_trees": final.trees,
        },
        component_changed=changed_components(ws, inputs, run_id),
        leaky=leak,
    )
