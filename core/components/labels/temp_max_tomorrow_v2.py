"""Tomorrow's maximum temperature (regression), from the next calendar day's `temp_max`.

NaN where the next day is missing. With several rows per date and entity, the highest. The
same labels as temp_max_tomorrow_v1, declaring how far ahead they look (`HORIZON`): the
walk-forward gap must be at least one day, and today's maximum is the persistence baseline.
"""

from __future__ import annotations

# Self-contained on purpose: the registry hashes this file alone, so a shared helper
# could change a released label without changing its hash.
from typing import Any

TASK = "regression"
HORIZON = "1D"
PERSISTENCE = True
COLUMN = "temp_max"


def build(frame: Any, time_column: str, entity_columns: list[str] | tuple[str, ...] = ()) -> Any:
    from core.components.contracts import require_columns

    require_columns(frame, [COLUMN], "labels/temp_max_tomorrow_v2")
    return _next_day_values(frame, time_column, entity_columns, COLUMN, "max")


def _next_day_values(
    frame: Any, time_column: str, entity_columns: list[str] | tuple[str, ...], column: str, how: str
) -> Any:
    """Per row, `column` aggregated (`how`: max, mean...) over the entity's rows dated
    HORIZON (one calendar day) later; NaN when that day has no row."""
    import pandas as pd

    entity = list(entity_columns)
    day = frame[time_column].dt.normalize()
    source = frame[entity].copy()
    source["__day"] = day
    source["__value"] = pd.to_numeric(frame[column], errors="coerce")
    per_day = source.groupby([*entity, "__day"], dropna=False)["__value"].agg(how).reset_index()
    wanted = frame[entity].copy()
    wanted["__day"] = day + pd.Timedelta(HORIZON)
    merged = wanted.merge(per_day, how="left", on=[*entity, "__day"])
    return pd.Series(merged["__value"].to_numpy(), index=frame.index, dtype=float)
