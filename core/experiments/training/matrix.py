"""The feature matrix and labels of every row of a snapshot, contracts checked."""

from __future__ import annotations

from datetime import timedelta
from types import ModuleType
from typing import Any

from core.components.registry import ComponentInfo, load_checked
from core.experiments.training.inputs import RunInputs
from core.foundation.errors import FactoryError

MODULE_KINDS = ("features", "labels", "arch", "metrics")


def checked_module(info: ComponentInfo, *, for_training: bool = False) -> ModuleType:
    """A component's module, refused when it breaks its kind's contract (with
    `for_training`, also what training needs: a labels module's `HORIZON`)."""
    return load_checked(info, for_training=for_training)


def load_modules(inputs: RunInputs) -> dict[str, ModuleType]:
    return {
        kind: checked_module(inputs.components[kind], for_training=True) for kind in MODULE_KINDS
    }


def label_horizon(info: ComponentInfo, module: ModuleType) -> timedelta:
    """How far ahead the labels look (`HORIZON`): validation refuses a gap shorter than it,
    and persistence is the label that far back. `load_modules` has already refused a labels
    module without one."""
    from core.components.contracts import label_horizon as declared

    horizon = declared(module)
    if horizon is None:  # pragma: no cover - check_module(for_training=True) refused it
        raise FactoryError(
            "component_contract",
            f"{info.path}: {info.ref} does not declare HORIZON",
            details={"ref": info.ref, "path": info.path, "missing": ["HORIZON"]},
        )
    return horizon


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
