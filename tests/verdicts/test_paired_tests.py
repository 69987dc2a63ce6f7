"""The paired tests' every branch returns the whole result an assistant reads, with numbers
checked against textbook formulas (scipy's one-sample t, a naive DeLong) on constructed
inputs. Mutation testing (`make mutate`) holds these to their promises."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import stats as sps

from core.stats import benjamini_hochberg, default_lag, diebold_mariano, fold_t
from core.stats.forecast import group_means, hac_variance
from core.stats.losses import metric_value, row_losses
from core.stats.paired import (
    CONSTANT,
    IDENTICAL,
    ROUNDING,
    PairedTest,
    check_alpha,
    clean,
    critical,
    no_interval,
    no_spread,
    two_sided,
    without_spread,
)
from tests.verdicts.golden import assert_matches


def _paired(**fields: Any) -> dict[str, Any]:
    """Every field of a PairedTest, with the defaults of one that has no interval."""
    out: dict[str, Any] = {
        "method": "fold-t",
        "n": 0,
        "rows": 0,
        "mean": None,
        "se": None,
        "statistic": None,
        "p_value": None,
        "df": None,
        "lag": None,
        "low": None,
        "high": None,
        "alpha": 0.05,
        "unit": "folds",
        "correction": None,
        "value_a": None,
        "value_b": None,
        "folds": None,
        "skipped": 0,
        "note": "",
    }
    out.update(fields)
    return out


def _t_interval(values: list[float], alpha: float = 0.05) -> tuple[float, float, float, float]:
    """(statistic, p, low, high) of the one-sample t-test of mean 0, from scipy."""
    data = np.asarray(values, dtype=float)
    result = sps.ttest_1samp(data, 0.0)
    se = float(data.std(ddof=1) / math.sqrt(data.size))
    half = float(sps.t.ppf(1 - alpha / 2, data.size - 1)) * se
    return float(result.statistic), float(result.pvalue), data.mean() - half, data.mean() + half


# --- the shared shape -----------------------------------------------------------------------


def test_a_paired_test_serialises_every_field_under_its_own_name() -> None:
    test = PairedTest(
        method="diebold-mariano",
        n=12,
        rows=48,
        mean=-0.25,
        se=0.05,
        statistic=-5.0,
        p_value=0.001,
        df=11.0,
        lag=2,
        low=-0.36,
        high=-0.14,
        alpha=0.1,
        unit="dates",
        correction=0.9,
        value_a=1.5,
        value_b=1.25,
        folds=3,
        skipped=1,
        note="why",
    )
    assert test.to_dict() == {
        "method": "diebold-mariano",
        "n": 12,
        "unit": "dates",
        "rows": 48,
        "mean": -0.25,
        "se": 0.05,
        "statistic": -5.0,
        "p_value": 0.001,
        "df": 11.0,
        "lag": 2,
        "interval": [-0.36, -0.14],
        "alpha": 0.1,
        "correction": 0.9,
        "value_a": 1.5,
        "value_b": 1.25,
        "fold_count": 3,
        "skipped": 1,
        "note": "why",
    }
    assert not test.identical
    assert PairedTest(**{**_paired(), "note": IDENTICAL}).identical


def test_numbers_that_json_cannot_hold_become_null() -> None:
    assert clean(None) is None
    assert clean(math.inf) is None
    assert clean(-math.inf) is None
    assert clean(math.nan) is None
    assert clean(2) == 2.0 and isinstance(clean(2), float)
    nan_test = PairedTest(**_paired(mean=math.nan, se=math.inf, low=-math.inf, high=math.nan))
    as_json = nan_test.to_dict()
    assert as_json["mean"] is None and as_json["se"] is None
    assert as_json["interval"] == [None, None]


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, 1.5])
def test_alpha_outside_the_open_unit_interval_is_refused(alpha: float) -> None:
    with pytest.raises(ValueError, match="alpha must be strictly between 0 and 1"):
        check_alpha(alpha)


def test_alpha_inside_the_unit_interval_is_accepted() -> None:
    for alpha in (1e-9, 0.05, 0.999999):
        check_alpha(alpha)


def test_a_test_that_could_not_run_keeps_what_it_was_told_and_has_no_interval() -> None:
    made = no_interval(
        "delong",
        n=3,
        rows=9,
        mean=0.5,
        alpha=0.1,
        note="too few",
        unit="dates",
        lag=2,
        value_a=0.7,
        folds=2,
    )
    assert_matches(
        made,
        _paired(
            method="delong",
            n=3,
            rows=9,
            mean=0.5,
            alpha=0.1,
            unit="dates",
            lag=2,
            value_a=0.7,
            folds=2,
            note="too few",
        ),
    )


def test_all_zero_differentials_are_identical_with_p_one_and_interval_zero() -> None:
    made = no_spread(
        "fold-t", n=4, rows=8, mean=0.0, alpha=0.1, unit="dates", df=3.0, lag=1, value_a=1.0
    )
    assert_matches(
        made,
        _paired(
            n=4,
            rows=8,
            mean=0.0,
            se=0.0,
            p_value=1.0,
            df=3.0,
            lag=1,
            low=0.0,
            high=0.0,
            alpha=0.1,
            unit="dates",
            value_a=1.0,
            note=IDENTICAL,
        ),
    )


def test_a_mean_within_rounding_noise_of_zero_counts_as_zero() -> None:
    at_noise = ROUNDING * 10.0
    assert no_spread(
        "fold-t", n=4, rows=0, mean=at_noise, alpha=0.05, unit="folds", df=3.0, scale=10.0
    ).identical
    above = no_spread(
        "fold-t", n=4, rows=0, mean=at_noise * 1.5, alpha=0.05, unit="folds", df=3.0, scale=10.0
    )
    assert above.note == CONSTANT
    # without a scale only an exact zero is zero
    assert no_spread("fold-t", n=4, rows=0, mean=1e-300, alpha=0.05, unit="folds", df=3.0).note == (
        CONSTANT
    )


def test_the_same_nonzero_differential_everywhere_has_a_certain_sign() -> None:
    made = no_spread(
        "delong", n=5, rows=10, mean=1.0, alpha=0.1, unit="rows", df=None, folds=2, skipped=1
    )
    assert_matches(
        made,
        _paired(
            method="delong",
            n=5,
            rows=10,
            mean=1.0,
            se=0.0,
            p_value=0.0,
            low=1.0,
            high=1.0,
            alpha=0.1,
            unit="rows",
            folds=2,
            skipped=1,
            note=CONSTANT,
        ),
    )


def test_values_within_rounding_noise_of_each_other_have_no_spread() -> None:
    assert without_spread(1.0, 1.0 + ROUNDING * 2.0, 2.0)
    assert not without_spread(1.0, 1.0 + ROUNDING * 3.0, 2.0)


def test_p_values_and_quantiles_are_those_of_student_t_or_the_normal() -> None:
    assert two_sided(0.0, 5.0) == 1.0
    assert two_sided(0.0, None) == 1.0
    assert two_sided(1.96, None) == pytest.approx(0.05, abs=1e-4)
    assert two_sided(-2.0, 4.0) == pytest.approx(2 * sps.t.sf(2.0, 4.0))
    assert critical(0.05, None) == pytest.approx(1.959964, abs=1e-6)
    assert critical(0.1, 3.0) == pytest.approx(sps.t.ppf(0.95, 3.0))


# --- fold t ---------------------------------------------------------------------------------


def test_no_fold_or_one_fold_gives_no_interval() -> None:
    assert_matches(fold_t([]), _paired(note="0 folds: a t-interval needs at least 2"))
    assert_matches(
        fold_t([0.1], alpha=0.1),
        _paired(n=1, mean=0.1, alpha=0.1, note="1 folds: a t-interval needs at least 2"),
    )


def test_two_folds_are_enough_for_a_t_interval() -> None:
    statistic, p, low, high = _t_interval([0.1, 0.3])
    assert_matches(
        fold_t([0.1, 0.3]),
        _paired(n=2, mean=0.2, se=0.1, statistic=statistic, p_value=p, df=1.0, low=low, high=high),
    )


def test_the_fold_t_interval_is_the_one_sample_t_interval_of_the_deltas() -> None:
    deltas = [0.02, 0.05, 0.01, 0.04, 0.03]
    statistic, p, low, high = _t_interval(deltas, alpha=0.1)
    se = float(np.std(deltas, ddof=1) / math.sqrt(5))
    assert_matches(
        fold_t(deltas, alpha=0.1),
        _paired(
            n=5,
            mean=0.03,
            se=se,
            statistic=statistic,
            p_value=p,
            df=4.0,
            low=low,
            high=high,
            alpha=0.1,
        ),
    )


def test_folds_that_all_agree_are_identical_or_a_certain_sign() -> None:
    assert_matches(
        fold_t([0.0, 0.0, 0.0], alpha=0.1),
        _paired(
            n=3,
            mean=0.0,
            se=0.0,
            p_value=1.0,
            df=2.0,
            low=0.0,
            high=0.0,
            alpha=0.1,
            note=IDENTICAL,
        ),
    )
    assert_matches(
        fold_t([0.25, 0.25, 0.25]),
        _paired(n=3, mean=0.25, se=0.0, p_value=0.0, df=2.0, low=0.25, high=0.25, note=CONSTANT),
    )


def test_a_fold_delta_that_is_not_finite_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^fold deltas must be finite$"):
        fold_t([0.1, math.nan])


# --- Diebold-Mariano ------------------------------------------------------------------------


def test_the_truncation_lag_follows_the_newey_west_rule() -> None:
    assert default_lag(0) == 0
    assert default_lag(1) == 0
    assert default_lag(2) == 1  # floor(4 * 0.02 ** (2/9)) = 1, capped at n - 1 = 1
    assert default_lag(100) == 4
    assert default_lag(10_000) == 11  # floor(4 * 100 ** (2/9)) = floor(11.13)
    assert default_lag(100, horizon=8) == 7
    assert default_lag(3, horizon=8) == 2


def test_the_hac_variance_adds_bartlett_weighted_autocovariances() -> None:
    series = np.asarray([1.0, 2.0, 4.0])
    dev = series - series.mean()
    gamma = [float(np.dot(dev[k:], dev[: 3 - k])) / 3 for k in range(3)]
    assert hac_variance(series, 0) == pytest.approx(gamma[0])
    assert hac_variance(series, 1) == pytest.approx(gamma[0] + 2 * 0.5 * gamma[1])
    expected = gamma[0] + 2 * (2 / 3) * gamma[1] + 2 * (1 / 3) * gamma[2]
    assert hac_variance(series, 2) == pytest.approx(expected)
    # a lag past the series uses every autocovariance it has, with the weights of that lag
    assert hac_variance(series, 5) == pytest.approx(
        gamma[0] + 2 * (5 / 6) * gamma[1] + 2 * (4 / 6) * gamma[2]
    )


def test_groups_are_averaged_in_ascending_order_of_their_labels() -> None:
    means = group_means(np.asarray([1.0, 3.0, 10.0, 5.0]), ["b", "a", "b", "a"])
    assert means.tolist() == [4.0, 5.5]
    with pytest.raises(ValueError, match="3 group labels for 4 rows"):
        group_means(np.asarray([1.0, 3.0, 10.0, 5.0]), ["a", "b", "c"])


def _dm(**fields: Any) -> dict[str, Any]:
    return _paired(**{"method": "diebold-mariano", "unit": "rows", **fields})


def test_with_lag_zero_diebold_mariano_is_the_one_sample_t_test_of_the_differentials() -> None:
    a = [1.0, 2.0, 1.5, 3.0, 2.5, 2.0, 1.0, 2.2]
    b = [0.5, 1.8, 1.0, 2.1, 2.6, 1.2, 0.4, 2.0]
    diff = [y - x for x, y in zip(a, b, strict=True)]
    statistic, p, low, high = _t_interval(diff, alpha=0.1)
    se = float(np.std(diff, ddof=1) / math.sqrt(8))
    # the HLN factor at h = 1 is sqrt((n - 1) / n), which turns the divisor-n variance into
    # the sample variance
    assert_matches(
        diebold_mariano(a, b, lag=0, alpha=0.1),
        _dm(
            n=8,
            rows=8,
            mean=float(np.mean(diff)),
            se=se * math.sqrt(7 / 8),
            statistic=statistic,
            p_value=p,
            df=7.0,
            lag=0,
            low=low,
            high=high,
            alpha=0.1,
            correction=math.sqrt(7 / 8),
            value_a=float(np.mean(a)),
            value_b=float(np.mean(b)),
        ),
    )


def test_with_groups_the_test_runs_on_the_per_group_means_and_counts_groups() -> None:
    a = [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
    b = [0.5, 0.7, 1.0, 2.0, 2.0, 2.4]
    groups = ["d1", "d1", "d2", "d2", "d3", "d3"]
    per_group = [-0.4, -0.5, -0.8]
    statistic, p, low, high = _t_interval(per_group)
    made = diebold_mariano(a, b, groups=groups, lag=0)
    assert (made.n, made.rows, made.unit, made.lag) == (3, 6, "groups", 0)
    assert made.statistic == pytest.approx(statistic)
    assert made.p_value == pytest.approx(p)
    assert (made.low, made.high) == (pytest.approx(low), pytest.approx(high))
    named = diebold_mariano(a, b, groups=groups, lag=0, unit="dates")
    assert named.unit == "dates"


def test_a_given_lag_is_capped_at_n_minus_one() -> None:
    a = [1.0, 2.0, 1.5, 3.0, 2.5]
    b = [0.5, 1.8, 1.0, 2.1, 2.6]
    assert diebold_mariano(a, b, lag=50).lag == 4
    assert diebold_mariano(a, b, lag=3).lag == 3
    assert diebold_mariano(a, b).lag == default_lag(5)


def test_one_unit_gives_no_interval_and_says_why() -> None:
    assert_matches(
        diebold_mariano([1.0, 2.0], [0.5, 1.0], groups=["d", "d"], alpha=0.1),
        _dm(
            n=1,
            rows=2,
            mean=-0.75,
            alpha=0.1,
            unit="groups",
            value_a=1.5,
            value_b=0.75,
            note="1 groups: a variance needs at least 2",
        ),
    )
    assert_matches(diebold_mariano([], []), _dm(note="0 rows: a variance needs at least 2"))


def test_too_few_units_for_the_lag_give_no_interval() -> None:
    # n = 2 and lag 1: the HLN radicand (n + 1 - 2h + h(h - 1)/n)/n is 0
    assert_matches(
        diebold_mariano([1.0, 2.0], [0.5, 1.0], lag=1, alpha=0.1),
        _dm(
            n=2,
            rows=2,
            mean=-0.75,
            alpha=0.1,
            lag=1,
            value_a=1.5,
            value_b=0.75,
            note="2 rows are too few for HAC lag 1",
        ),
    )


def test_differentials_without_spread_are_identical_or_a_certain_sign() -> None:
    assert_matches(
        diebold_mariano([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], alpha=0.1),
        _dm(
            n=3,
            rows=3,
            mean=0.0,
            se=0.0,
            p_value=1.0,
            df=2.0,
            lag=default_lag(3),
            low=0.0,
            high=0.0,
            alpha=0.1,
            value_a=2.0,
            value_b=2.0,
            note=IDENTICAL,
        ),
    )
    assert_matches(
        diebold_mariano([1.0, 2.0, 3.0], [0.5, 1.5, 2.5]),
        _dm(
            n=3,
            rows=3,
            mean=-0.5,
            se=0.0,
            p_value=0.0,
            df=2.0,
            lag=default_lag(3),
            low=-0.5,
            high=-0.5,
            value_a=2.0,
            value_b=1.5,
            note=CONSTANT,
        ),
    )


def test_diebold_mariano_refuses_what_it_cannot_pair() -> None:
    with pytest.raises(ValueError, match=r"^horizon must be at least 1, got 0$"):
        diebold_mariano([1.0], [1.0], horizon=0)
    with pytest.raises(ValueError, match=r"^lag must be non-negative, got -1$"):
        diebold_mariano([1.0], [1.0], lag=-1)
    with pytest.raises(ValueError, match="2 losses for A but 1 for B"):
        diebold_mariano([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match=r"^losses must be finite$"):
        diebold_mariano([1.0, math.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"^losses must be finite$"):
        diebold_mariano([1.0, 2.0], [1.0, math.inf])


# --- losses and the metric from them ----------------------------------------------------------


def test_each_row_mean_metric_has_its_own_per_row_loss() -> None:
    y = [0.0, 1.0, 1.0]
    p = [0.2, 0.6, 1.0]
    assert row_losses("mae", y, p).tolist() == pytest.approx([0.2, 0.4, 0.0])
    assert row_losses("mse", y, p).tolist() == pytest.approx([0.04, 0.16, 0.0])
    assert row_losses("rmse", y, p).tolist() == pytest.approx([0.04, 0.16, 0.0])
    assert row_losses("brier", y, p).tolist() == pytest.approx([0.04, 0.16, 0.0])
    clipped = 1 - 1e-15
    assert row_losses("logloss", y, p).tolist() == pytest.approx(
        [-math.log(0.8), -math.log(0.6), -math.log(clipped)]
    )
    assert row_losses("auc", y, p) is None


def test_losses_refuse_rows_they_cannot_score() -> None:
    message = "^labels and predictions must be finite: drop rows with NaN first$"
    with pytest.raises(ValueError, match=message):
        row_losses("mae", [1.0, math.nan], [1.0, 1.0])
    with pytest.raises(ValueError, match=message):
        row_losses("mae", [1.0, 1.0], [1.0, math.inf])
    with pytest.raises(ValueError, match="2 labels but 1 predictions"):
        row_losses("mae", [1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match=r"^brier needs labels 0 or 1$"):
        row_losses("brier", [0.5], [0.5])
    with pytest.raises(ValueError, match=r"^logloss needs probabilities in \[0, 1\]$"):
        row_losses("logloss", [1.0], [1.5])


def test_the_metric_is_the_mean_loss_or_its_root_for_rmse() -> None:
    assert metric_value("mae", [2.0]) == 2.0
    assert metric_value("mae", [1.0, 2.0, 6.0]) == 3.0
    assert metric_value("rmse", [1.0, 2.0, 6.0]) == pytest.approx(math.sqrt(3.0))
    assert math.isnan(metric_value("mae", []))
    with pytest.raises(ValueError, match="'auc' is not a mean over rows"):
        metric_value("auc", [1.0])


# --- Benjamini-Hochberg ------------------------------------------------------------------------


def test_the_default_false_discovery_rate_is_five_percent() -> None:
    rejected, adjusted = benjamini_hochberg([0.04, 0.9])
    assert rejected == [False, False]
    assert adjusted == pytest.approx([0.08, 0.9])
    assert benjamini_hochberg([0.02, 0.9])[0] == [True, False]


def test_q_is_in_the_half_open_unit_interval_and_p_in_the_closed_one() -> None:
    assert benjamini_hochberg([0.0, 1.0], q=1.0) == ([True, True], [0.0, 1.0])
    for q in (0.0, 1.5, 2.0):
        with pytest.raises(ValueError, match="q must be in"):
            benjamini_hochberg([0.5], q=q)
    with pytest.raises(ValueError, match=r"p-values must be in \[0, 1\], got 1.5 at position 1"):
        benjamini_hochberg([0.5, 1.5])


def test_differentials_that_differ_from_zero_only_by_rounding_are_identical() -> None:
    a = [0.1, 0.1, 0.1]
    b = [(0.1 + 0.2) - 0.2] * 3  # 0.1 up to one unit in the last place
    assert b[0] != a[0]
    assert diebold_mariano(a, b).note == IDENTICAL
    assert fold_t([b[0] - a[0]] * 3).note == CONSTANT  # fold deltas carry no size to compare


def test_midranks_give_tied_values_the_mean_of_their_ranks() -> None:
    from core.stats.auc import rankdata

    assert rankdata([3.0, 1.0, 2.0, 2.0]).tolist() == [4.0, 1.0, 2.5, 2.5]
    assert rankdata([5.0, 5.0, 5.0]).tolist() == [2.0, 2.0, 2.0]
    assert rankdata([2, 1]).dtype == float
