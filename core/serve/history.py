"""The recent rows a server keeps per entity, so an online row gets the lags and windows a
batch row gets from the earlier rows of its file.

Seeded from the newest snapshot of the dataset, extended by every row the server scores
(a received row replaces a kept row with the same time and entity), and bounded per entity
by the longest history a served run's features need (`HISTORY`, else the inference
component's default) and by `MAX_ROWS` rows.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from core.foundation.config import DatasetConfig

if TYPE_CHECKING:
    import pandas as pd

MAX_ROWS = 5000
"""Rows kept per entity at most, whatever the time span."""

POSITION = "__factory_row__"
"""The column that carries a request row's position while it is merged with history."""


def duration(value: timedelta) -> str:
    """A timedelta as a pandas duration string: `90D`, `36h`, `90min`, `45s`."""
    seconds = int(value.total_seconds())
    for unit, size in (("D", 86400), ("h", 3600), ("min", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{value.total_seconds():g}s"


class History:
    """One dataset's recent rows, safe to read and extend from several threads."""

    def __init__(self, dataset: DatasetConfig, span: timedelta) -> None:
        self.dataset = dataset
        self.span = span
        self.columns: list[str] | None = None
        """The dataset's columns (from its snapshot); other request columns are dropped."""
        self.snapshot_id: str | None = None
        self._frame: pd.DataFrame | None = None
        self._lock = threading.Lock()

    @property
    def keys(self) -> list[str]:
        return [self.dataset.time_column, *self.dataset.entity_columns]

    def seed(self, snapshot_id: str | None, frame: pd.DataFrame | None) -> None:
        """Start from a snapshot's rows (kept rows received since stay, and win)."""
        with self._lock:
            self.snapshot_id = snapshot_id
            if frame is None:
                return
            self.columns = [str(c) for c in frame.columns]
            received = self._frame
            self._frame = self._trim(
                frame if received is None else self._merge(frame, received[self.columns])
            )

    def widen(self, span: timedelta, frame: pd.DataFrame | None) -> None:
        """Keep more history from now on (a run whose features need more was loaded)."""
        if span <= self.span:
            return
        self.span = span
        self.seed(self.snapshot_id, frame)

    def frame(self) -> pd.DataFrame | None:
        """The kept rows (a frame never changed in place: safe to read)."""
        return self._frame

    def rows(self) -> int:
        frame = self._frame
        return 0 if frame is None else len(frame)

    def _merge(self, old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
        import pandas as pd

        if old.empty:
            merged = new
        elif new.empty:
            merged = old
        else:
            merged = pd.concat([old, new], ignore_index=True)
        merged = merged.drop_duplicates(subset=self.keys, keep="last")
        return merged.sort_values(self.keys, kind="stable").reset_index(drop=True)

    def _trim(self, frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return frame
        time = self.dataset.time_column
        entity = list(self.dataset.entity_columns)
        if entity:
            newest = frame.groupby(entity, sort=False, dropna=False)[time].transform("max")
            kept = frame[frame[time] >= newest - self.span]
            kept = kept.groupby(entity, sort=False, dropna=False).tail(MAX_ROWS)
        else:
            kept = frame[frame[time] >= frame[time].max() - self.span].tail(MAX_ROWS)
        return kept.reset_index(drop=True)

    def select(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Request rows (validated, with their `POSITION`) and the kept rows of the same
        entities, one frame ordered by time then entity, as a batch file would be: a request
        row replaces a kept row with the same time and entity. Kept rows have position -1."""
        import pandas as pd

        columns = self.columns
        request = rows if columns is None else rows.reindex(columns=[*columns, POSITION])
        with self._lock:
            frame = self._frame
        if frame is None or frame.empty:
            merged = request
        else:
            entity = list(self.dataset.entity_columns)
            if entity:
                wanted = pd.MultiIndex.from_frame(request[entity].drop_duplicates())
                mask = pd.MultiIndex.from_frame(frame[entity]).isin(wanted)
                frame = frame[mask]
            frame = frame.assign(**{POSITION: -1})
            merged = pd.concat([frame, request], ignore_index=True)
        merged = merged.drop_duplicates(subset=self.keys, keep="last")
        return merged.sort_values(self.keys, kind="stable").reset_index(drop=True)

    def add(self, rows: pd.DataFrame) -> None:
        """Keep request rows (validated) as history for the next requests."""
        with self._lock:
            columns = self.columns or [str(c) for c in rows.columns if c != POSITION]
            if self.columns is None:
                self.columns = columns
            new = rows.reindex(columns=columns)
            self._frame = self._trim(new if self._frame is None else self._merge(self._frame, new))

    def describe(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset.name,
            "snapshot_id": self.snapshot_id,
            "rows": self.rows(),
            "span": duration(self.span),
            "max_rows_per_entity": MAX_ROWS,
        }
