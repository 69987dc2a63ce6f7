"""Experiments: components, walk-forward training, reports, the run index and comparisons.

Light on import (`factory status` imports the index): the public functions are loaded from
their modules on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "resolve_inputs": "core.experiments.training.inputs",
    "TrainResult": "core.experiments.training.run",
    "list_runs": "core.experiments.index",
    "load_report": "core.experiments.index",
    "best_run": "core.experiments.index",
    "RunSummary": "core.experiments.index",
    "run_curves": "core.experiments.queries",
    "show_run": "core.experiments.queries",
    "runs_table": "core.experiments.queries",
    "list_component_infos": "core.experiments.queries",
    "check_point_in_time": "core.experiments.pit",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'core.experiments' has no attribute {name!r}")
    return getattr(import_module(module), name)
