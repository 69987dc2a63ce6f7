"""The operations benchmark runs end to end on small sizes (numbers are not asserted)."""

from __future__ import annotations

import pytest

from bench.operations import PREDICT_ROUNDS, bench_drift, bench_predict, make_frames


def test_frames_have_the_promised_shape_and_shift() -> None:
    reference, current = make_frames(2_000)
    assert reference.shape == current.shape == (2_000, 20)
    assert current["num_0"].mean() - reference["num_0"].mean() > 0.2


@pytest.mark.slow
def test_benchmark_functions_run_on_small_sizes() -> None:
    drift = bench_drift(3_000)
    assert drift["evidently"]["drifted"] == drift["factory"]["drifted"] == 4
    assert drift["time_ratio"] > 0
    predict = bench_predict(2_000)
    assert predict["log_lines"] == 2_000 * PREDICT_ROUNDS
    assert predict["rows_per_s_log_on"] > 0
