"""The server's per-request shortcuts give what the general path gives: the merge by time of
a dataset without entities (`History`, fast against general), and the features memo (a hit
is the build's own answer; any change of content is a miss)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from core.foundation.config import DatasetConfig
from core.serve.history import POSITION, History
from core.serve.memo import FeatureMemo, frame_key


def _days(start: str, count: int, first: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.date_range(start, periods=count, freq="D"),
            "wind": np.arange(count, dtype=float) + first,
            "weather": ["rain", "sun"] * (count // 2) + ["fog"] * (count % 2),
        }
    )


def _request(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(**{POSITION: range(len(frame))})


def test_merge_by_time_equals_the_general_merge() -> None:
    dataset = DatasetConfig("weather", "x.csv", "date", None, ())
    fast, general = (History(dataset, timedelta(days=20), fast=f) for f in (True, False))
    seed = _days("2024-01-01", 40)
    for history in (fast, general):
        history.seed("ds-000000000000", seed)
    requests = [
        _days("2024-02-10", 1, 100),  # the next day: appended
        _days("2024-02-15", 3, 200),  # a gap, three rows
        _days("2024-02-05", 1, 300),  # replaces a kept day
        _days("2024-02-03", 10, 400),  # replaces and extends
        _days("2023-06-01", 2, 500),  # older than anything kept: trimmed again
        _days("2024-02-12", 1, 600).assign(wind=np.nan),  # a null kept as such
        _days("2024-01-01", 120, 700),  # replaces every kept row
    ]
    for n, rows in enumerate(requests):
        request = _request(rows)
        expected = general.select(request)
        pd.testing.assert_frame_equal(fast.select(request), expected)
        merged = fast.merge(request)
        assert (merged.base is None) == (n == len(requests) - 1)  # by time, but the last
        pd.testing.assert_frame_equal(merged.frame.assign(**{POSITION: merged.positions}), expected)
        fast.add(request, merged if n % 2 else None)  # the merge done once, or again
        general.add(request)
        kept_fast, kept_general = fast.frame(), general.frame()
        assert kept_fast is not None and kept_general is not None
        pd.testing.assert_frame_equal(kept_fast, kept_general)
    assert fast.rows() == 21  # the newest day and 20 before it


def test_merge_by_time_leaves_unordered_history_to_the_general_merge() -> None:
    """A kept frame not ordered by time (a snapshot as stored) goes the general way."""
    dataset = DatasetConfig("weather", "x.csv", "date", None, ())
    seed = _days("2024-01-01", 10).iloc[::-1].reset_index(drop=True)
    fast, general = (History(dataset, timedelta(days=30), fast=f) for f in (True, False))
    for history in (fast, general):
        history.seed("ds-000000000000", seed)
    request = _request(_days("2024-01-05", 1, 50))
    merged = fast.select(request)
    assert merged["date"].is_monotonic_increasing
    pd.testing.assert_frame_equal(merged, general.select(request))


def test_features_memo_hits_only_on_the_same_content() -> None:
    calls: list[int] = []

    def build(frame: Any, time_column: str, entity: tuple[str, ...]) -> Any:
        calls.append(len(frame))
        out = pd.DataFrame(index=frame.index)
        out["wind_mean"] = frame["wind"].expanding().mean()
        frame["wind"] = -1.0  # a features module may change its input: keyed before
        return out

    memo = FeatureMemo(size=4)
    module = ("features/test_v1", "0" * 16)
    frame = _days("2024-01-01", 10)

    def run(data: pd.DataFrame) -> Any:
        return memo.build(module, build, data.copy(), "date", ())

    first = run(frame)
    again = run(frame)
    assert calls == [10] and memo.stats()["hits"] == 1
    pd.testing.assert_frame_equal(first, again)
    again.loc[0, "wind_mean"] = 99.0  # the caller's copy: the memo keeps its own
    pd.testing.assert_frame_equal(run(frame), first)
    changed = frame.copy()
    changed.loc[9, "wind"] = np.nextafter(changed.loc[9, "wind"], 100)  # one bit
    run(changed)
    run(frame.set_axis(range(1, 11)))  # another index
    run(frame.assign(weather=["rain"] * 10))  # another text value
    run(frame.astype({"wind": "float32"}))  # another dtype
    assert len(calls) == 5
    other = memo.build(("features/test_v2", "1" * 16), build, frame.copy(), "date", ())
    assert len(calls) == 6 and other.equals(first)  # another module never shares


def test_text_columns_are_keyed_by_type_and_bits() -> None:
    def key(*values: Any) -> Any:
        return frame_key(pd.DataFrame({"a": pd.Series(values, dtype=object)}))

    assert len({key("x", 1), key("x", 1.0), key("x", True)}) == 3  # equal in Python
    assert key(0.0) != key(-0.0)
    assert key("x", None) == key("x", None) and key(np.nan) == key(float("nan"))
    assert key([1], [2]) is None and key(pd.Timestamp("2024-01-01")) is None
    assert frame_key(_days("2024-01-01", 3)) == frame_key(_days("2024-01-01", 3))
