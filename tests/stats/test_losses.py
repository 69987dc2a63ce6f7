"""Per-row losses: each metric's loss on rows whose answer is worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.stats import ROW_MEAN_METRICS, metric_value, row_losses


def test_every_required_metric_is_a_row_mean_and_auc_is_not() -> None:
    assert {"mae", "mse", "rmse", "logloss", "brier"} <= set(ROW_MEAN_METRICS)
    assert "MSE" in ROW_MEAN_METRICS["rmse"]
    assert row_losses("auc", [0, 1], [0.2, 0.8]) is None


def test_absolute_and_squared_errors_by_hand() -> None:
    y = [0.0, 1.0, 2.0, -1.0]
    p = [1.0, 1.0, 0.5, 1.0]
    assert list(row_losses("mae", y, p)) == [1.0, 0.0, 1.5, 2.0]  # type: ignore[arg-type]
    assert list(row_losses("mse", y, p)) == [1.0, 0.0, 2.25, 4.0]  # type: ignore[arg-type]
    assert list(row_losses("rmse", y, p)) == [1.0, 0.0, 2.25, 4.0]  # type: ignore[arg-type]


def test_rmse_is_the_square_root_of_the_mean_squared_error() -> None:
    rng = np.random.default_rng(0)
    y, p = rng.normal(size=50), rng.normal(size=50)
    losses = row_losses("rmse", y, p)
    assert losses is not None
    direct = math.sqrt(sum((a - b) ** 2 for a, b in zip(y, p, strict=True)) / 50)
    assert metric_value("rmse", losses) == pytest.approx(direct, rel=1e-12)
    assert metric_value("mse", losses) == pytest.approx(direct**2, rel=1e-12)


def test_log_loss_by_hand_and_clipped_at_1e_15() -> None:
    losses = row_losses("logloss", [1, 0, 1, 0], [0.8, 0.8, 0.0, 1.0])
    assert losses is not None
    assert losses[0] == pytest.approx(-math.log(0.8), rel=1e-12)
    assert losses[1] == pytest.approx(-math.log(0.2), rel=1e-12)
    # A certain and wrong probability costs -log(1e-15), not infinity.
    assert losses[2] == pytest.approx(-math.log(1e-15), rel=1e-9)
    # ... on both sides: 1 - 1e-15 is the clip (1 minus it is 9.99e-16 in floating point).
    assert losses[3] == pytest.approx(-math.log(1.0 - (1.0 - 1e-15)), rel=1e-9)


def test_brier_is_the_squared_error_of_the_probability() -> None:
    losses = row_losses("brier", [1, 0, 1], [0.75, 0.75, 1.0])
    assert list(losses) == [0.0625, 0.5625, 0.0]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("metric", "y", "p", "message"),
    [
        ("mae", [1, 2], [1], "pair row by row"),
        ("mae", [1, math.nan], [1, 2], "finite"),
        ("logloss", [0, 2], [0.5, 0.5], "labels 0 or 1"),
        ("brier", [0, 1], [0.5, 1.5], "probabilities"),
    ],
)
def test_bad_inputs_are_refused_not_scored(
    metric: str, y: list[float], p: list[float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        row_losses(metric, y, p)


def test_metric_value_refuses_a_metric_that_is_not_a_row_mean() -> None:
    with pytest.raises(ValueError, match="not a mean over rows"):
        metric_value("auc", [0.1])
    assert math.isnan(metric_value("mae", []))
