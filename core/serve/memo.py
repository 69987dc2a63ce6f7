"""The features of recently scored frames, so a server asked again about the same history
does not build them again.

A features `build` costs about 28 ms on the embedded weather model whatever the frame's
length (pandas' fixed cost per operation: groupby, rolling windows, forty column writes),
four fifths of a 1-row request once the rows are checked the fast way (`rowcheck`). Online, the
frame handed to `build` is the request's rows merged with the kept history of their entities;
the same request sent again, or another request for the newest rows of the same entities,
gives the same frame, so the same features. The memo keys a frame by its exact content
(columns, dtypes, index and every value's bytes: no hash that could collide), per features
module and hash, so a hit returns what `build` would (a features module is a pure function
of its frame: the point-in-time check, reproducible runs and the parity check rest on that
too). The inference component and the arch still run for every request.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from core.operations.predict import Scorer

SIZE = 16
"""Frames remembered (least recently used goes first)."""
MAX_CELLS = 250_000
"""Features frames larger than this many cells (about 2 MB of floats) are not kept."""
MAX_ROWS = 20_000
"""Input frames longer than this are not keyed (keying costs a copy of their bytes)."""


def frame_key(frame: pd.DataFrame) -> Hashable | None:
    """The frame's exact content as a dict key, or None when it is too long or holds a value
    the key does not know (`PLAIN`)."""
    import pandas as pd

    if len(frame) > MAX_ROWS:
        return None
    index = frame.index
    try:
        if isinstance(index, pd.RangeIndex):
            index_key: Hashable = ("range", index.start, index.stop, index.step)
        else:
            index_key = _values_key(index.to_numpy(), repr(index.dtype))
        parts: list[Hashable] = [tuple(frame.columns), index_key]
        for _, column in frame.items():  # by position: column names may repeat
            parts.append(_values_key(column.to_numpy(), repr(column.dtype)))
    except _Unkeyed:
        return None
    return tuple(parts)


PLAIN = (str, int, float, bool, type(None))
"""Types of a text column's values the key knows: others (a Decimal, a Timestamp) make the
frame unkeyed, since equal values of theirs can still print differently."""


def _values_key(values: Any, dtype: str) -> Hashable:
    if values.dtype == object:
        # By type and value, floats by their bits: 1, 1.0 and True are equal in Python but
        # not to a features module that writes them as text, nor are 0.0 and -0.0.
        out: list[Hashable] = []
        for value in values.tolist():
            kind = type(value)
            if kind not in PLAIN:
                raise _Unkeyed
            out.append((kind, value.hex() if kind is float else value))
        return (dtype, tuple(out))
    return (dtype, values.dtype.str, values.shape, values.tobytes())


class _Unkeyed(Exception):
    """A value the key cannot stand for exactly."""


class FeatureMemo:
    """A bounded memo of `build(frame, time_column, entity)` per features module, shared by
    every run of a server (runs of the same features version share their features)."""

    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self._kept: OrderedDict[Hashable, pd.DataFrame] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def wrap(self, scorer: Scorer) -> Scorer:
        """The scorer with its `build` remembered (the inference component calls it)."""
        if self.size <= 0:
            return scorer
        build: Callable[..., Any] = scorer.run["build"]
        module = (scorer.features.ref, scorer.features.hash)

        def remembered(frame: Any, time_column: str, entity: tuple[str, ...]) -> Any:
            return self.build(module, build, frame, time_column, tuple(entity))

        return dataclasses.replace(scorer, run={**scorer.run, "build": remembered})

    def build(
        self,
        module: tuple[str, str],
        build: Callable[..., Any],
        frame: Any,
        time_column: str,
        entity: tuple[str, ...],
    ) -> Any:
        import pandas as pd

        content = frame_key(frame) if isinstance(frame, pd.DataFrame) else None
        key = None if content is None else (module, time_column, entity, content)
        if key is not None:
            with self._lock:
                found = self._kept.get(key)
                if found is not None:
                    self._kept.move_to_end(key)
                    self.hits += 1
            if found is not None:
                return found.copy()
        # Keyed before `build` runs: a features module may change the frame it is given.
        features = build(frame, time_column, entity)
        if key is None or not isinstance(features, pd.DataFrame):
            return features
        with self._lock:
            self.misses += 1
            if features.size <= MAX_CELLS:
                self._kept[key] = features.copy()
                while len(self._kept) > self.size:
                    self._kept.popitem(last=False)
        return features

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"size": self.size, "kept": len(self._kept), "hits": self.hits,
                    "misses": self.misses}  # fmt: skip
