"""Diebold-Mariano with HAC variance and the HLN correction, checked against closed forms,
statsmodels and simulations whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from core.stats import default_lag, diebold_mariano, hln_factor

# A fixed series (0.3 + MA(1) noise, rounded) and statsmodels 0.15.0's HAC standard error
# of its mean: OLS(d, ones).fit(cov_type="HAC", cov_kwds={"maxlags": L,
# "use_correction": False}).bse[0], computed once in a scratch environment.
SERIES = [
    0.599, 0.205, -0.755, -0.689, -0.964, -0.235, 1.676, 0.612, -0.616, 0.418,
    0.951, 0.62, -0.567, -0.288, 0.978, -0.627, -0.964, -1.876, -2.13, -2.315,
    -1.04, -1.109, -0.189, 0.62, 0.207, -2.329, -1.749, -0.072, 0.384, -1.162,
    -1.096, -0.965, -1.096, 0.876, 0.129, -0.217, 1.165, 0.247, -0.162, 0.343,
]  # fmt: skip
STATSMODELS_HAC_SE = {
    0: 0.1534983222628183,
    1: 0.18546210107711367,
    3: 0.202747253391538,
    5: 0.21366240293904665,
}


def _ar1(rng: np.random.Generator, n: int, phi: float) -> np.ndarray:
    noise = rng.normal(size=n + 50)
    x = np.zeros(n + 50)
    for i in range(1, n + 50):
        x[i] = phi * x[i - 1] + noise[i]
    return x[50:]


@pytest.mark.parametrize("lag", sorted(STATSMODELS_HAC_SE))
def test_hac_standard_error_matches_statsmodels(lag: int) -> None:
    test = diebold_mariano(np.zeros(len(SERIES)), SERIES, lag=lag)
    assert test.lag == lag
    assert test.se == pytest.approx(STATSMODELS_HAC_SE[lag], rel=1e-12)


def test_hac_variance_matches_the_bartlett_double_sum() -> None:
    """sum_t sum_s w(|t - s|) dev_t dev_s / n^2 with w(j) = 1 - j/(L + 1) for j <= L."""
    rng = np.random.default_rng(3)
    d = _ar1(rng, 73, 0.4)
    for lag in (0, 2, 5, 9):
        dev = d - d.mean()
        gap = np.abs(np.subtract.outer(np.arange(d.size), np.arange(d.size)))
        weights = np.where(gap <= lag, 1.0 - gap / (lag + 1.0), 0.0)
        reference = float(dev @ weights @ dev) / d.size**2
        test = diebold_mariano(np.zeros(d.size), d, lag=lag)
        assert test.se is not None
        assert test.se**2 == pytest.approx(reference, rel=1e-10)


def test_with_lag_zero_the_corrected_statistic_is_the_one_sample_t_test() -> None:
    """HLN with h = 1 multiplies by sqrt((n - 1)/n), which turns the divisor-n variance
    into the usual s^2: statistic, p-value and interval are Student's, exactly."""
    rng = np.random.default_rng(11)
    loss_a = rng.exponential(size=25)
    loss_b = loss_a + rng.normal(0.2, 0.5, size=25)
    test = diebold_mariano(loss_a, loss_b, lag=0, alpha=0.10)
    reference = stats.ttest_1samp(loss_b - loss_a, 0.0)
    interval = reference.confidence_interval(confidence_level=0.90)
    assert test.statistic == pytest.approx(float(reference.statistic), rel=1e-12)
    assert test.p_value == pytest.approx(float(reference.pvalue), rel=1e-10)
    assert test.low == pytest.approx(float(interval.low), rel=1e-10)
    assert test.high == pytest.approx(float(interval.high), rel=1e-10)
    assert test.df == 24


def test_the_hln_factor_is_the_published_formula() -> None:
    # Harvey, Leybourne and Newbold (1997): sqrt((n + 1 - 2h + h(h - 1)/n) / n).
    assert hln_factor(10, 3) == pytest.approx(math.sqrt((10 + 1 - 6 + 3 * 2 / 10) / 10))
    assert hln_factor(40, 1) == pytest.approx(math.sqrt(39 / 40))
    assert hln_factor(2, 2) is None  # (2 + 1 - 4 + 1) / 2 = 0: too few units for the lag


def test_statistic_and_interval_carry_the_hln_factor_and_agree_with_the_p_value() -> None:
    rng = np.random.default_rng(5)
    d = _ar1(rng, 30, 0.3) + 0.4
    test = diebold_mariano(np.zeros(30), d, lag=3)
    assert test.se is not None and test.statistic is not None and test.p_value is not None
    factor = math.sqrt((30 + 1 - 8 + 4 * 3 / 30) / 30)
    assert test.correction == pytest.approx(factor)
    assert test.statistic == pytest.approx(d.mean() / test.se * factor, rel=1e-12)
    assert test.p_value == pytest.approx(2 * stats.t.sf(abs(test.statistic), 29), rel=1e-10)
    half = stats.t.ppf(0.975, 29) * test.se / factor
    assert test.low == pytest.approx(d.mean() - half, rel=1e-12)
    assert test.high == pytest.approx(d.mean() + half, rel=1e-12)


def test_default_lag_follows_the_newey_west_rule_and_the_horizon() -> None:
    # floor(4 (n/100)^(2/9)): n=100 -> 4; n=1000 -> floor(6.67) = 6; n=10 -> floor(2.40) = 2.
    assert default_lag(100) == 4
    assert default_lag(1000) == 6
    assert default_lag(10) == 2
    assert default_lag(100, horizon=8) == 7  # an 8-step forecast's errors are MA(7)
    assert default_lag(3, horizon=8) == 2  # never beyond n - 1
    assert diebold_mariano(np.zeros(100), np.arange(100.0) % 7).lag == 4


def test_b_with_lower_loss_gives_a_negative_differential() -> None:
    rng = np.random.default_rng(2)
    loss_a = rng.exponential(1.0, size=200) + 0.5
    loss_b = loss_a - 0.3 + rng.normal(0, 0.2, size=200)
    test = diebold_mariano(loss_a, loss_b)
    assert test.mean is not None and test.statistic is not None and test.high is not None
    assert test.mean < 0 and test.statistic < 0 and test.high < 0
    assert test.value_a == pytest.approx(float(loss_a.mean()))
    assert test.value_b == pytest.approx(float(loss_b.mean()))


def test_a_known_mean_differential_is_recovered_inside_its_interval() -> None:
    covered = 0
    for seed in range(100):
        rng = np.random.default_rng(seed)
        d = 0.25 + rng.normal(size=120)
        test = diebold_mariano(np.zeros(120), d)
        assert test.low is not None and test.high is not None
        covered += test.low <= 0.25 <= test.high
    # 95% intervals over 100 seeds: expect about 95; below 88 would be a broken interval.
    assert covered >= 88, f"the true differential was covered in {covered} of 100 runs"


def test_rows_are_averaged_within_groups_and_groups_run_in_ascending_order() -> None:
    rng = np.random.default_rng(8)
    dates = np.repeat(np.array(["2024-01-03", "2024-01-01", "2024-01-02", "2024-01-05",
                                "2024-01-04", "2024-01-06"]), 4)  # fmt: skip
    loss_a = rng.exponential(size=dates.size)
    loss_b = rng.exponential(size=dates.size)
    order = rng.permutation(dates.size)
    test = diebold_mariano(loss_a[order], loss_b[order], groups=dates[order], lag=2)
    per_date = {day: float((loss_b - loss_a)[dates == day].mean()) for day in set(dates)}
    by_hand = [per_date[day] for day in sorted(per_date)]
    reference = diebold_mariano(np.zeros(6), by_hand, lag=2)
    assert (test.n, test.rows, test.unit) == (6, 24, "groups")
    assert test.mean == pytest.approx(reference.mean, rel=1e-12)
    assert test.se == pytest.approx(reference.se, rel=1e-12)
    assert test.p_value == pytest.approx(reference.p_value, rel=1e-12)


def test_rows_of_one_date_are_not_counted_as_independent_evidence() -> None:
    """Panel A/A: 20 dates x 50 rows, each date with its own shared shock and no real
    difference. Grouped by date the test keeps its level; row by row it does not."""
    grouped = ungrouped = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        dates = np.repeat(np.arange(20), 50)
        d = rng.normal(size=20)[dates] + rng.normal(size=dates.size)
        zeros = np.zeros(d.size)
        grouped += diebold_mariano(zeros, d, groups=dates).p_value < 0.05  # type: ignore[operator]
        ungrouped += diebold_mariano(zeros, d).p_value < 0.05  # type: ignore[operator]
    # Measured 0.04 grouped and 0.435 ungrouped; binomial noise on 200 runs is about 0.015.
    assert grouped / 200 <= 0.08, f"grouped false positive rate {grouped / 200}"
    assert ungrouped / 200 >= 0.25, f"ungrouped false positive rate {ungrouped / 200}"


def test_hac_keeps_autocorrelated_differentials_far_closer_to_their_level() -> None:
    """AR(1) differentials (phi = 0.5) with mean 0 on 120 dates: lag 0 rejects about a
    quarter of the time; the default HAC lag about 9% (Newey-West's known small-sample
    excess, recorded in adrs/0019); independent differentials keep about 5%."""
    hac = naive = iid = 0
    runs = 300
    for seed in range(runs):
        rng = np.random.default_rng(seed)
        d = _ar1(rng, 120, 0.5)
        zeros = np.zeros(120)
        hac += diebold_mariano(zeros, d).p_value < 0.05  # type: ignore[operator]
        naive += diebold_mariano(zeros, d, lag=0).p_value < 0.05  # type: ignore[operator]
        iid += diebold_mariano(zeros, rng.normal(size=120)).p_value < 0.05  # type: ignore[operator]
    assert naive / runs >= 0.18, f"lag-0 rate {naive / runs}"
    assert hac / runs <= 0.13, f"HAC rate {hac / runs}"
    assert hac < naive
    assert 0.02 <= iid / runs <= 0.09, f"iid rate {iid / runs}"


def test_all_zero_differentials_are_identical_not_an_error() -> None:
    losses = np.linspace(0.1, 2.0, 30)
    test = diebold_mariano(losses, losses.copy())
    assert test.identical
    assert (test.statistic, test.p_value, test.low, test.high) == (None, 1.0, 0.0, 0.0)


def test_a_constant_nonzero_differential_has_a_certain_sign_and_no_spread() -> None:
    losses = np.linspace(0.1, 2.0, 30)
    test = diebold_mariano(losses, losses + 0.5)
    assert not test.identical and test.note.startswith("constant")
    assert test.mean == pytest.approx(0.5)
    assert (test.statistic, test.p_value, test.se) == (None, 0.0, 0.0)
    assert test.low == test.high == test.mean


def test_fewer_than_two_units_give_no_interval() -> None:
    one = diebold_mariano([1.0, 2.0], [0.0, 0.0], groups=["d", "d"])
    assert (one.n, one.rows, one.low, one.high, one.p_value) == (1, 2, None, None, None)
    assert one.mean == pytest.approx(-1.5)
    empty = diebold_mariano([], [])
    assert (empty.n, empty.mean, empty.low) == (0, None, None)


def test_inputs_that_do_not_pair_are_refused() -> None:
    with pytest.raises(ValueError, match="pair row by row"):
        diebold_mariano([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="group labels"):
        diebold_mariano([1.0, 2.0], [1.0, 2.0], groups=["a"])
    with pytest.raises(ValueError, match="alpha"):
        diebold_mariano([1.0, 2.0], [1.0, 2.0], alpha=1.5)
