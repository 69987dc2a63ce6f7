"""The sequential tests' rules on constructed streams: one look computed by hand from the
mixture formulas, every verdict with its sentence, thresholds at and beside the minimum
effect, guards at exactly `min_n`, and checkpoints that continue where they stopped."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from core.stats import (
    MeanDifferenceSequence,
    MeanSequence,
    ProportionDifferenceSequence,
    QuantileRatioSequence,
    QuantileSequence,
    SequentialState,
)
from core.stats.sequential import (
    QuantileRatioState,
    QuantileState,
    _prior,
    _Stream,
    order_bounds,
    smoothed_variance,
)


def _one_look(estimate: float, variance: float, sd: float, tau: float, alpha: float) -> Any:
    """(low, high, p) of the first look, from the formulas in the module docstring."""
    tau2 = (tau * sd) ** 2
    radius = math.sqrt(
        variance
        * (variance + tau2)
        / tau2
        * (math.log((variance + tau2) / variance) + 2 * math.log(1 / alpha))
    )
    log_ratio = 0.5 * math.log(variance / (variance + tau2)) + tau2 * estimate**2 / (
        2 * variance * (variance + tau2)
    )
    p = math.exp(-log_ratio) if log_ratio > 0 else 1.0
    return estimate - radius, estimate + radius, min(1.0, p)


def _stream(seed: int, n: int, mean: float = 0.0, sd: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(mean, sd, n)


# --- results as JSON ----------------------------------------------------------------------


def test_a_sequential_state_serialises_every_field_under_its_own_name() -> None:
    state = SequentialState(
        method="msprt-mean",
        n_a=40,
        n_b=0,
        estimate=0.5,
        low=0.1,
        high=0.9,
        p_value=0.01,
        verdict="worse",
        reason="why",
        alpha=0.1,
        direction="minimize",
        min_n=30,
        min_effect=0.05,
        looks=3,
        tau=0.2,
        reference=1.5,
        mean_a=2.0,
        mean_b=2.5,
        note="n",
    )
    assert state.to_dict() == {
        "method": "msprt-mean",
        "n_a": 40,
        "n_b": 0,
        "estimate": 0.5,
        "interval": [0.1, 0.9],
        "p_value": 0.01,
        "verdict": "worse",
        "reason": "why",
        "alpha": 0.1,
        "direction": "minimize",
        "min_n": 30,
        "min_effect": 0.05,
        "looks": 3,
        "tau": 0.2,
        "reference": 1.5,
        "mean_a": 2.0,
        "mean_b": 2.5,
        "note": "n",
    }


def test_quantile_states_serialise_every_field_under_its_own_name() -> None:
    a = QuantileState(quantile=0.95, n=40, estimate=12.0, low=10.0, high=15.0, alpha=0.025, looks=2)
    b = QuantileState(quantile=0.95, n=50, estimate=14.0, low=None, high=None, alpha=0.025, looks=1)
    assert a.to_dict() == {
        "method": "beta-binomial confidence sequence",
        "quantile": 0.95,
        "n": 40,
        "estimate": 12.0,
        "interval": [10.0, 15.0],
        "alpha": 0.025,
        "looks": 2,
    }
    ratio = QuantileRatioState(
        quantile=0.95,
        threshold=1.1,
        ratio=1.2,
        ratio_low=0.9,
        ratio_high=1.4,
        verdict="inconclusive",
        reason="why",
        alpha=0.05,
        min_n=20,
        a=a,
        b=b,
    )
    assert ratio.to_dict() == {
        "method": "beta-binomial confidence sequences, Bonferroni over two streams",
        "quantile": 0.95,
        "threshold": 1.1,
        "ratio": 1.2,
        "ratio_interval": [0.9, 1.4],
        "verdict": "inconclusive",
        "reason": "why",
        "alpha": 0.05,
        "min_n": 20,
        "a": a.to_dict(),
        "b": b.to_dict(),
    }


# --- the pieces ---------------------------------------------------------------------------


def test_a_proportions_variance_is_smoothed_so_no_events_is_not_certainty() -> None:
    assert smoothed_variance(0, 0) == 0.25
    assert smoothed_variance(3, 9) == pytest.approx(0.35 * 0.65)
    assert smoothed_variance(0, 99) == pytest.approx(0.005 * 0.995)


def test_a_stream_merged_batch_by_batch_has_the_mean_and_variance_of_all_its_values() -> None:
    values = _stream(1, 50, mean=3.0)
    stream = _Stream()
    for batch in (values[:7], values[7:8], [], values[8:]):
        stream.add(batch)
    assert stream.n == 50
    assert stream.mean == pytest.approx(values.mean())
    assert stream.variance == pytest.approx(values.var(ddof=1))
    one = _Stream()
    one.add([4.0])
    assert (one.n, one.mean, one.variance) == (1, 4.0, 0.0)
    with pytest.raises(ValueError, match=r"^observations must be finite$"):
        one.add([math.nan])


def test_the_quantile_prior_is_centred_on_the_quantile_as_concentrated_as_the_rule_says() -> None:
    a, b = _prior(0.95, 1000, 0.05)
    log_term = math.log(20.0)
    assert a / (a + b) == pytest.approx(0.95)
    assert a + b == pytest.approx(1000 / (2 * log_term + math.log(1 + 2 * log_term)) - 1)
    assert _prior(0.5, 1, 0.05) == (0.5, 0.5)  # never less concentrated than Beta(.5, .5)


# --- the mixture sequence, one look by hand -------------------------------------------------


def test_the_first_look_is_the_mixture_interval_and_p_value_of_the_docstring() -> None:
    values = _stream(2, 40, mean=0.3)
    seq = MeanSequence(0.0, alpha=0.1, tau=0.2, min_n=40)
    state = seq.update(values)
    variance = float(values.var(ddof=1))
    low, high, p = _one_look(float(values.mean()), variance / 40, math.sqrt(variance), 0.2, 0.1)
    assert (state.low, state.high, state.p_value) == (
        pytest.approx(low),
        pytest.approx(high),
        pytest.approx(p),
    )
    assert (state.looks, state.estimate, state.mean_a, state.n_a) == (
        1,
        pytest.approx(values.mean()),
        pytest.approx(values.mean()),
        40,
    )


def test_two_streams_add_their_variances_and_average_them_for_the_mixture_scale() -> None:
    a, b = _stream(3, 30, sd=1.0), _stream(4, 60, mean=0.5, sd=2.0)
    state = MeanDifferenceSequence(min_n=30).update(a, b)
    var_a, var_b = float(a.var(ddof=1)), float(b.var(ddof=1))
    low, high, p = _one_look(
        float(b.mean() - a.mean()),
        var_a / 30 + var_b / 60,
        math.sqrt((var_a + var_b) / 2),
        0.1,
        0.05,
    )
    assert (state.low, state.high, state.p_value) == (
        pytest.approx(low),
        pytest.approx(high),
        pytest.approx(p),
    )
    assert (state.n_a, state.n_b, state.mean_a, state.mean_b) == (
        30,
        60,
        pytest.approx(a.mean()),
        pytest.approx(b.mean()),
    )


def test_a_weak_first_look_keeps_p_at_one_and_a_strong_one_brings_it_down() -> None:
    # log Lambda <= 0: no evidence at all, p stays 1
    quiet = MeanSequence(0.0, min_n=30).update(np.tile([-1.0, 1.0], 15))
    assert quiet.p_value == 1.0
    # 0 < log Lambda < 1: some evidence, p = exp(-log Lambda) between 1/e and 1
    values = np.tile([-1.0, 1.0], 15) + 0.3
    state = MeanSequence(0.0, min_n=30).update(values)
    variance = float(values.var(ddof=1))
    _, _, p = _one_look(float(values.mean()), variance / 30, math.sqrt(variance), 0.1, 0.05)
    assert math.exp(-1) < p < 1.0
    assert state.p_value == pytest.approx(p)


def test_the_mixture_scale_is_fixed_at_the_first_look_that_counts() -> None:
    seq = MeanSequence(0.0, tau=0.5, min_n=30)
    first = _stream(5, 30, sd=2.0)
    seq.update(first)
    assert seq.checkpoint()["engine"]["tau_abs"] == pytest.approx(0.5 * first.std(ddof=1))
    seq.update(_stream(6, 30, sd=10.0))
    assert seq.checkpoint()["engine"]["tau_abs"] == pytest.approx(0.5 * first.std(ddof=1))


def test_a_look_that_misses_the_running_interval_is_skipped_and_noted() -> None:
    seq = MeanSequence(0.0, min_n=30)
    seq.update(_stream(7, 1000))
    state = seq.update(np.ones(1000))
    assert state.looks == 1
    assert state.note == (
        "a look's interval missed the running one after 1 looks: independence or a stable mean "
        "may not hold"
    )
    healed = seq.update(_stream(8, 10))
    assert healed.looks == 1 or healed.note == ""


def test_streams_without_variation_say_so_and_stay_inconclusive() -> None:
    state = MeanSequence(1.0, min_n=30).update(np.full(30, 2.0))
    assert (state.verdict, state.looks, state.note) == (
        "inconclusive",
        0,
        "no variation in the data yet",
    )
    assert state.reason == (
        "inconclusive: 30 observations against the reference 1 and no variation in the data yet"
    )
    fresh = MeanSequence(1.0, min_n=2)
    assert fresh.state().note == ""


# --- verdicts and thresholds --------------------------------------------------------------


def _shifted(min_effect: float = 0.0, direction: str = "minimize") -> SequentialState:
    seq = MeanDifferenceSequence(min_n=30, direction=direction, min_effect=min_effect)
    return seq.update(_stream(9, 400), _stream(10, 400, mean=-0.6))


def test_a_lower_mean_of_b_is_better_when_lower_is_better_and_says_so() -> None:
    state = _shifted()
    imp_low, imp_high = -state.high, -state.low
    assert state.verdict == "better"
    assert state.reason == (
        f"better: mixture SPRT after 1 look on 400 and 400 observations puts the improvement at "
        f"[{imp_low:.4g}, {imp_high:.4g}] (95%, valid at every look), entirely above the minimum "
        "effect 0"
    )


def test_a_lower_mean_of_b_is_worse_when_higher_is_better_and_says_so() -> None:
    state = _shifted(direction="maximize")
    assert state.verdict == "worse"
    assert state.reason == (
        f"worse: mixture SPRT after 1 look on 400 and 400 observations puts the improvement at "
        f"[{state.low:.4g}, {state.high:.4g}] (95%, valid at every look), entirely below minus "
        "the minimum effect 0"
    )


def test_better_needs_the_oriented_interval_strictly_above_the_minimum_effect() -> None:
    edge = -_shifted().high  # the lower end of the improvement's interval
    assert _shifted(min_effect=edge * 0.999).verdict == "better"
    at = _shifted(min_effect=edge)
    assert at.verdict == "inconclusive"
    assert at.reason.endswith(f"which reaches across the minimum effect {edge:.4g}")
    assert _shifted(min_effect=edge * 1.001).verdict == "inconclusive"


def test_worse_needs_the_oriented_interval_strictly_below_minus_the_minimum_effect() -> None:
    edge = -_shifted(direction="maximize").high  # the upper end is at -edge
    assert _shifted(min_effect=edge * 0.999, direction="maximize").verdict == "worse"
    assert _shifted(min_effect=edge, direction="maximize").verdict == "inconclusive"
    assert _shifted(min_effect=edge * 1.001, direction="maximize").verdict == "inconclusive"


def test_the_level_and_the_number_of_looks_are_in_the_reason() -> None:
    seq = MeanDifferenceSequence(alpha=0.025, min_n=30)
    seq.update(_stream(11, 200), _stream(12, 200, mean=-1.0))
    state = seq.update(_stream(13, 10), _stream(14, 10, mean=-1.0))
    assert state.looks == 2
    assert "after 2 looks on 210 and 210 observations" in state.reason
    assert "(97.5%, valid at every look)" in state.reason


def test_no_look_counts_before_each_stream_holds_min_n() -> None:
    seq = MeanDifferenceSequence(min_n=30)
    assert seq.state().reason == "inconclusive: no data yet"
    state = seq.update(_stream(15, 29), _stream(16, 40))
    assert (state.looks, state.low, state.high) == (0, None, None)
    assert state.reason == (
        "inconclusive: 29 and 40 observations, fewer than the 30 per stream a verdict needs"
    )
    assert seq.update(_stream(17, 1), []).looks == 1
    only_b = MeanDifferenceSequence(min_n=30)
    only_b.update([], [1.0, 2.0])
    assert only_b.state().estimate is None and only_b.state().mean_a is None
    ones = MeanDifferenceSequence(min_n=30).update([1.0], [3.0])
    assert (ones.estimate, ones.mean_a, ones.mean_b) == (2.0, 1.0, 3.0)


def test_one_stream_looks_once_it_holds_exactly_min_n() -> None:
    seq = MeanSequence(0.0, min_n=30)
    assert seq.update(_stream(18, 29)).looks == 0
    assert seq.update(_stream(19, 1)).looks == 1
    empty = MeanSequence(2.0)
    assert (empty.state().mean_a, empty.state().estimate, empty.state().reference) == (
        None,
        None,
        2.0,
    )


def test_sequences_refuse_settings_that_have_no_meaning() -> None:
    assert MeanDifferenceSequence(min_n=2).min_n == 2
    with pytest.raises(
        ValueError, match=r"^min_n must be at least 2 \(a variance needs it\), got 1$"
    ):
        MeanDifferenceSequence(min_n=1)
    for bad in (math.nan, -0.1, math.inf):
        with pytest.raises(ValueError, match=r"^min_effect must be a finite number >= 0, got"):
            MeanDifferenceSequence(min_effect=bad)
    for bad in (0.0, math.inf, math.nan):
        with pytest.raises(ValueError, match=r"^tau must be a positive number, got"):
            MeanDifferenceSequence(tau=bad)
    with pytest.raises(ValueError, match=r"^direction must be maximize or minimize, got 'up'$"):
        MeanDifferenceSequence(direction="up")
    with pytest.raises(ValueError, match=r"^reference must be finite, got nan$"):
        MeanSequence(math.nan)
    for bad in (math.nan, -1.0, math.inf):
        with pytest.raises(ValueError, match=r"^reference_sd must be a finite number >= 0, got"):
            MeanSequence(0.0, reference_sd=bad)


def test_reference_sd_sets_a_variance_floor_of_its_square() -> None:
    assert MeanSequence(0.0, reference_sd=3.0).checkpoint()["engine"]["variance_floor"] == 9.0
    assert MeanSequence(0.0, reference_sd=0.0).checkpoint()["engine"]["variance_floor"] == 0.0
    assert MeanSequence(0.0).checkpoint()["engine"]["variance_floor"] == 0.0
    values = _stream(20, 30, sd=0.5)
    floored = MeanSequence(0.0, min_n=30, reference_sd=3.0).update(values)
    low, high, _ = _one_look(float(values.mean()), 9.0 / 30, 3.0, 0.1, 0.05)
    assert (floored.low, floored.high) == (pytest.approx(low), pytest.approx(high))


# --- proportions ----------------------------------------------------------------------------


def test_proportions_look_once_both_streams_hold_min_n_trials() -> None:
    seq = ProportionDifferenceSequence(min_n=100)
    state = seq.update_counts(5, 100, 40, 99)
    assert state.looks == 0
    assert (state.mean_a, state.mean_b) == (0.05, pytest.approx(40 / 99))
    state = seq.update_counts(0, 0, 0, 1)
    assert state.looks == 1 and state.verdict == "worse"
    assert state.estimate == pytest.approx(0.4 - 0.05)
    expected = _one_look(
        0.35,
        smoothed_variance(5, 100) / 100 + smoothed_variance(40, 100) / 100,
        math.sqrt((smoothed_variance(5, 100) + smoothed_variance(40, 100)) / 2),
        0.1,
        0.05,
    )
    assert (state.low, state.high) == (pytest.approx(expected[0]), pytest.approx(expected[1]))
    empty = ProportionDifferenceSequence().state()
    assert (empty.mean_a, empty.mean_b, empty.reason) == (None, None, "inconclusive: no data yet")


def test_outcomes_are_counted_as_events_and_trials() -> None:
    seq = ProportionDifferenceSequence(min_n=2)
    state = seq.update([0, 1, 1, 0], [1.0, 1.0])
    assert (seq.events_a, seq.trials_a, seq.events_b, seq.trials_b) == (2, 4, 2, 2)
    assert state.reason.startswith("better") or "4 and 2 trials" in state.reason
    with pytest.raises(ValueError, match=r"^proportions need outcomes 0 or 1$"):
        seq.update([0.5], [])
    with pytest.raises(ValueError, match="need 0 <= events <= trials, got 3 of 2"):
        seq.update_counts(3, 2, 0, 0)
    with pytest.raises(ValueError, match="need 0 <= events <= trials, got 0 of -1"):
        seq.update_counts(0, 0, 0, -1)
    assert seq.update_counts(0, 0, 0, 0).n_a == 4  # nothing new is no error


# --- checkpoints ----------------------------------------------------------------------------


def _continue(make: Any, first: Any, then: Any, restore: Any) -> tuple[Any, Any]:
    kept = make()
    first(kept)
    restored = restore(kept.checkpoint())
    then(kept)
    then(restored)
    return kept.state(), restored.state()


def test_a_mean_difference_checkpoint_continues_exactly_where_it_stopped() -> None:
    def make() -> MeanDifferenceSequence:
        return MeanDifferenceSequence(0.1, 0.3, 35, direction="maximize", min_effect=0.01)

    for first_n in (10, 40):
        kept, restored = _continue(
            make,
            lambda s, n=first_n: s.update(_stream(21, n), _stream(22, n, mean=0.4)),
            lambda s: s.update(_stream(23, 40), _stream(24, 40, mean=0.4)),
            MeanDifferenceSequence.from_checkpoint,
        )
        assert kept == restored
    fresh = MeanDifferenceSequence.from_checkpoint(make().checkpoint()).checkpoint()
    assert fresh["engine"]["low"] is None and fresh["engine"]["high"] is None


def test_a_one_stream_checkpoint_keeps_its_reference_floor_and_note() -> None:
    def make() -> MeanSequence:
        return MeanSequence(
            0.5, 0.1, 0.3, 31, direction="maximize", min_effect=0.02, reference_sd=2.0
        )

    kept, restored = _continue(
        make,
        lambda s: s.update(np.full(31, 1.0)),
        lambda s: s.update(_stream(25, 40, mean=1.0)),
        MeanSequence.from_checkpoint,
    )
    assert kept == restored
    noted = MeanSequence(0.0, min_n=30)
    noted.update(np.full(30, 1.0))
    assert MeanSequence.from_checkpoint(noted.checkpoint()).state().note == (
        "no variation in the data yet"
    )
    looked = MeanSequence(0.0, min_n=30)
    looked.update(_stream(26, 30))
    engine = looked.checkpoint()["engine"]
    assert (engine["low"], engine["high"]) == (looked.low, looked.high)
    again = MeanSequence.from_checkpoint(looked.checkpoint())
    assert (again.low, again.high, again.looks) == (looked.low, looked.high, 1)


def test_a_proportion_checkpoint_continues_exactly_where_it_stopped() -> None:
    def make() -> ProportionDifferenceSequence:
        return ProportionDifferenceSequence(0.1, 0.3, 50, direction="maximize", min_effect=0.01)

    kept, restored = _continue(
        make,
        lambda s: s.update_counts(5, 60, 12, 60),
        lambda s: s.update_counts(6, 60, 15, 60),
        ProportionDifferenceSequence.from_checkpoint,
    )
    assert kept == restored


# --- quantiles --------------------------------------------------------------------------------


def _bounds(data: np.ndarray, quantile: float, alpha: float) -> tuple[float, float]:
    k_lo, k_hi = order_bounds(data.size, quantile, alpha, 1000)
    ordered = np.sort(data)
    low = float(ordered[k_lo - 1]) if k_lo >= 1 else -math.inf
    high = float(ordered[k_hi]) if k_hi < data.size else math.inf
    return low, high


def test_the_quantile_interval_is_the_order_statistics_the_bounds_name() -> None:
    data = np.random.default_rng(27).lognormal(3.0, 0.5, 300)
    for quantile in (0.5, 0.95):
        state = QuantileSequence(quantile, alpha=0.1).update(data)
        low, high = _bounds(data, quantile, 0.1)
        assert (state.low, state.high) == (low, high)
        at = math.ceil(quantile * 300) - 1
        assert state.estimate == float(np.sort(data)[at])
        assert (state.quantile, state.n, state.looks, state.alpha) == (quantile, 300, 1, 0.1)


def test_a_single_observation_is_its_own_quantile_with_unbounded_interval() -> None:
    seq = QuantileSequence(0.95)
    state = seq.update([7.0])
    assert (state.n, state.estimate, state.low, state.high, state.looks) == (1, 7.0, None, None, 1)
    assert seq.update([]).looks == 1
    assert QuantileSequence().values().size == 0
    assert QuantileSequence().state().looks == 0


def test_identical_observations_pin_the_quantile_to_that_value() -> None:
    state = QuantileSequence(0.5).update(np.full(400, 5.0))
    assert (state.low, state.high, state.estimate) == (5.0, 5.0, 5.0)


def test_quantile_sequences_refuse_settings_that_have_no_meaning() -> None:
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match=r"^quantile must be strictly between 0 and 1, got"):
            QuantileSequence(bad)
    assert QuantileSequence(tuned_for=1).tuned_for == 1
    with pytest.raises(ValueError, match=r"^tuned_for must be at least 1, got 0$"):
        QuantileSequence(tuned_for=0)
    with pytest.raises(ValueError, match=r"^observations must be finite$"):
        QuantileSequence().update([1.0, math.inf])


def test_the_ratio_of_p95s_is_judged_against_its_threshold() -> None:
    rng = np.random.default_rng(28)
    fast = rng.lognormal(3.0, 0.3, 2000)
    slow = fast * 2.0
    exceeds = QuantileRatioSequence().update(fast, slow)
    assert exceeds.verdict == "exceeds"
    assert exceeds.ratio == pytest.approx(exceeds.b.estimate / exceeds.a.estimate)
    assert exceeds.ratio_low == pytest.approx(exceeds.b.low / exceeds.a.high)
    assert exceeds.ratio_high == pytest.approx(exceeds.b.high / exceeds.a.low)
    span = (
        f"the p95 ratio B/A is in [{exceeds.ratio_low:.4g}, {exceeds.ratio_high:.4g}] after 2000 "
        "and 2000 observations"
    )
    assert exceeds.reason == f"exceeds: {span}, entirely above the threshold 1.1"
    within = QuantileRatioSequence(threshold=3.0).update(fast, slow)
    assert within.verdict == "within"
    assert within.reason.startswith("within: ") and within.reason.endswith(
        "entirely below the threshold 3"
    )
    unsure = QuantileRatioSequence(threshold=2.0).update(fast, slow)
    assert unsure.verdict == "inconclusive"
    assert unsure.reason.endswith("which reaches across the threshold 2")
    assert (unsure.threshold, unsure.quantile, unsure.min_n, unsure.alpha) == (2.0, 0.95, 20, 0.05)


def test_the_ratio_at_exactly_the_threshold_edge_is_inconclusive() -> None:
    rng = np.random.default_rng(29)
    a, b = rng.lognormal(3.0, 0.3, 2000), rng.lognormal(3.7, 0.3, 2000)
    low = QuantileRatioSequence().update(a, b).ratio_low
    assert QuantileRatioSequence(threshold=low * 0.999).update(a, b).verdict == "exceeds"
    assert QuantileRatioSequence(threshold=low).update(a, b).verdict == "inconclusive"
    high = QuantileRatioSequence(threshold=100.0).update(b, a).ratio_high
    assert QuantileRatioSequence(threshold=high * 1.001).update(b, a).verdict == "within"
    assert QuantileRatioSequence(threshold=high).update(b, a).verdict == "inconclusive"


def test_a_ratio_needs_data_and_min_n_per_stream() -> None:
    seq = QuantileRatioSequence(quantile=0.5, min_n=20)
    assert seq.state().reason == "inconclusive: no data yet"
    assert (seq.state().ratio, seq.state().ratio_low, seq.state().ratio_high) == (None, 0.0, None)
    state = seq.update([1.0] * 5, [])
    assert state.reason == "inconclusive: no data yet"
    state = seq.update([], [2.0] * 19)
    assert state.reason == (
        "inconclusive: 5 and 19 observations, fewer than the 20 per stream a verdict needs"
    )
    assert state.ratio == 2.0
    state = seq.update([1.0] * 15, [2.0])
    assert state.reason == (
        "inconclusive: the p50 ratio B/A is in [0, inf] after 20 and 20 observations, which "
        "reaches across the threshold 1.1"
    )
    bare = QuantileRatioSequence(min_n=1).update([1.0], [2.0])
    assert bare.reason.startswith("inconclusive: the p95 ratio B/A is in [0, inf] after 1 and 1")


def test_ratio_settings_are_kept_and_checked() -> None:
    seq = QuantileRatioSequence(0.9, 0.5, 0.1, 500, 3)
    assert (seq.threshold, seq.alpha, seq.min_n) == (0.5, 0.1, 3)
    assert (seq.a.quantile, seq.a.alpha, seq.a.tuned_for) == (0.9, 0.05, 500)
    assert (seq.b.quantile, seq.b.alpha, seq.b.tuned_for) == (0.9, 0.05, 500)
    assert QuantileRatioSequence().threshold == 1.10
    assert QuantileRatioSequence().a.tuned_for == 1000
    for bad in (0.0, -1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match=r"^threshold must be a positive ratio, got"):
            QuantileRatioSequence(threshold=bad)
    with pytest.raises(ValueError, match=r"^a ratio of quantiles needs positive values$"):
        seq.update([1.0, 0.0], [1.0])
    with pytest.raises(ValueError, match=r"^a ratio of quantiles needs positive values$"):
        seq.update([1.0], [-1.0])


# --- the guards at their edges ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantile", "alpha", "n"),
    [(0.5, 0.05, 29), (0.05, 0.05, 8), (0.5, 0.1, 300), (0.95, 0.1, 300), (0.1, 0.05, 97)],
)
def test_the_quantile_bounds_at_the_first_and_last_order_statistic(
    quantile: float, alpha: float, n: int
) -> None:
    # (0.5, 0.05, 29): k_lo = 1, the minimum; (0.05, 0.05, 8): k_lo = 0, unbounded below
    data = np.random.default_rng(n).lognormal(3.0, 0.5, n)
    state = QuantileSequence(quantile, alpha=alpha).update(data)
    low, high = _bounds(data, quantile, alpha)
    assert (state.low, state.high) == (
        None if math.isinf(low) else low,
        None if math.isinf(high) else high,
    )


def test_every_update_with_data_is_a_look() -> None:
    seq = QuantileSequence(0.5)
    seq.update([1.0, 2.0])
    assert seq.update([3.0]).looks == 2
    assert QuantileSequence().tuned_for == 1000


def test_a_quantile_with_decimals_is_named_with_them() -> None:
    state = QuantileRatioSequence(quantile=0.999, min_n=1).update([1.0], [2.0])
    assert state.reason.startswith("inconclusive: the p99.9 ratio B/A is in [0, inf]")


def test_a_state_carries_the_settings_it_was_judged_with() -> None:
    seq = MeanDifferenceSequence(0.1, 0.3, 31, direction="maximize", min_effect=0.02)
    state = seq.update(_stream(30, 40), _stream(31, 31, mean=0.1))
    assert state.looks == 1  # B holds exactly min_n
    assert (state.method, state.alpha, state.tau, state.min_n, state.min_effect) == (
        "msprt-mean-difference",
        0.1,
        0.3,
        31,
        0.02,
    )
    assert (state.direction, state.reference, state.note) == ("maximize", None, "")
    only_a = MeanDifferenceSequence().update([1.0, 2.0], [])
    assert (only_a.mean_a, only_a.mean_b, only_a.estimate) == (1.5, None, None)


def test_a_look_that_counts_clears_an_earlier_note() -> None:
    seq = MeanSequence(1.0, min_n=30)
    assert seq.update(np.full(30, 2.0)).note == "no variation in the data yet"
    state = seq.update(_stream(32, 30))
    assert (state.looks, state.note) == (1, "")


def test_a_restored_stream_keeps_its_spread() -> None:
    seq = MeanSequence(0.0, min_n=40)
    seq.update(_stream(33, 30))
    again = MeanSequence.from_checkpoint(seq.checkpoint())
    assert again.stream.variance == pytest.approx(seq.stream.variance)
    assert again.stream.variance > 0
