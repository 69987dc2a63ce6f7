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
import socket
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, TypedDict, cast

from core.compute.engine import EngineSpec
from core.experiments import index
from core.experiments.report import (
    Leak,
    PrimaryMetricData,
    RunReport,
    VersusBestData,
)
from core.experiments.training.fit import Progress
from core.experiments.training.inputs import RunInputs
from core.experiments.training.once import train_once
from core.experiments.training.retrain import retrain_in_scratch
from core.foundation import clock
from core.foundation.atomic import write_json
from core.foundation.errors import ExitCode, FactoryError
from core.foundation.workspace import Workspace


class TrainBaselines(TypedDict):
    best: str | None
    """The naive baseline with the best mean primary metric."""
    skill: float | None
    """Skill score on the primary metric against it."""
    versus_best: VersusBestData | None
    """The run (B) against it (A): a `core.stats` decision."""


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
    primary_metric: PrimaryMetricData
    """The run's score on its model's primary metric."""
    metrics: dict[str, dict[str, Any]]
    """Metric -> `{mean, std, min, max, n, of}` over folds."""
    folds: list[dict[str, Any]]
    """Per fold: train and test windows, metrics, flags, early stopping."""
    identical_to_previous: bool | None = None
    """With --force: whether every metric and prediction equals the report's (None otherwise).
    True means nothing was written."""
    completed_interrupted: bool = False
    """A marker showed an earlier attempt at this run died; this call completed it."""
    component_changed: list[dict[str, Any]] = field(default_factory=list)
    duration_s: float | None = None
    plan_id: str | None = None
    baselines: TrainBaselines | None = None
    """Best naive baseline, the run's skill over it and the paired verdict."""
    leaky: dict[str, Any] | None = None
    point_in_time: dict[str, Any] | None = None
    """The leak check this call ran before training (None when one was on record)."""
    expectation: dict[str, Any] | None = None
    """The plan this run carried out and whether its expectation held: `{plan_id, expect,
    held, reason, checks}` (None without a plan)."""

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


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
        primary_metric=report.primary_metric.to_dict(),
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
                "versus_best": cast("VersusBestData | None", baselines.versus_best),
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
    engine: str | None = None,
) -> TrainResult:
    """Train `inputs`, or return the existing run with the same inputs. See the module
    docstring; `record` receives the report as it landed (and a reused one when a plan links
    to it). `engine` (`--engine`) overrides `[compute] engine` for the folds' fits."""
    from core.compute.engine import engine_spec
    from core.foundation.events import emit

    spec = engine_spec(ws.config.compute, engine)

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
            return _force(ws, existing, threads, record, spec)
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
                progress=progress, threads=threads, leak=leak, engine=spec,
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


def _force(
    ws: Workspace, report: RunReport, threads: int, record: Record | None, spec: EngineSpec
) -> TrainResult:
    """`--force` on an existing run: retrain in scratch; identical results change nothing;
    different ones replace the results and keep when the run began and which plan it served."""
    from core.foundation.events import emit

    retrained = retrain_in_scratch(
        ws, report, threads=threads, keep=ws.artifacts_dir / report.run_id, engine=spec
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
