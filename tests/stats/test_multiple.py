"""Benjamini-Hochberg against statsmodels and against the step-up rule's definition."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.stats import benjamini_hochberg

# statsmodels 0.15.0: multipletests(P, alpha=0.05, method="fdr_bh"), computed once.
P = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216, 0.222, 0.251,
     0.269, 0.275, 0.34, 0.341, 0.384, 0.569, 0.594, 0.696, 0.762, 0.94, 0.942, 0.975, 0.986]  # fmt: skip
STATSMODELS_ADJUSTED = [
    0.025, 0.1, 0.21, 0.21, 0.21, 0.25, 0.26428571428571423, 0.49107142857142855,
    0.49107142857142855, 0.49107142857142855, 0.49107142857142855, 0.49107142857142855,
    0.49107142857142855, 0.49107142857142855, 0.5328125, 0.5328125, 0.5647058823529412,
    0.781578947368421, 0.781578947368421, 0.8699999999999999, 0.9071428571428571, 0.986,
    0.986, 0.986, 0.986,
]  # fmt: skip


def test_matches_statsmodels_fdr_bh() -> None:
    rejected, adjusted = benjamini_hochberg(P, 0.05)
    assert adjusted == pytest.approx(STATSMODELS_ADJUSTED, rel=1e-12)
    assert rejected == [True] + [False] * 24


def _step_up(p: list[float], q: float) -> set[int]:
    """Reject the k smallest, for the largest k with p_(k) <= k q / m (the definition)."""
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    k = max((r for r in range(1, m + 1) if p[order[r - 1]] <= r * q / m), default=0)
    return set(order[:k])


@pytest.mark.parametrize("seed", range(20))
def test_rejections_are_the_step_up_rule(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 40))
    # A mix of true effects (tiny p) and nulls (uniform p).
    p = [float(v) for v in np.where(rng.uniform(size=m) < 0.3, rng.uniform(0, 0.01, m),
                                    rng.uniform(size=m))]  # fmt: skip
    q = float(rng.choice([0.01, 0.05, 0.1, 0.2]))
    rejected, adjusted = benjamini_hochberg(p, q)
    assert {i for i, r in enumerate(rejected) if r} == _step_up(p, q)
    pairs = sorted(zip(p, adjusted, strict=True))
    assert all(a is not None and raw <= a * (1 + 1e-12) and a <= 1.0 for raw, a in pairs)
    values = [a for _, a in pairs]
    assert values == sorted(values)  # type: ignore[type-var]  # monotone in the raw p


def test_a_p_value_exactly_at_its_step_up_threshold_is_rejected() -> None:
    # p_(k) <= k q / m: 0.05 <= 2 * 0.05 / 2 is rejected, and so is everything below it.
    assert benjamini_hochberg([0.05, 0.01], 0.05) == ([True, True], [0.05, 0.02])
    assert benjamini_hochberg([0.0500001, 0.01], 0.05)[0] == [False, True]


def test_adjusted_values_are_capped_at_one() -> None:
    _, adjusted = benjamini_hochberg([0.9, 0.95, 1.0], 0.05)
    assert adjusted == [1.0, 1.0, 1.0]


def test_missing_p_values_are_passed_through_and_not_counted() -> None:
    # m = 2 valid tests: 0.04 adjusts to 2 * 0.04 / 2 = 0.04, rejected at 0.05. Counting the
    # missing ones (m = 4) would give 0.08, not rejected.
    rejected, adjusted = benjamini_hochberg([0.01, None, 0.04, math.nan], 0.05)
    assert rejected == [True, False, True, False]
    assert adjusted[0] == pytest.approx(0.02) and adjusted[2] == pytest.approx(0.04)
    assert adjusted[1] is None and adjusted[3] is None
    assert benjamini_hochberg([], 0.05) == ([], [])


def test_bad_p_values_and_levels_are_refused() -> None:
    with pytest.raises(ValueError, match="p-values"):
        benjamini_hochberg([0.1, 1.2], 0.05)
    with pytest.raises(ValueError, match="q must"):
        benjamini_hochberg([0.1], 0.0)
