"""Naive baselines, scored on exactly the run's folds and rows.

"Better" always means better than the incumbent *and* than doing nothing clever. For each
fold, on the same test rows as the model:

- regression: `mean`, the training window's mean label; `persistence`, the label that was
  already known at prediction time, i.e. the value "now" when the label is a future value;
- classification: `prior`, the training window's share of positives; `persistence`, the
  current class.

Persistence is the label of the same entity `HORIZON` earlier (the newest such label known at
the row's time): for "rain tomorrow" it is "rain today", for "the value 24 h from now" it is
the value now. A labels module may say what persistence means for it with a
`persistence(frame, time_column, entity_columns)` function, or turn it off with
`PERSISTENCE = False`. Rows it cannot cover (the first `HORIZON` of each entity) get the
training mean, and the report says how many.
"""

from __future__ import annotations

from datetime import timedelta
from types import ModuleType
from typing import Any

REGRESSION = ("mean", "persistence")
CLASSIFICATION = ("prior", "persistence")


def names_for(task: str) -> tuple[str, ...]:
    return CLASSIFICATION if task == "classification" else REGRESSION


def lagged_labels(
    frame: Any, labels: Any, time_column: str, entity: list[str], horizon: timedelta
) -> Any:
    """Per row at time t, the newest label of the same entity whose row is at or before
    t - horizon: a label that was known at t (NaN where there is none)."""
    import numpy as np
    import pandas as pd

    left = pd.DataFrame({"__t": frame[time_column] - pd.Timedelta(horizon)})
    left["__pos"] = np.arange(len(frame))
    right = pd.DataFrame({"__t": frame[time_column], "__label": labels.to_numpy(dtype=float)})
    for column in entity:
        left[column] = frame[column].to_numpy()
        right[column] = frame[column].to_numpy()
    right = right[right["__label"].notna()]
    left = left.sort_values("__t", kind="mergesort")
    right = right.sort_values("__t", kind="mergesort")
    merged = pd.merge_asof(
        left, right, on="__t", by=entity or None, direction="backward", allow_exact_matches=True
    )
    out = np.full(len(frame), np.nan)
    out[merged["__pos"].to_numpy()] = merged["__label"].to_numpy(dtype=float)
    return pd.Series(out, index=frame.index)


def persistence(
    module: ModuleType,
    info: Any,
    frame: Any,
    labels: Any,
    time_column: str,
    entity: list[str],
    horizon: timedelta,
) -> tuple[Any | None, dict[str, Any]]:
    """(persistence forecast per row or None, what it meant) for a labels module."""
    import pandas as pd

    from core.components.contracts import call_component

    described: dict[str, Any] = {"horizon": str(pd.Timedelta(horizon))}
    if getattr(module, "PERSISTENCE", True) is False:
        return None, {**described, "how": "off (the labels module sets PERSISTENCE = False)"}
    custom = getattr(module, "persistence", None)
    if callable(custom):
        values = call_component(
            info.ref, info.path, custom, frame.copy(), time_column, tuple(entity)
        )
        series = pd.to_numeric(pd.Series(values).reindex(frame.index), errors="coerce")
        return series.astype(float), {**described, "how": f"{info.ref}.persistence()"}
    series = lagged_labels(frame, labels, time_column, entity, horizon)
    return series, {**described, "how": "the label known at prediction time (HORIZON back)"}


def predict(name: str, train_labels: Any, persisted: Any | None, rows: int) -> Any:
    """The baseline's predictions for `rows` test rows of a fold."""
    import numpy as np

    level = float(np.mean(train_labels)) if len(train_labels) else float("nan")
    if name in ("mean", "prior"):
        return np.full(rows, level)
    values = np.asarray(persisted, dtype=float)
    return np.where(np.isnan(values), level, values)
