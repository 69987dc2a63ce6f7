"""The recent rows a server keeps per entity, so an online row gets the lags and windows a
batch row gets from the earlier rows of its file.

Seeded from the newest snapshot of the dataset, extended by every row the server scores
(a received row replaces a kept row with the same time and entity), and bounded per entity
by the longest history a served run's features need (`HISTORY`, else the inference
component's default) and by `MAX_ROWS` rows.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from core.foundation.config import DatasetConfig

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


@dataclass(frozen=True)
class Merged:
    """Request rows merged with the kept rows (`History.merge`)."""

    frame: pd.DataFrame
    """The rows to score, ordered by time then entity, without `POSITION`."""
    positions: np.ndarray
    """Per row of `frame`: its position in the request, or -1 for a kept row."""
    base: pd.DataFrame | None
    """The kept frame merged by time with the request (None: the general merge)."""
    whole: pd.DataFrame | None = None
    """The general merge's frame, with `POSITION`."""


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

    def __init__(self, dataset: DatasetConfig, span: timedelta, *, fast: bool = True) -> None:
        self.dataset = dataset
        self.fast = fast
        """Merge by time with numpy for a dataset without entity columns (`_by_time`); the
        general pandas merge otherwise, or when False (what tests compare it with)."""
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
        merged = self.merge(rows)
        if merged.whole is not None:
            return merged.whole
        return merged.frame.assign(**{POSITION: merged.positions})

    def merge(self, rows: pd.DataFrame) -> Merged:
        """`select`, split into the frame to score and each row's position; merged by time
        (`_by_time`) for a dataset without entity columns, when it can be."""
        columns = self.columns
        with self._lock:
            kept = self._frame
        if (
            self.fast
            and not self.dataset.entity_columns
            and columns is not None
            and kept is not None
            and not kept.empty
        ):
            found = _by_time(
                kept, rows.reindex(columns=columns), self.dataset.time_column,
                rows[POSITION].to_numpy(),
            )  # fmt: skip
            if found is not None:
                return Merged(found[0], found[1], kept)
        whole = self._select(rows, kept)
        return Merged(whole.drop(columns=POSITION), whole[POSITION].to_numpy(), None, whole)

    def _select(self, rows: pd.DataFrame, frame: pd.DataFrame | None) -> pd.DataFrame:
        import pandas as pd

        columns = self.columns
        request = rows if columns is None else rows.reindex(columns=[*columns, POSITION])
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

    def add(self, rows: pd.DataFrame, merged: Merged | None = None) -> None:
        """Keep request rows (validated) as history for the next requests. With the `merge`
        of the same rows, when no other request has changed the kept rows since, its frame
        is the new history (the same merge, done once)."""
        with self._lock:
            old = self._frame
            if merged is not None and merged.base is not None and merged.base is old:
                self._frame = self._trim_by_time(merged.frame)
                return
            columns = self.columns or [str(c) for c in rows.columns if c != POSITION]
            if self.columns is None:
                self.columns = columns
            new = rows.reindex(columns=columns)
            if old is not None and not old.empty and self.fast and not self.dataset.entity_columns:
                found = _by_time(old, new, self.dataset.time_column, None)
                if found is not None:
                    self._frame = self._trim_by_time(found[0])
                    return
            self._frame = self._trim(new if old is None else self._merge(old, new))

    def _trim_by_time(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`_trim` of a frame ordered by time with unique times: the rows within `span` of the
        newest are a suffix, as are the last `MAX_ROWS`."""
        import numpy as np

        times = frame[self.dataset.time_column].to_numpy()
        start = int(np.searchsorted(times, times[-1] - np.timedelta64(self.span), side="left"))
        start = max(start, len(frame) - MAX_ROWS)
        return frame.iloc[start:].reset_index(drop=True)

    def describe(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset.name,
            "snapshot_id": self.snapshot_id,
            "rows": self.rows(),
            "span": duration(self.span),
            "max_rows_per_entity": MAX_ROWS,
        }


def _by_time(
    kept: pd.DataFrame, new: pd.DataFrame, time: str, positions: np.ndarray | None
) -> tuple[pd.DataFrame, np.ndarray] | None:
    """`concat([kept, new])`, less the kept rows whose time is in `new`, ordered by time, and
    each row's position (-1 for kept rows, else from `positions`): what `drop_duplicates(
    keep="last")` and a stable sort give when `kept` and `new` each have increasing, unique
    times (kept rows by construction, request rows by validation), at the cost of one concat
    and at most one take instead of a dozen pandas steps. None when a frame is not so
    ordered, or no kept row would remain (the general merge decides then)."""
    import numpy as np
    import pandas as pd

    kept_times = kept[time].to_numpy()
    new_times = new[time].to_numpy()
    if not len(new_times) or not (_increasing(kept_times) and _increasing(new_times)):
        return None
    keep = ~np.isin(kept_times, new_times)
    if not keep.any():
        return None
    if not keep.all():
        kept = kept[keep]
        kept_times = kept_times[keep]
    merged = pd.concat([kept, new], ignore_index=True)
    where = np.concatenate(
        [np.full(len(kept_times), -1, dtype=np.int64), np.zeros(len(new_times), dtype=np.int64)]
        if positions is None
        else [np.full(len(kept_times), -1, dtype=np.int64), positions.astype(np.int64)]
    )
    if kept_times[-1] < new_times[0]:
        return merged, where  # the common case online: rows newer than every kept one
    order = np.argsort(np.concatenate([kept_times, new_times]), kind="stable")
    return merged.take(order).reset_index(drop=True), where[order]


def _increasing(times: Any) -> bool:
    return bool(times.dtype.kind == "M" and (times[1:] > times[:-1]).all())
