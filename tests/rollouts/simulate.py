"""The rollout decision rule on simulated traffic: how often it is wrong, and how soon it is
right (the figures in adrs/0027-rollouts.md). Not a test (it takes minutes); run

    .venv/bin/python -m tests.rollouts.simulate [--seeds 1000]

Each scenario runs the machine (`Analyser` + `decide_action`, the A/B defaults of
`RolloutSpec`: alpha 0.05 split over 3 criteria, failure limit 0, min 100 requests per arm)
over `LOOKS` analyses of `N` requests per arm, and counts how the rollouts end. Latency is
lognormal (median 20 ms, sigma 0.4), CPU time gamma (shape 4), errors Bernoulli. For
contrast, `peeked t` aborts as soon as a Welch t-test at 5% on the latencies says the
challenger is slower at any look: the fixed-sample test checked again and again.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import replace
from typing import Any

import numpy as np

from core.operations.rollouts.decide import Analyser, ArmObservations, Counters, decide_action
from core.operations.rollouts.spec import RolloutSpec

SPEC = RolloutSpec(model="m", stable="a", challenger="b", mode="ab", steps=(0.5,))
LOOKS = 30
N = 100


def _arm(rng: np.random.Generator, n: int, slow: float, err: float, cpu: float) -> ArmObservations:
    return ArmObservations.of(
        rng.lognormal(math.log(20.0), 0.4, n) * slow,
        rng.random(n) < err,
        rng.gamma(4.0, 0.5 * cpu, n),
    )


def run_one(
    spec: RolloutSpec, seed: int, challenger: dict[str, float], err: float
) -> tuple[str, int, bool]:
    """(how it ended: abort, promote, pause or none; requests per arm then; peeked-t abort)."""
    from scipy import stats

    rng = np.random.default_rng(seed)
    analyser, counters, peeked = Analyser(spec), Counters(), False
    lat_a: list[Any] = []
    lat_b: list[Any] = []
    for look in range(1, LOOKS + 1):
        a = _arm(rng, N, 1.0, err, 1.0)
        b = _arm(
            rng, N, challenger.get("slow", 1.0), err + challenger.get("err", 0.0),
            challenger.get("cpu", 1.0),
        )  # fmt: skip
        lat_a.append(a.latency_ms)
        lat_b.append(b.latency_ms)
        t = stats.ttest_ind(np.concatenate(lat_b), np.concatenate(lat_a), equal_var=False)
        peeked = peeked or bool(t.statistic > 0 and t.pvalue < 0.05)
        analysis = analyser.look(a, b)
        action = decide_action(
            spec, paused=False, step=0, counters=counters, overall=analysis.overall,
            reason=analysis.reason, step_requests=(N, N),
        )  # fmt: skip
        counters = action.counters
        if action.action in ("abort", "promote", "pause"):
            return action.action, look * N, peeked
    return "none", LOOKS * N, peeked


SCENARIOS: list[tuple[str, dict[str, float], float, RolloutSpec]] = [
    ("A/A (no errors)", {}, 0.0, SPEC),
    ("A/A (2% errors in both arms)", {}, 0.02, SPEC),
    ("p95 exactly at the budget (x1.10)", {"slow": 1.10}, 0.0, SPEC),
    ("CPU exactly at the budget (x1.10)", {"cpu": 1.10}, 0.0, SPEC),
    ("slower x1.25", {"slow": 1.25}, 0.0, SPEC),
    ("slower x1.5", {"slow": 1.5}, 0.0, SPEC),
    ("errors +3 points", {"err": 0.03}, 0.0, SPEC),
    ("costlier x1.5", {"cpu": 1.5}, 0.0, SPEC),
    ("better: x0.8 latency and CPU", {"slow": 0.8, "cpu": 0.8}, 0.0, SPEC),
    (
        "better, margin 2 points",
        {"slow": 0.8, "cpu": 0.8},
        0.0,
        replace(SPEC, error_rate_margin=0.02),
    ),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=1000)
    seeds = parser.parse_args().seeds
    print(f"{LOOKS} looks of {N} requests per arm, {seeds} seeds per scenario")
    print(f"{'scenario':38} {'abort':>7} {'promote':>8} {'pause':>6} {'none':>6} "
          f"{'median n/arm':>13} {'peeked t':>9}")  # fmt: skip
    for name, challenger, err, spec in SCENARIOS:
        ends = [run_one(spec, seed, challenger, err) for seed in range(seeds)]
        share = {
            k: sum(e[0] == k for e in ends) / seeds for k in ("abort", "promote", "pause", "none")
        }
        decided = [n for end, n, _ in ends if end in ("abort", "promote")]
        median = f"{int(np.median(decided))}" if decided else "-"
        peeked = sum(e[2] for e in ends) / seeds
        print(
            f"{name:38} {share['abort']:7.1%} {share['promote']:8.1%} {share['pause']:6.1%} "
            f"{share['none']:6.1%} {median:>13} {peeked:9.1%}",
            flush=True,
        )


if __name__ == "__main__":
    main()
