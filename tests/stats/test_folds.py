"""The fold t-test: Student's t over per-fold deltas, and its refusals."""

from __future__ import annotations

import pytest
from scipy import stats

from core.stats import decide, fold_t


def test_fold_t_is_the_one_sample_t_test_of_the_deltas() -> None:
    deltas = [0.012, 0.020, -0.004, 0.015, 0.009, 0.017]
    test = fold_t(deltas, alpha=0.10)
    reference = stats.ttest_1samp(deltas, 0.0)
    interval = reference.confidence_interval(confidence_level=0.90)
    assert test.statistic == pytest.approx(float(reference.statistic), rel=1e-12)
    assert test.p_value == pytest.approx(float(reference.pvalue), rel=1e-10)
    assert [test.low, test.high] == pytest.approx(
        [float(interval.low), float(interval.high)], rel=1e-10
    )
    assert (test.n, test.df, test.unit) == (6, 5, "folds")


def test_fewer_than_two_folds_give_no_interval() -> None:
    assert fold_t([]).low is None and fold_t([]).mean is None
    one = fold_t([0.3])
    assert (one.n, one.mean, one.low, one.high, one.p_value) == (1, 0.3, None, None, None)


def test_equal_folds_are_identical_or_a_certain_sign() -> None:
    assert fold_t([0.0, 0.0, 0.0]).identical
    constant = fold_t([0.1, 0.1, 0.1 + 1e-17])
    assert constant.note.startswith("constant") and constant.p_value == 0.0


def test_four_fold_means_are_never_enough_for_a_verdict() -> None:
    """Four folds, each clearly better: still inconclusive, because fold-t needs 5."""
    decision = decide(
        fold_t([0.05, 0.06, 0.055, 0.052]), metric="f1", direction="maximize", loss_based=False
    )
    assert decision.verdict == "inconclusive"
    assert decision.reason.startswith("inconclusive: 4 folds, fewer than the 5 a verdict needs")
    five = decide(
        fold_t([0.05, 0.06, 0.055, 0.052, 0.058]), metric="f1", direction="maximize",
        loss_based=False,
    )  # fmt: skip
    assert five.verdict == "better"


def test_non_finite_deltas_are_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        fold_t([0.1, float("nan")])
