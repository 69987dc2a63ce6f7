"""`factory live`: its numbers against a hand computation, and the CBPE estimate against
what a constructed classifier stream realises."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    """Mann-Whitney by hand: the share of positive-negative pairs ordered right (ties 1/2)."""
    pos, neg = p[y == 1], p[y == 0]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(wins / (pos.size * neg.size))


def test_live_numbers_match_a_hand_computation(fb: dict[str, Any]) -> None:
    assert fb["run"]("feedback", "join", "rain").code == 0
    done = fb["run"]("live", "rain")
    assert done.code == 0, done.stdout + done.stderr
    [run] = done.doc["data"]["runs"]
    lines = [
        json.loads(line)
        for path in sorted((fb["root"] / "logs" / "outcomes").rglob("*.jsonl"))
        for line in path.read_text().splitlines()[1:]
    ]
    y = np.array([o["label"] for o in lines])
    p = np.array([o["prediction"] for o in lines])
    assert (run["run_id"], run["tier"], run["modes"]) == (fb["run_a"], "dev", ["batch"])
    assert (run["logged"], run["labelled"], run["pending"]) == (184, 90, 94)
    assert run["coverage"] == pytest.approx(90 / 184)
    assert run["metric"] == "auc"
    assert run["value"] == pytest.approx(_auc(y, p), abs=1e-12)
    low, high = run["interval"]
    assert low < run["value"] < high
    report = json.loads((fb["root"] / "reports" / f"{fb['run_a']}.json").read_text())
    folds = [f["metrics"]["auc"] for f in report["folds"]]
    assert run["backtest"]["min"] == pytest.approx(min(folds))
    assert run["backtest"]["max"] == pytest.approx(max(folds))
    inside = min(folds) <= run["value"] <= max(folds)
    assert run["position"] == (
        "within_range" if inside else "below_range" if run["value"] < min(folds) else "above_range"
    )
    assert set(run["baselines"]) >= {"prior", "persistence"}
    # The estimate for the 94 predictions without an outcome: CBPE's expected log loss is
    # the mean binary entropy of their probabilities.
    labelled = {o["request_id"] for o in lines}
    import pandas as pd

    scored = pd.read_csv(fb["predictions"], dtype={"request_id": str})
    rest = scored.loc[~scored["request_id"].isin(labelled), "prediction"].to_numpy()
    entropy = -(rest * np.log(rest) + (1 - rest) * np.log(1 - rest)).mean()
    estimate = run["estimate"]
    assert estimate["n"] == 94
    assert estimate["expected"]["logloss"] == pytest.approx(entropy)
    assert estimate["expected"]["brier"] == pytest.approx((rest * (1 - rest)).mean())
    assert any("calibrated" in a for a in estimate["assumptions"])


def test_cbpe_estimates_a_calibrated_stream_and_flags_a_miscalibrated_one() -> None:
    """A constructed classifier stream: 4,000 calibrated probabilities and labels drawn from
    them. CBPE's expected auc, log loss and Brier score land on the realised ones; on
    labels drawn from p**2 (overconfident predictions) the calibration check says so."""
    from core.stats.live import calibration_gap, expected_classification, metric_interval
    from core.stats.losses import row_losses

    rng = np.random.default_rng(13)
    p = rng.beta(2.0, 5.0, 4000)
    y = (rng.random(p.size) < p).astype(float)
    expected = expected_classification(p)
    realised = {
        "auc": _auc(y, p),
        "logloss": float(row_losses("logloss", y, p).mean()),
        "brier": float(((p - y) ** 2).mean()),
    }
    for name, value in realised.items():
        low, high = metric_interval(name, y, p)
        assert low <= expected[name] <= high, (name, expected[name], value, low, high)
    assert abs(expected["auc"] - realised["auc"]) < 0.02
    assert abs(expected["logloss"] - realised["logloss"]) < 0.02
    assert calibration_gap(y, p)["calibrated"] is True
    skewed = (rng.random(p.size) < p**2).astype(float)
    gap = calibration_gap(skewed, p)
    assert gap["calibrated"] is False and gap["gap"] > 0.05
    # The estimate is a different number from a wrong model's realised auc: CBPE is not
    # reading the labels.
    assert not math.isclose(expected["auc"], _auc(skewed, p), abs_tol=0.01)
