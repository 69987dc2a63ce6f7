"""One walk-forward fold's fit as a task: the same function runs in this process (the local
engine) or on a worker (adrs/0033).

Folds are independent fits, so each is a task; CatBoost has no distributed training, so one
fit stays on one worker, with the thread count the driver chose (the run's recorded
`thread_count`). A task returns numbers only: the fold's test predictions, its tree counts and
loss curves, and how long it took; the fold's model never leaves the task. Scores, baselines
and the report are computed by the driver from these, in fold order, as locally.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.compute.shipping import ShippedComponent, load_shipped
from core.experiments.training.fit import Progress, fit_fold
from core.experiments.training.inputs import RunInputs

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class FoldData:
    """What every fold's task shares (sent to each worker once)."""

    inputs: RunInputs
    arch: ShippedComponent
    threads: int
    features: Any
    labels: Any
    categorical: list[str]
    train_masks: list[Any]
    test_masks: list[Any]
    fit_masks: list[Any]
    inner_masks: list[Any]
    folds: list[int]
    """Each fold's number, as the report names it."""
    windows: list[str]
    """Each fold's window, for error messages."""


@dataclass(frozen=True)
class FoldTask:
    position: int
    """Which fold of `FoldData` (0-based)."""
    progress: Progress | None = None
    """Only in this process: a worker has no way to reach the progress bar."""


@dataclass(frozen=True)
class FoldOutput:
    prediction: np.ndarray
    """The fold model's predictions on the fold's test rows, in row order."""
    trees: int
    best_iteration: int | None
    curve: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    """CPU time of the process that fitted (a worker's; with several threads per worker,
    the other tasks' too)."""


def fit_fold_task(data: FoldData, task: FoldTask) -> FoldOutput:
    """Fit fold `task.position` and predict its test rows."""
    import numpy as np

    started, cpu = time.perf_counter(), time.process_time()
    k = task.position
    arch = load_shipped(data.arch)
    number = data.folds[k]
    test_mask = data.test_masks[k]
    fitted = fit_fold(
        arch, data.inputs, data.threads, data.features, data.labels, data.categorical,
        train_mask=data.train_masks[k], test_mask=test_mask, fit_mask=data.fit_masks[k],
        inner_mask=data.inner_masks[k], progress=task.progress, fold=number,
        where=f"fold {number} ({data.windows[k]})",
    )  # fmt: skip
    prediction = np.asarray(
        arch.predict(fitted.model, data.features[test_mask], data.inputs.model.task), dtype=float
    )
    return FoldOutput(
        prediction=prediction,
        trees=fitted.trees,
        best_iteration=fitted.best_iteration,
        curve=fitted.curve,
        seconds=time.perf_counter() - started,
        cpu_seconds=time.process_time() - cpu,
    )
