"""DeLong's paired AUC test against a naive O(m n) implementation of its structural
components, on small constructed scores with ties and with one row of a class."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import stats as sps

from core.stats import auc, delong, delong_folds
from core.stats.auc import UNIT
from core.stats.paired import CONSTANT, IDENTICAL
from tests.verdicts.golden import assert_matches


def _components(y: list[float], score: list[float]) -> tuple[float, np.ndarray, np.ndarray]:
    """(AUC, V10 per positive, V01 per negative) straight from the definition."""
    pos = [s for s, t in zip(score, y, strict=True) if t == 1]
    neg = [s for s, t in zip(score, y, strict=True) if t == 0]

    def psi(x: float, z: float) -> float:
        return 1.0 if x > z else 0.5 if x == z else 0.0

    v10 = np.asarray([np.mean([psi(x, z) for z in neg]) for x in pos])
    v01 = np.asarray([np.mean([psi(x, z) for x in pos]) for z in neg])
    return float(v10.mean()), v10, v01


def _variance(y: list[float], a: list[float], b: list[float]) -> tuple[float, float, float]:
    auc_a, v10_a, v01_a = _components(y, a)
    auc_b, v10_b, v01_b = _components(y, b)
    m, n = v10_a.size, v01_a.size
    var10 = float(np.var(v10_b - v10_a, ddof=1)) if m > 1 else 0.0
    var01 = float(np.var(v01_b - v01_a, ddof=1)) if n > 1 else 0.0
    return auc_a, auc_b, var10 / m + var01 / n


def _expected(
    y: list[float], a: list[float], b: list[float], alpha: float = 0.05
) -> dict[str, Any]:
    auc_a, auc_b, variance = _variance(y, a, b)
    delta, se = auc_b - auc_a, math.sqrt(variance)
    z = float(sps.norm.ppf(1 - alpha / 2))
    positives = int(sum(y))
    return {
        "method": "delong",
        "n": min(positives, len(y) - positives),
        "rows": len(y),
        "mean": delta,
        "se": se,
        "statistic": delta / se,
        "p_value": float(2 * sps.norm.sf(abs(delta / se))),
        "df": None,
        "lag": None,
        "low": delta - z * se,
        "high": delta + z * se,
        "alpha": alpha,
        "unit": UNIT,
        "correction": None,
        "value_a": auc_a,
        "value_b": auc_b,
        "folds": None,
        "skipped": 0,
        "note": "",
    }


Y = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0]
A = [0.9, 0.2, 0.4, 0.4, 0.1, 0.3, 0.6, 0.8, 0.3]
B = [0.7, 0.1, 0.8, 0.3, 0.2, 0.6, 0.5, 0.9, 0.2]


def test_delong_matches_the_structural_components_with_ties() -> None:
    assert_matches(delong(Y, A, B), _expected(Y, A, B))
    assert_matches(delong(Y, A, B, alpha=0.2), _expected(Y, A, B, alpha=0.2))


def test_the_auc_counts_a_tie_between_classes_one_half() -> None:
    assert auc([1, 0], [0.5, 0.5]) == 0.5
    assert auc(Y, A) == pytest.approx(_components(Y, A)[0])
    assert math.isnan(auc([1, 1], [0.2, 0.3]))
    assert math.isnan(auc([0, 0], [0.2, 0.3]))


@pytest.mark.parametrize(
    ("y", "a", "b"),
    [
        ([1.0, 0.0, 0.0, 0.0], [0.5, 0.6, 0.1, 0.2], [0.9, 0.6, 0.1, 0.7]),  # one positive
        ([0.0, 1.0, 1.0, 1.0], [0.5, 0.6, 0.1, 0.2], [0.1, 0.6, 0.9, 0.7]),  # one negative
        ([1.0, 1.0, 0.0, 0.0, 0.0], [0.9, 0.2, 0.4, 0.1, 0.3], [0.5, 0.8, 0.6, 0.1, 0.3]),
        ([0.0, 0.0, 1.0, 1.0, 1.0], [0.9, 0.2, 0.4, 0.1, 0.3], [0.5, 0.8, 0.6, 0.1, 0.3]),
    ],
)
def test_a_class_of_one_or_two_rows_still_gives_the_delong_variance(
    y: list[float], a: list[float], b: list[float]
) -> None:
    assert_matches(delong(y, a, b), _expected(y, a, b))


def test_one_class_only_gives_no_test() -> None:
    assert_matches(
        delong([1.0, 1.0, 1.0], [0.1, 0.2, 0.3], [0.3, 0.2, 0.1], alpha=0.1),
        {
            "method": "delong",
            "n": 0,
            "rows": 3,
            "mean": None,
            "se": None,
            "statistic": None,
            "p_value": None,
            "df": None,
            "lag": None,
            "low": None,
            "high": None,
            "alpha": 0.1,
            "unit": UNIT,
            "correction": None,
            "value_a": None,
            "value_b": None,
            "folds": None,
            "skipped": 0,
            "note": "one class only: AUC needs positives and negatives",
        },
    )


def test_the_same_scores_twice_are_identical_and_a_constant_gap_is_certain() -> None:
    same = delong(Y, A, A, alpha=0.1)
    assert_matches(
        same,
        {
            "method": "delong",
            "n": 4,
            "rows": 9,
            "mean": 0.0,
            "se": 0.0,
            "statistic": None,
            "p_value": 1.0,
            "df": None,
            "lag": None,
            "low": 0.0,
            "high": 0.0,
            "alpha": 0.1,
            "unit": UNIT,
            "correction": None,
            "value_a": auc(Y, A),
            "value_b": auc(Y, A),
            "folds": None,
            "skipped": 0,
            "note": IDENTICAL,
        },
    )
    perfect = [1.0 if t else 0.0 for t in Y]
    flipped = [0.0 if t else 1.0 for t in Y]
    certain = delong(Y, flipped, perfect)
    assert (certain.mean, certain.low, certain.high, certain.note) == (1.0, 1.0, 1.0, CONSTANT)


def test_over_folds_the_deltas_are_averaged_and_the_variances_summed_over_k_squared() -> None:
    y = Y + Y + [1.0, 1.0]
    a = A + B + [0.1, 0.2]
    b = B + A + [0.3, 0.4]
    folds = [0] * 9 + [1] * 9 + [2, 2]  # fold 2 holds positives only
    first = _variance(Y, A, B)
    second = _variance(Y, B, A)
    delta = ((first[1] - first[0]) + (second[1] - second[0])) / 2
    se = math.sqrt((first[2] + second[2]) / 4)
    z = float(sps.norm.ppf(0.95))
    assert_matches(
        delong_folds(y, a, b, folds, alpha=0.1),
        {
            "method": "delong-folds",
            "n": 8,
            "rows": 18,
            "mean": delta,
            "se": se,
            "statistic": delta / se,
            "p_value": float(2 * sps.norm.sf(abs(delta / se))),
            "df": None,
            "lag": None,
            "low": delta - z * se,
            "high": delta + z * se,
            "alpha": 0.1,
            "unit": UNIT,
            "correction": None,
            "value_a": (first[0] + second[0]) / 2,
            "value_b": (first[1] + second[1]) / 2,
            "folds": 2,
            "skipped": 1,
            "note": "",
        },
    )


def test_folds_with_the_same_scores_are_identical_and_keep_their_fold_counts() -> None:
    same = delong_folds([*Y, 1.0], [*A, 0.5], [*A, 0.5], [0] * 9 + [1])
    assert (same.note, same.folds, same.skipped, same.value_a) == (IDENTICAL, 1, 1, auc(Y, A))


def test_folds_that_all_hold_one_class_give_no_test() -> None:
    assert_matches(
        delong_folds([1.0, 0.0], [0.1, 0.2], [0.3, 0.4], [0, 1], alpha=0.1),
        {
            "method": "delong-folds",
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
            "alpha": 0.1,
            "unit": UNIT,
            "correction": None,
            "value_a": None,
            "value_b": None,
            "folds": 0,
            "skipped": 2,
            "note": "every fold holds one class only: no AUC to compare",
        },
    )


def test_delong_refuses_what_it_cannot_score() -> None:
    with pytest.raises(ValueError, match=r"^AUC needs labels 0 or 1$"):
        delong([2.0, 0.0], [0.1, 0.2], [0.1, 0.2])
    with pytest.raises(ValueError, match=r"^AUC needs labels 0 or 1$"):
        auc([math.nan, 0.0], [0.1, 0.2])
    with pytest.raises(ValueError, match=r"^1 scores for A but 2 labels$"):
        delong([1.0, 0.0], [0.1], [0.1, 0.2])
    with pytest.raises(ValueError, match=r"^1 scores for B but 2 labels$"):
        delong_folds([1.0, 0.0], [0.1, 0.2], [0.1], [0, 0])
    with pytest.raises(ValueError, match=r"^1 scores for A but 2 labels$"):
        delong_folds([1.0, 0.0], [0.1], [0.1, 0.2], [0, 0])
    with pytest.raises(ValueError, match=r"^scores of B must be finite$"):
        delong([1.0, 0.0], [0.1, 0.2], [0.1, math.inf])
    with pytest.raises(ValueError, match=r"^1 scores for the score but 2 labels$"):
        auc([1.0, 0.0], [0.1])
    with pytest.raises(ValueError, match=r"^scores of the score must be finite$"):
        auc([1.0, 0.0], [0.1, math.nan])
    with pytest.raises(ValueError, match=r"^1 fold labels for 2 rows$"):
        delong_folds([1.0, 0.0], [0.1, 0.2], [0.1, 0.2], [0])
    with pytest.raises(ValueError, match="alpha"):
        delong_folds([1.0, 0.0], [0.1, 0.2], [0.1, 0.2], [0, 0], alpha=1.0)
