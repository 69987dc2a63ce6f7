"""The contract each component kind follows, so users can write their own versions.

A version is one file: `components/<kind>/<version>.py` in the workspace (or `.toml` for
hyperparameters). A released version is never edited in place: the registry hashes every
file and a run whose component changed since an earlier run of the same version is flagged.
Every function receives plain pandas objects and must not read files or the clock.

features (`features/<version>.py`)
    `CATEGORICAL: list[str]` (optional) names output columns CatBoost treats as categorical;
    any non-numeric output column (text, category, bool) is categorical as well.
    `build(frame, time_column, entity_columns) -> DataFrame`: one row per input row, with the
    same index, features only. `frame` holds the snapshot's rows ordered by time (the time
    column is datetime64); `entity_columns` (possibly empty) name the columns that, with the
    time, identify a row, e.g. a city or a store when one date holds several rows. Compute
    lags and rolling windows per entity (`frame.groupby(list(entity_columns))`) and only from
    rows at or before each row's time: `factory check features VERSION` recomputes the
    features on history cut at several dates and fails if any row before the cut changes.
    Raise `core.errors.FactoryError` (see `require_columns`) when a column you need is
    missing, so the user learns which column and which file.

labels (`labels/<version>.py`)
    `TASK: "classification" | "regression"`. `build(frame, time_column, entity_columns) ->
    Series` aligned to `frame.index`: the target for each row, NaN where it is unknown (the
    last date has no "tomorrow"). Classification labels are 0/1. Rows with a NaN label are
    left out of training and evaluation.

hparams (`hparams/<version>.toml`)
    CatBoost parameters as top-level keys (`iterations`, `learning_rate`, `depth`, ...).
    `early_stopping_rounds` turns on early stopping on each fold's test window; without it
    every fold trains all iterations and the test window only records the curve.

arch (`arch/<version>.py`)
    `make_model(task, params, seed, thread_count)` -> an unfitted model with CatBoost's
    `fit(X, y, cat_features=, eval_set=)` interface; `predict(model, X, task) -> ndarray`
    (probability of the positive class for classification); `save(model, path)`;
    `curves(model) -> {"metric": str, "learn": [...], "validation": [...]}` and
    `importance(model) -> list[(feature, value)]`.

metrics (`metrics/<version>.py`)
    `METRICS: dict[str, "maximize" | "minimize"]`: each metric's name and direction.
    `compute(y_true, prediction) -> dict[str, float]`, one value per name in `METRICS` (NaN
    when undefined, e.g. AUC on a window with one class).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from core.errors import FactoryError

REQUIRED: dict[str, tuple[str, ...]] = {
    "features": ("build",),
    "labels": ("TASK", "build"),
    "arch": ("make_model", "predict", "save", "curves", "importance"),
    "metrics": ("METRICS", "compute"),
}


def check_module(kind: str, ref: str, path: str, module: ModuleType) -> None:
    """Refuse a component module missing a name its kind's contract requires."""
    missing = [name for name in REQUIRED.get(kind, ()) if not hasattr(module, name)]
    if missing:
        raise FactoryError(
            "component_contract",
            f"{path}: {ref} does not define {', '.join(missing)}",
            hint="See the contract of each kind in core/components/contracts.py.",
            details={"ref": ref, "path": path, "missing": missing},
        )


def categorical_columns(module: ModuleType, features: Any) -> list[str]:
    """Categorical columns of a built feature frame: declared ones plus every non-numeric."""
    import pandas as pd

    declared = {str(c) for c in getattr(module, "CATEGORICAL", [])}
    found = []
    for column in features.columns:
        dtype = features[column].dtype
        numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        if str(column) in declared or not numeric:
            found.append(str(column))
    return found


def require_columns(frame: Any, columns: list[str], who: str) -> None:
    """Fail clearly when the data lacks a column a component reads."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise FactoryError(
            "component_input",
            f"{who} needs column(s) {', '.join(missing)}, which the data does not have "
            f"(columns: {', '.join(map(str, frame.columns))})",
            hint=f"Use a dataset with those columns, or write your own version of {who} "
            "(see core/components/contracts.py).",
            details={
                "component": who,
                "missing": missing,
                "columns": [str(c) for c in frame.columns],
            },
        )


def call_component(ref: str, path: str, function: Any, *args: Any) -> Any:
    """Call a component's function; an exception in it (a user's module meeting data it did
    not expect) becomes a clear error naming the component, its file and line, instead of an
    internal error of factory."""
    try:
        return function(*args)
    except FactoryError:
        raise
    except Exception as exc:
        import traceback

        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
        where = f"{path}:{frames[-1].lineno}" if frames else path
        detail = f"{type(exc).__name__}: {exc}"
        hint = "Fix the component, or add a new version of it."
        if isinstance(exc, KeyError):
            hint = (
                f"The data lacks a column {ref} reads ({exc}); check the input's columns, or "
                "use `require_columns` from core/components/contracts.py for a clearer message."
            )
        raise FactoryError(
            "component_failed",
            f"{ref} failed in {where}: {detail}",
            hint=hint,
            details={
                "ref": ref,
                "path": path,
                "line": frames[-1].lineno if frames else None,
                "error": detail,
            },
        ) from exc
