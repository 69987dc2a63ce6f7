"""A run's model applied to a feature matrix in row partitions on an engine's workers,
concatenated in row order.

Only the model's application is partitioned: the features are built once, by the driver,
over the whole input, since a row's lags and windows read the rows before it and a partition
would cut that history (and could round a rolling sum differently). Each row's prediction
depends on that row alone, so the partitions' results, put back together, are the bytes
a single call gives. A worker gets the model file's bytes (the driver's own artifact, read by
the same loader as locally) and the arch component's source; it sends back one float array
per partition and never writes into the workspace.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import tempfile
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from core.compute.engine import Engine
from core.compute.shipping import ShippedComponent, load_shipped, ship
from core.foundation.atomic import atomic_path

if TYPE_CHECKING:
    import numpy as np

    from core.components.registry import ComponentInfo

KEEP_MODELS = 4
"""Models a worker keeps loaded between tasks (a long-lived cluster scores many runs)."""


@dataclass(frozen=True)
class ModelForWorkers:
    """What every worker gets once: the arch component and the model file's bytes."""

    arch: ShippedComponent
    model: bytes
    digest: str
    task: str


_LOADED: OrderedDict[tuple[str, str], tuple[ModuleType, Any]] = OrderedDict()


def _model_here(shared: ModelForWorkers) -> tuple[ModuleType, Any]:
    key = (shared.arch.info.hash, shared.digest)
    found = _LOADED.get(key)
    if found is not None:
        _LOADED.move_to_end(key)
        return found
    arch = load_shipped(shared.arch)
    path = Path(tempfile.gettempdir()) / f"factory-models-{os.getuid()}" / f"{shared.digest}.cbm"
    if not path.is_file():
        with atomic_path(path) as tmp:
            tmp.write_bytes(shared.model)
    loader = getattr(arch, "load", None)
    if loader is not None:
        model = loader(path, shared.task)
    else:  # what core.operations.artifacts.load_model does for an arch without `load`
        from catboost import CatBoostClassifier, CatBoostRegressor

        model = CatBoostClassifier() if shared.task == "classification" else CatBoostRegressor()
        model.load_model(str(path), format="cbm")
    _LOADED[key] = (arch, model)
    while len(_LOADED) > KEEP_MODELS:
        _LOADED.popitem(last=False)
    return arch, model


def score_partition(shared: ModelForWorkers, matrix: Any) -> np.ndarray:
    """The task: one partition's predictions."""
    import numpy as np

    arch, model = _model_here(shared)
    return np.asarray(arch.predict(model, matrix, shared.task), dtype=float)


def partitioned_predict(
    engine: Engine,
    arch: ComponentInfo,
    model_file: Path,
    task: str,
    here: Callable[[Any], Any],
) -> Callable[[Any], Any]:
    """A `predict(matrix)` that scores `matrix` in one partition per engine slot; `here`
    (the driver's own model) scores a matrix too small to split."""
    data = model_file.read_bytes()
    shared = ModelForWorkers(ship(arch), data, hashlib.sha256(data).hexdigest()[:16], task)

    def predict(matrix: Any) -> Any:
        import numpy as np

        rows = len(matrix)
        parts = min(engine.slots(), rows)
        if parts < 2:
            return here(matrix)
        bounds = np.linspace(0, rows, parts + 1).astype(int)
        pieces = [matrix.iloc[a:b] for a, b in itertools.pairwise(bounds)]
        return np.concatenate(list(engine.map(score_partition, shared, pieces)))

    return predict
