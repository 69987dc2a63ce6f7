"""Walk-forward folds: calendar days, anchored at the end, invariants on irregular data."""

from __future__ import annotations

import random
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from core.experiments.walkforward import plan_folds
from core.foundation.config import ValidationConfig
from core.foundation.errors import FactoryError


def irregular_times(seed: int) -> pd.Series:
    """Irregular dates (gaps of 1-5 days) with 1-4 rows per date, at varied times of day."""
    rng = random.Random(seed)
    day = pd.Timestamp("2020-01-01")
    rows = []
    for _ in range(rng.randint(300, 600)):
        day += timedelta(days=rng.choice([1, 1, 1, 2, 3, 5]))
        for _ in range(rng.randint(1, 4)):
            rows.append(day + timedelta(hours=rng.randint(0, 23)))
    return pd.Series(rows)


@pytest.mark.parametrize("seed", range(25))
@pytest.mark.parametrize("window", ["expanding", "sliding"])
def test_invariants_hold_on_irregular_multi_row_dates(seed: int, window: str) -> None:
    times = irregular_times(seed)
    rng = random.Random(seed)
    settings = ValidationConfig(
        folds=rng.randint(1, 5),
        gap_days=rng.randint(0, 10),
        test_days=rng.randint(7, 60),
        window=window,  # type: ignore[arg-type]
        train_days=rng.randint(60, 300) if window == "sliding" else None,
        min_test_rows=1,
        early_stopping_days=rng.randint(5, 30),
    )
    plan = plan_folds(times, settings, early_stopping=seed % 2 == 0)
    days = times.dt.normalize()
    last = days.max()
    assert plan.folds[-1].test_end == last.date()  # anchored at the end of the data
    for fold, train, test in zip(plan.folds, plan.train_masks, plan.test_masks, strict=True):
        assert not (train & test).any()
        # Calendar gap between the last training day and the first test day, not rows.
        assert (days[test].min() - days[train].max()).days > settings.gap_days
        assert (fold.test_end - fold.test_start).days + 1 == settings.test_days
        # A date's rows are never split between training and test or between folds.
        assert set(days[test]).isdisjoint(set(days[~test]))
        assert fold.train_rows == int(train.sum()) and fold.test_rows == int(test.sum())
        if window == "sliding":
            assert (fold.train_end - fold.train_start).days + 1 <= settings.train_days
        if fold.inner is not None:
            fit, inner = plan.fit_masks[fold.index], plan.inner_masks[fold.index]
            assert fit is not None and inner is not None
            # The early-stopping slice is inside training, after a gap, before the test.
            assert not (inner & test).any() and not (fit & inner).any()
            assert (inner & ~train).sum() == 0 and (fit & ~train).sum() == 0
            assert (days[inner].min() - days[fit].max()).days > settings.gap_days
            assert days[inner].max() < days[test].min()
    for earlier, later in zip(plan.folds, plan.folds[1:], strict=False):
        assert later.test_start == earlier.test_end + timedelta(days=1)


def test_windows_do_not_depend_on_labels_or_row_order() -> None:
    times = irregular_times(3)
    settings = ValidationConfig(folds=3, gap_days=7, test_days=30, min_test_rows=1)
    usable = np.random.default_rng(0).random(len(times)) > 0.3
    a = plan_folds(times, settings)
    b = plan_folds(times.sample(frac=1, random_state=1).reset_index(drop=True), settings, usable)
    assert [f.window() for f in a.folds] == [f.window() for f in b.folds]
    assert sum(f.test_rows for f in b.folds) < sum(f.test_rows for f in a.folds)


def test_gap_counts_calendar_days_not_rows() -> None:
    # Ten rows per day: a row-counted gap of 7 would be less than one day.
    days = pd.date_range("2021-01-01", periods=200, freq="D")
    times = pd.Series(np.repeat(days, 10))
    plan = plan_folds(times, ValidationConfig(folds=2, gap_days=7, test_days=20, min_test_rows=1))
    fold = plan.folds[0]
    assert fold.gap_days == 7
    assert fold.test_rows == 200 and fold.test_dates == 20


def test_too_short_data_is_a_clear_error() -> None:
    times = pd.Series(pd.date_range("2021-01-01", periods=100, freq="D"))
    with pytest.raises(FactoryError) as caught:
        plan_folds(times, ValidationConfig(folds=4, gap_days=7, test_days=30))
    error = caught.value
    assert error.code == "data_too_short"
    assert "Fold 0" in error.message and "test_days (30)" in (error.hint or "")


def test_a_fold_with_fewer_test_rows_than_the_minimum_is_refused() -> None:
    """A score on a handful of rows is noise: 29 test rows when 30 are needed is an error
    naming the fold and the setting; exactly 30 is accepted."""
    days = pd.Series(pd.date_range("2021-01-01", periods=400, freq="D"))
    at_minimum = ValidationConfig(folds=2, gap_days=1, test_days=30, min_test_rows=30)
    assert [f.test_rows for f in plan_folds(days, at_minimum).folds] == [30, 30]
    with pytest.raises(FactoryError) as caught:
        plan_folds(days, ValidationConfig(folds=2, gap_days=1, test_days=29, min_test_rows=30))
    assert caught.value.code == "data_too_short"
    assert "min_test_rows" in caught.value.message and caught.value.details["fold"] == 0


def test_a_gap_shorter_than_the_label_horizon_is_refused() -> None:
    """A label one day ahead needs one whole gap day; 24 hours is a day; 25 hours need two."""
    from datetime import timedelta

    from core.experiments.walkforward import check_gap, horizon_days

    assert horizon_days(timedelta(hours=24)) == 1
    assert horizon_days(timedelta(hours=25)) == 2
    assert horizon_days(timedelta(days=7)) == 7
    assert horizon_days(None) == 0
    check_gap(ValidationConfig(gap_days=1), timedelta(days=1), "labels/x")
    with pytest.raises(FactoryError) as caught:
        check_gap(ValidationConfig(gap_days=0), timedelta(days=1), "labels/x")
    assert caught.value.code == "gap_too_short" and caught.value.details["needed"] == 1
    with pytest.raises(FactoryError):
        check_gap(ValidationConfig(gap_days=6), timedelta(days=7), "labels/x")
    check_gap(ValidationConfig(gap_days=7), timedelta(days=7), "labels/x")


def test_the_early_stopping_slice_ends_the_training_window() -> None:
    days = pd.Series(pd.date_range("2021-01-01", periods=400, freq="D"))
    settings = ValidationConfig(folds=2, gap_days=3, test_days=30, early_stopping_days=20)
    plan = plan_folds(days, settings, early_stopping=True)
    for fold in plan.folds:
        assert fold.inner is not None
        assert fold.inner.end == fold.train_end
        assert (fold.inner.end - fold.inner.start).days + 1 == 20
        assert (fold.inner.start - fold.inner.fit_end).days == settings.gap_days + 1
        assert fold.inner.rows == 20
    assert plan_folds(days, settings).folds[0].inner is None
