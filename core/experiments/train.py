"""Training, as other modules and the CLI import it: `train_run` and what a run is made of.

The work lives in `core.experiments.training` (inputs, matrix, fit, baselines, run); this
module names its public entry points in one place."""

from __future__ import annotations

from core.experiments.report import REPORT_SCHEMA
from core.experiments.training.fit import Progress
from core.experiments.training.inputs import (
    COMPONENT_KINDS,
    RunInputs,
    choose_snapshot,
    model_config,
    resolve_inputs,
)
from core.experiments.training.matrix import build_matrix, checked_module
from core.experiments.training.run import (
    Retrain,
    TrainResult,
    retrain_in_scratch,
    run_training,
    train_once,
)

# Older names kept for the modules that still use them.
_module = checked_module
_snapshot = choose_snapshot

__all__ = [
    "COMPONENT_KINDS",
    "REPORT_SCHEMA",
    "Progress",
    "Retrain",
    "RunInputs",
    "TrainResult",
    "build_matrix",
    "checked_module",
    "choose_snapshot",
    "model_config",
    "resolve_inputs",
    "retrain_in_scratch",
    "run_training",
    "train_once",
]
