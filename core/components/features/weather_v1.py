"""Same-day values: every numeric column as is, text and entity columns as categories.

Generic over the data's columns, so it works for any dataset: the model sees what was
observed on each row's own date (the label looks at a later date).
"""

from __future__ import annotations

from typing import Any

CATEGORICAL: list[str] = []


def build(frame: Any, time_column: str, entity_columns: list[str] | tuple[str, ...] = ()) -> Any:
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
