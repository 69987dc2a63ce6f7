"""The point-in-time check's rules (`core.experiments.pit`) on constructed frames: which cells
count as unchanged, which cuts are made in which order, what a cut reports, the ok verdict and
the sentence that says how much was covered. No workspace: these are the pure parts."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from core.experiments import pit
from core.experiments.pit import (
    COVERAGE_WINDOW_DAYS,
    SPREAD_SHARE,
    CutCheck,
    PitResult,
    plan_cuts,
    point_in_time_ok,
    same_cells,
    violation_cells,
)

# --- same cells ------------------------------------------------------------------------------


def test_numbers_are_the_same_within_a_relative_tolerance_and_nan_equals_nan() -> None:
    old = np.asarray([1.0, 1e6, math.nan, math.inf, -math.inf, 0.0, 2.0, 1.0])
    new = np.asarray([1.0, 1e6 * (1 + 1e-10), math.nan, math.inf, -math.inf, 0.0, 2.1, math.nan])
    assert same_cells(old, new).tolist() == [True, True, True, True, True, True, False, False]
    assert same_cells(np.asarray([1.0]), np.asarray([1.0 + 1e-8])).tolist() == [False]
    # an infinity is within any relative tolerance of anything: it equals only itself
    infinite = same_cells(
        np.asarray([math.inf, 5.0, -math.inf, 1e300]),
        np.asarray([-math.inf, math.inf, 1e300, math.inf]),
    )
    assert infinite.tolist() == [False, False, False, False]
    assert same_cells(np.asarray([1e-300]), np.asarray([0.0])).tolist() == [False]


def test_text_must_match_exactly_and_missing_equals_only_missing() -> None:
    old = (
        np.asarray([False, False, True, True, False]),
        np.asarray(["a", "b", "nan", "nan", "c"], dtype=object),
    )
    new = (
        np.asarray([False, False, True, False, True]),
        np.asarray(["a", "B", "nan", "nan", "nan"], dtype=object),
    )
    same = same_cells(None, None, old, new)
    assert same.dtype == bool
    assert same.tolist() == [True, False, True, False, False]


# --- planning the cuts ----------------------------------------------------------------------


def test_the_bit_reversed_order_is_coarse_to_fine() -> None:
    assert pit._bit_reversed_order(8) == [0, 4, 2, 6, 1, 5, 3, 7]
    assert pit._bit_reversed_order(5) == [0, 4, 2, 1, 3]
    assert pit._bit_reversed_order(2) == [0, 1]
    assert pit._bit_reversed_order(1) == [0]


def test_fold_boundaries_come_first_once_each_then_the_spread_then_the_rest() -> None:
    order = plan_cuts(10, [3, 3, 12, -1, 7], 6, 0)
    assert order[:3] == [(3, "fold"), (7, "fold"), (2, "spread")]
    assert sorted(i for i, _ in order) == list(range(10))
    assert {kind for _, kind in order[3:]} == {"random"}


def test_the_spread_fills_its_share_of_the_plan_with_an_even_stride() -> None:
    order = plan_cuts(10, [], 10, 0)
    assert math.ceil(10 * SPREAD_SHARE) == 5
    assert order[:5] == [(0, "spread"), (8, "spread"), (4, "spread"), (2, "spread"), (6, "spread")]
    assert [kind for _, kind in order[5:]] == ["random"] * 5
    one = plan_cuts(10, [], 2, 0)  # one spread cut, in the middle of the data
    assert one[0] == (4, "spread") and one[1][1] == "random"
    assert plan_cuts(9, [], 3, 0)[:2] == [(2, "spread"), (7, "spread")]


def test_a_plan_no_larger_than_the_boundaries_has_no_spread() -> None:
    order = plan_cuts(6, [1, 4], 2, 0)
    assert [kind for _, kind in order] == ["fold", "fold"] + ["random"] * 4
    assert [kind for _, kind in plan_cuts(6, [1], 0, 0)][:2] == ["fold", "random"]


def test_the_random_rest_is_reproducible_from_its_seed() -> None:
    assert plan_cuts(50, [5], 3, seed=1) == plan_cuts(50, [5], 3, seed=1)
    assert plan_cuts(50, [5], 3, seed=1) != plan_cuts(50, [5], 3, seed=2)
    rest = [i for i, kind in plan_cuts(50, [5], 3, seed=1) if kind == "random"]
    assert rest == [int(i) for i in np.random.default_rng(1).permutation(sorted(rest))]


def test_no_candidate_dates_means_no_cuts() -> None:
    assert plan_cuts(0, [0, 1], 5, 0) == []


# --- coverage -------------------------------------------------------------------------------


def _days(n: int) -> np.ndarray:
    return np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-01-01") + n)


def test_coverage_is_the_share_of_dates_with_a_cut_on_or_within_the_window_after() -> None:
    days = _days(10)
    checked = np.zeros(10, dtype=bool)
    assert pit._coverage(checked, days, 1) == 0.0
    checked[[2, 9]] = True
    assert pit._coverage(checked, days, 1) == 0.2
    # a date counts when the next cut on or after it is fewer than `window` days away
    assert pit._coverage(checked, days, 2) == 0.4  # days 1, 2, 8, 9
    assert pit._coverage(checked, days, 3) == 0.6  # days 0, 1, 2, 7, 8, 9
    assert pit._coverage(checked, days, COVERAGE_WINDOW_DAYS) == 1.0
    assert pit._coverage(np.zeros(0, dtype=bool), _days(0), 7) == 1.0
    last_only = np.zeros(10, dtype=bool)
    last_only[0] = True
    assert pit._coverage(last_only, days, 7) == 0.1  # no cut after day 0 covers the rest


# --- comparing a cut with the full history ---------------------------------------------------


FULL = pd.DataFrame(
    {
        "lag1": [1.0, 2.0, 3.0, 4.0],
        "city": pd.Series(["a", "b", None, "d"], dtype=object),
        "kind": pd.Categorical(["x", "y", "x", "y"]),
        "count": pd.Series([1, 2, 3, 4], dtype="Int64"),
    }
)


def test_a_cut_that_reproduces_the_full_history_changes_nothing() -> None:
    changed, per_column = pit._compare(pit._Reference(FULL), FULL.iloc[:3].copy(), 3)
    assert changed.tolist() == [False, False, False]
    assert per_column == {}


def test_a_changed_cell_flags_its_row_and_its_column_only() -> None:
    partial = FULL.iloc[:3].copy()
    partial.loc[1, "lag1"] = 9.0
    partial.loc[2, "city"] = "c"
    partial["kind"] = pd.Categorical(["x", "x", "x"])
    changed, per_column = pit._compare(pit._Reference(FULL), partial, 3)
    assert changed.tolist() == [False, True, True]
    assert {name: mask.tolist() for name, mask in per_column.items()} == {
        "lag1": [False, True, False],
        "city": [False, False, True],
        "kind": [False, True, False],
    }


def test_a_missing_extra_or_repeated_column_flags_every_row() -> None:
    dropped = FULL.iloc[:2].drop(columns=["city"])
    extra = FULL.iloc[:2].assign(peek=[0.0, 0.0])
    repeated = pd.concat([FULL.iloc[:2], FULL.iloc[:2][["lag1"]]], axis=1)
    for partial, column in ((dropped, "city"), (extra, "peek"), (repeated, "lag1")):
        changed, per_column = pit._compare(pit._Reference(FULL), partial, 2)
        assert changed.tolist() == [True, True]
        assert list(per_column) == [column]
        assert per_column[column].tolist() == [True, True]


def test_a_number_turned_into_text_is_compared_as_text() -> None:
    partial = FULL.iloc[:2].copy()
    partial["lag1"] = ["1.0", "2.5"]
    changed, per_column = pit._compare(pit._Reference(FULL), partial, 2)
    assert per_column["lag1"].tolist() == [False, True]
    assert changed.tolist() == [False, True]


def test_the_reference_keeps_numbers_as_floats_and_text_on_demand() -> None:
    reference = pit._Reference(FULL)
    assert reference.columns == ["lag1", "city", "kind", "count"]
    assert sorted(reference.numeric) == ["count", "lag1"]
    assert reference.numeric["count"].dtype == float
    missing, values = reference.text("city")
    assert missing.tolist() == [False, False, True, False]
    assert values.tolist()[:2] == ["a", "b"]
    assert reference.text("city") is reference.text("city")
    numbers = pit._floats(pd.Series([1, None], dtype="Int64"))
    assert numbers.dtype == float and math.isnan(numbers[1])


# --- what a cut reports and the verdict ---------------------------------------------------------


def test_a_cut_reports_its_changed_cells_column_by_column_up_to_its_room() -> None:
    masks = {
        "a": np.asarray([True, False, True, True]),
        "b": np.asarray([True, True, False, False]),
    }
    assert violation_cells(masks, 10) == [("a", 0), ("a", 2), ("a", 3), ("b", 0), ("b", 1)]
    assert violation_cells(masks, 4) == [("a", 0), ("a", 2), ("a", 3), ("b", 0)]
    assert violation_cells(masks, 2) == [("a", 0), ("a", 2)]
    assert violation_cells(masks, 0) == []
    assert violation_cells(masks, -3) == []
    assert all(isinstance(row, int) for _, row in violation_cells(masks, 10))


def _cut(changed_rows: int) -> CutCheck:
    return CutCheck(cut="2024-01-01", rows=10, changed_rows=changed_rows, changed_columns=[])


def test_one_changed_row_at_one_cut_is_a_leak() -> None:
    clean = np.zeros(10, dtype=bool)
    assert point_in_time_ok(clean, [_cut(0), _cut(0)])
    assert point_in_time_ok(clean, [])
    leaky = clean.copy()
    leaky[7] = True
    assert not point_in_time_ok(leaky, [_cut(0)])
    assert not point_in_time_ok(clean, [_cut(0), _cut(1)])


# --- the sentence -------------------------------------------------------------------------------


def _result(**fields: Any) -> PitResult:
    base: dict[str, Any] = {
        "features": "features/w2",
        "hash": "h",
        "model": "m",
        "snapshot_id": "s",
        "ok": True,
        "cuts": [],
        "dates": 11,
        "cuts_checked": 10,
        "elapsed_s": 1.23,
        "budget_s": 20.0,
    }
    base.update(fields)
    return PitResult(**base)


def test_a_clean_check_of_every_date_says_so_with_its_time() -> None:
    assert pit._summary(_result()) == (
        "no leak: every one of the 10 cut dates was checked (1.2 s of a 20 s budget)"
    )


def test_a_single_date_leaves_nothing_to_test() -> None:
    assert pit._summary(_result(dates=1, cuts_checked=0)) == (
        "no leak possible to test: the snapshot holds a single date"
    )
    assert pit._summary(_result(dates=0, cuts_checked=0)).startswith("no leak possible")


def test_a_leak_names_its_columns_dates_and_coverage() -> None:
    six = [f"c{i}" for i in range(6)]
    leak = _result(
        ok=False,
        changed_columns=six,
        leaky_dates=["2024-02-01"],
        leaky_date_count=3,
        cuts_checked=4,
    )
    assert pit._summary(leak) == (
        "LEAK: 6 column(s) read the future (c0, c1, c2, c3, c4 ...) on rows of 3 date(s), the "
        "first 2024-02-01; found in 4 of 10 cut dates checked in 1.2 s"
    )
    few = _result(ok=False, changed_columns=["lag"], leaky_dates=[], leaky_date_count=0)
    assert pit._summary(few) == (
        "LEAK: 1 column(s) read the future (lag) on rows of 0 date(s), the first ?; found in 10 "
        "of 10 cut dates checked in 1.2 s"
    )
    five = _result(ok=False, changed_columns=six[:5], leaky_dates=["d"], leaky_date_count=1)
    assert "(c0, c1, c2, c3, c4) on rows" in pit._summary(five)


def test_a_clean_check_cut_short_says_what_may_remain() -> None:
    short = _result(budget_exhausted=True, cuts_checked=4, coverage=0.4, coverage_7d=0.9)
    assert pit._summary(short) == (
        "no leak found, but the 20 s budget ran out after 4 of 10 cut dates: 40.0% of the dates "
        "were cuts, 90.0% lie within 7 days before one; a leak on only some unchecked dates may "
        "remain (raise the budget to check more)"
    )
    partial = _result(cuts_checked=6, coverage=0.6)
    assert pit._summary(partial) == "no leak found in 6 of 10 cut dates (60.0% of the dates)"


def test_cuts_that_could_not_be_built_are_named() -> None:
    errors = [{"cut": "2024-01-02", "rows": 3, "error": "too short"}]
    unbuilt = _result(cuts_checked=6, coverage=0.6, build_errors=errors, build_error_count=2)
    assert pit._summary(unbuilt) == (
        "no leak found in 6 of 10 cut dates (60.0% of the dates); 2 cut(s) could not be built "
        "(the first at 2024-01-02, 3 rows: too short) and were not checked"
    )
    short = _result(
        budget_exhausted=True,
        cuts_checked=4,
        coverage=0.4,
        coverage_7d=0.9,
        build_errors=errors,
        build_error_count=1,
    )
    assert pit._summary(short).endswith(
        "(raise the budget to check more); 1 cut(s) could not be built (the first at "
        "2024-01-02, 3 rows: too short) and were not checked"
    )


@pytest.mark.parametrize("checked", [10, 12])
def test_every_date_checked_is_the_full_sentence(checked: int) -> None:
    assert pit._summary(_result(cuts_checked=checked)).startswith("no leak: every one of the 10")


def test_a_boundary_on_the_first_date_is_a_fold_cut() -> None:
    assert plan_cuts(5, [0], 1, 0)[0] == (0, "fold")


def test_a_single_candidate_date_is_the_spread() -> None:
    assert plan_cuts(1, [], 1, 0) == [(0, "spread")]


def test_a_plan_larger_than_the_dates_spreads_over_every_date() -> None:
    assert [kind for _, kind in plan_cuts(4, [], 8, 0)] == ["spread"] * 4


def test_every_column_is_compared_after_a_missing_or_repeated_one() -> None:
    reference = pit._Reference(FULL)
    dropped = FULL.iloc[:2].drop(columns=["lag1"]).copy()
    dropped.loc[1, "count"] = 9
    _, per_column = pit._compare(reference, dropped, 2)
    assert list(per_column) == ["lag1", "count"]
    later = FULL.iloc[:2].copy()
    later.loc[1, "city"] = "z"
    repeated = pd.concat([later[["lag1"]], later], axis=1)
    _, per_column = pit._compare(reference, repeated, 2)
    assert list(per_column) == ["lag1", "city"]


def test_numbers_stay_numbers_within_the_tolerance() -> None:
    partial = FULL.iloc[:2].copy()
    partial["lag1"] = [1.0 + 1e-12, 2.0]  # the same number, another text
    partial["count"] = pd.Series([1, 2], dtype="Int64")
    changed, per_column = pit._compare(pit._Reference(FULL), partial, 2)
    assert per_column == {} and not changed.any()


def test_text_that_is_not_a_number_is_compared_as_text() -> None:
    partial = FULL.iloc[:2].copy()
    partial["lag1"] = ["1.0", "x"]
    partial["city"] = [1.0, 2.0]  # text turned into numbers
    _, per_column = pit._compare(pit._Reference(FULL), partial, 2)
    assert per_column["lag1"].tolist() == [False, True]
    assert per_column["city"].tolist() == [True, True]
