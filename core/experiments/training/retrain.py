"""A check never changes what it checks: `retrain_in_scratch` trains a report's recipe again in
a scratch folder under `.factory/scratch/` and compares (the gate's reproducibility check,
`train --force` and `rebuild` use it); `differences` says what moved."""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from core.compute.engine import LOCAL, EngineSpec
from core.experiments import index
from core.experiments.report import (
    RunReport,
)
from core.experiments.training.inputs import RunInputs, resolve_inputs
from core.experiments.training.once import train_once
from core.foundation.atomic import atomic_path
from core.foundation.workspace import Workspace

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
    engine: EngineSpec = LOCAL,
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
            progress=None, threads=count, leak=report.leaky, engine=engine,
        )  # fmt: skip
        found = differences(report, again)
        target = keep if found else install
        if target is not None:
            for name in ("model.cbm", "meta.json"):
                with atomic_path(target / name) as tmp:
                    shutil.copyfile(folder / "artifact" / name, tmp)
    return Retrain(report.run_id, True, inputs.run_id, not found, found, again)
