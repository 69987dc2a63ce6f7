"""Rows plus their history -> one prediction per scored row: the run's features, then its arch.

The one inference mechanism of batch (`factory predict`) and online (`factory serve`): both
hand this module the rows to score together with the history before them, so a row scored
online gets exactly the features, and so the prediction, it gets in a batch.

Self-contained on purpose: the registry hashes this file alone, and the hash goes into every
batch record of the inference log (adrs/0015), so a change of mechanism is a new version.
"""

from __future__ import annotations

from typing import Any

from core.foundation.errors import FactoryError

HISTORY = "90D"
"""History an online server keeps per entity when the features module declares no
`HISTORY` (the longest window of the built-in features is 30 days)."""

MISSING = "<missing>"
"""What an empty categorical value becomes, as in training."""


def predict(
    frame: Any,
    scored: Any,
    time_column: str,
    entity_columns: tuple[str, ...],
    run: dict[str, Any],
) -> Any:
    """Predictions for the rows of `frame` where `scored` is True, in frame order.

    `frame` holds the rows to score and the history before them, ordered by time; `run` is
    the mapping of `core/components/contracts.py` (inference): the run's features `build`,
    its `categorical` names, the `feature_names` it trained on, and its arch's `predict`.
    """
    import numpy as np
    import pandas as pd

    features = run["build"](frame.copy(), time_column, tuple(entity_columns))
    if not isinstance(features, pd.DataFrame) or len(features) != len(frame):
        raise FactoryError(
            "component_contract",
            f"{run['features_path']}: build() must return a DataFrame with one row per input row",
            details={"ref": run["features_ref"]},
        )
    features = features.reindex(frame.index)
    features.columns = [str(c) for c in features.columns]
    names = list(run["feature_names"] or features.columns)
    missing = [n for n in names if n not in features.columns]
    if missing:
        raise FactoryError(
            "features_mismatch",
            f"{run['features_ref']} did not produce {', '.join(missing[:5])} that run "
            f"{run['run_id']} was trained on",
            hint="Give the rows the same columns as the training data.",
            details={"missing": missing, "run_id": run["run_id"]},
        )
    mask = np.asarray(scored, dtype=bool)
    matrix = features.loc[mask, names].copy()
    declared = {str(c) for c in run["categorical"]}
    for column in names:
        dtype = matrix[column].dtype
        numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        if column in declared or not numeric:
            matrix[column] = matrix[column].astype("string").fillna(MISSING).astype(str)
    if matrix.empty:
        return np.empty(0, dtype=float)
    return np.asarray(run["predict"](matrix), dtype=float)
