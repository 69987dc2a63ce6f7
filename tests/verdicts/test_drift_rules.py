"""The drift and new-data decision rules on constructed numbers: just above, at and below each
threshold, and every verdict they can give."""

from __future__ import annotations

import pytest

from core.operations.drift import column_drifted, dataset_drifted
from core.operations.newdata import new_data_verdict


def test_a_column_drifts_only_when_its_test_fires_and_its_effect_reaches_the_minimum() -> None:
    assert column_drifted(True, 0.11, 0.1)
    assert column_drifted(True, 0.1, 0.1)
    assert not column_drifted(True, 0.099, 0.1)
    assert not column_drifted(False, 0.9, 0.1)
    assert not column_drifted(True, None, 0.1)
    assert column_drifted(True, 0.0, 0.0)
    assert column_drifted(1, 0.5, 0.1) is True  # type: ignore[arg-type]


def test_the_dataset_drifts_when_the_share_of_drifted_columns_reaches_the_threshold() -> None:
    assert dataset_drifted(2, 4, 0.5) == (0.5, True)
    assert dataset_drifted(1, 1, 0.5) == (1.0, True)
    assert dataset_drifted(3, 4, 0.5) == (0.75, True)
    assert dataset_drifted(1, 4, 0.5) == (0.25, False)
    assert dataset_drifted(1, 3, 0.34) == (pytest.approx(1 / 3), False)
    assert dataset_drifted(0, 4, 0.0) == (0.0, True)


def test_no_counted_column_is_no_drift() -> None:
    assert dataset_drifted(0, 0, 0.5) == (0.0, False)
    assert dataset_drifted(0, 0, 0.0) == (0.0, False)
    assert dataset_drifted(3, -1, 0.5) == (0.0, False)


def test_more_data_helps_only_when_the_retrained_model_is_better() -> None:
    assert new_data_verdict("better", 0.5, 0.1) == "helps"
    assert new_data_verdict("better", None, 0.1) == "helps"


def test_more_data_does_not_help_when_even_the_top_of_the_interval_is_too_small() -> None:
    assert new_data_verdict("inconclusive", 0.05, 0.1) == "does_not_help"
    assert new_data_verdict("inconclusive", 0.1, 0.1) == "does_not_help"
    assert new_data_verdict("worse", -0.3, 0.0) == "does_not_help"
    assert new_data_verdict("inconclusive", 0.1000001, 0.1) == "inconclusive"


def test_without_an_interval_more_data_is_inconclusive() -> None:
    assert new_data_verdict("inconclusive", None, 0.1) == "inconclusive"
    assert new_data_verdict("worse", None, 0.0) == "inconclusive"
