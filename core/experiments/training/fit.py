"""Fitting one fold (or the final model) with the architecture component.

With `early_stopping_rounds`, the number of trees is picked on the fold's inner slice (the end
of its training window, after a gap), never on its test window; the fold's model is then
refit on the whole training window with that many trees, which is also how the final model
is grown (the median of the folds' picks), so the folds score the procedure that ships.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from core.experiments.training.inputs import RunInputs
from core.foundation.errors import ExitCode, FactoryError

Progress = Callable[[str, dict[str, Any]], None]
"""`progress(event, info)`: `folds` {total, iterations}, `fold_start` {fold, label,
iterations}, `iteration` {fold, iteration} (only when the callable has a true
`per_iteration` attribute), `fold_end` {fold, metrics}, `done` {}."""

LATENCY_SAMPLES = 200


@dataclass
class Fitted:
    model: Any
    trees: int
    best_iteration: int | None = None
    """Trees picked on the inner slice (None without early stopping)."""
    curve: dict[str, Any] = field(default_factory=dict)


class _IterationCallback:
    """CatBoost calls `after_iteration` once per tree; we forward it to the progress bar."""

    def __init__(self, progress: Progress, fold: Any) -> None:
        self.progress = progress
        self.fold = fold

    def after_iteration(self, info: Any) -> bool:
        self.progress("iteration", {"fold": self.fold, "iteration": info.iteration})
        return True


def _fit_once(
    arch: ModuleType,
    inputs: RunInputs,
    params: dict[str, Any],
    threads: int,
    x: Any,
    y: Any,
    categorical: list[str],
    *,
    eval_set: tuple[Any, Any] | None,
    stopping: int | None,
    progress: Progress | None,
    fold: Any,
    where: str,
) -> Any:
    model = arch.make_model(inputs.model.task, params, inputs.seed, threads)
    options: dict[str, Any] = {"cat_features": categorical or None}
    if eval_set is not None:
        options["eval_set"] = eval_set
        # CatBoost keeps the best iteration on the eval set by default: only the inner slice
        # may choose; a test window is only recorded.
        options["use_best_model"] = stopping is not None
        if stopping is not None:
            options["early_stopping_rounds"] = stopping
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
            hint="Check the fold's rows and labels (e.g. a window with one class) in "
            f"`factory data show {inputs.snapshot_id}`; adjust [validation] or the components.",
            details={"where": where, "rows": len(x)},
            exit_code=ExitCode.CHECK_FAILED,
        ) from exc
    return model


def fit_fold(
    arch: ModuleType,
    inputs: RunInputs,
    threads: int,
    features: Any,
    labels: Any,
    categorical: list[str],
    *,
    train_mask: Any,
    test_mask: Any,
    fit_mask: Any | None,
    inner_mask: Any | None,
    progress: Progress | None,
    fold: Any,
    where: str,
) -> Fitted:
    """Fit a fold's model on its training rows (trees picked on the inner slice when early
    stopping is on); the test rows only record the loss curve."""
    stopping = inputs.early_stopping_rounds
    params = dict(inputs.hparams)
    best: int | None = None
    inner_curve: list[float] = []
    if stopping is not None and fit_mask is not None and inner_mask is not None:
        probe = _fit_once(
            arch, inputs, params, threads, features[fit_mask], labels[fit_mask], categorical,
            eval_set=(features[inner_mask], labels[inner_mask]), stopping=stopping,
            progress=None, fold=fold, where=f"{where}, early-stopping slice",
        )  # fmt: skip
        best = int(probe.get_best_iteration()) + 1
        inner_curve = list(arch.curves(probe).get("validation") or [])
        params["iterations"] = best
    model = _fit_once(
        arch, inputs, params, threads, features[train_mask], labels[train_mask], categorical,
        eval_set=(features[test_mask], labels[test_mask]), stopping=None,
        progress=progress, fold=fold, where=where,
    )  # fmt: skip
    curve = arch.curves(model)
    if inner_curve:
        curve = {**curve, "early_stopping": inner_curve}
    return Fitted(model, int(model.tree_count_), best, curve)


def fit_final(
    arch: ModuleType,
    inputs: RunInputs,
    threads: int,
    features: Any,
    labels: Any,
    categorical: list[str],
    picks: list[int],
    progress: Progress | None,
) -> Fitted:
    """The model that ships: every labelled row; with early stopping, the median of the
    folds' picked tree counts."""
    params = dict(inputs.hparams)
    if picks:
        params["iterations"] = max(1, int(statistics.median(picks)))
    model = _fit_once(
        arch, inputs, params, threads, features, labels, categorical, eval_set=None,
        stopping=None, progress=progress, fold="final", where="the final model (all rows)",
    )  # fmt: skip
    return Fitted(model, int(model.tree_count_), None, arch.curves(model))


def measure_latency(arch: ModuleType, model: Any, features: Any, task: str) -> dict[str, Any]:
    """Single-row prediction latency (p50, p95, mean) of the final model."""
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
