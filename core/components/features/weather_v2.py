"""Same-day values plus per-entity lags, trailing 7/30-day means, day gaps and seasonality.

Point-in-time correct: every value uses only rows of the same entity at or before the row's
own time. Windows are calendar windows (`7D`), not row counts, so irregular dates work.
"""

from __future__ import annotations

# Self-contained on purpose: the registry hashes this file alone.
from typing import Any

CATEGORICAL: list[str] = []

WINDOWS_DAYS = (7, 30)


def build(frame: Any, time_column: str, entity_columns: list[str] | tuple[str, ...] = ()) -> Any:
    import numpy as np
    import pandas as pd

    out = _same_day(frame, time_column, entity_columns)
    entity = list(entity_columns)
    numeric = [
        str(c)
        for c in frame.columns
        if c != time_column
        and c not in entity
        and pd.api.types.is_numeric_dtype(frame[c].dtype)
        and not pd.api.types.is_bool_dtype(frame[c].dtype)
    ]
    work = frame[[time_column, *entity, *numeric]].copy()
    work[numeric] = work[numeric].astype(float)
    keys = entity or ["__all__"]
    if not entity:
        work["__all__"] = 0
    # A stable sort keeps same-time rows in input order, so a cut history sees the same order.
    work = work.sort_values([*keys, time_column], kind="mergesort")
    groups = work.groupby(keys, sort=False, dropna=False)
    lag = groups[numeric].shift(1)
    for column in numeric:
        out[f"{column}_lag1"] = lag[column].reindex(out.index)
        out[f"{column}_diff1"] = (work[column] - lag[column]).reindex(out.index)
    previous_time = groups[time_column].shift(1)
    gap = (work[time_column] - previous_time).dt.total_seconds() / 86400.0
    out["days_since_prev"] = gap.reindex(out.index)
    for days in WINDOWS_DAYS:
        # The last `days` calendar days up to and including the row's own time.
        rolled = groups.rolling(f"{days}D", on=time_column)[numeric].mean()
        # Rows come back grouped in `work`'s order (sorted by entity, then time).
        values = pd.DataFrame(rolled.to_numpy(), index=work.index, columns=numeric)
        for column in numeric:
            out[f"{column}_mean{days}d"] = values[column].reindex(out.index)
    times = frame[time_column]
    day_of_year = times.dt.dayofyear.astype(float)
    out["doy_sin"] = np.sin(2 * np.pi * day_of_year / 365.25)
    out["doy_cos"] = np.cos(2 * np.pi * day_of_year / 365.25)
    out["month"] = times.dt.month.astype(float)
    out["day_of_week"] = times.dt.dayofweek.astype(float)
    return out


def _same_day(
    frame: Any, time_column: str, entity_columns: list[str] | tuple[str, ...] = ()
) -> Any:
    import pandas as pd

    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        if column == time_column:
            continue
        values = frame[column]
        if column in entity_columns or not pd.api.types.is_numeric_dtype(values.dtype):
            out[str(column)] = values.astype("string").fillna("<missing>").astype(str)
        elif pd.api.types.is_bool_dtype(values.dtype):
            out[str(column)] = values.astype(float)
        else:
            out[str(column)] = values.astype(float)
    return out
