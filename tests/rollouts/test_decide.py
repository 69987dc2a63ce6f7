"""The rollout's decision rules on constructed inputs with known answers (pure, fast)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from core.operations.rollouts.decide import (
    Analyser,
    ArmObservations,
    Counters,
    combine,
    decide_action,
    replay,
)
from core.operations.rollouts.spec import RolloutSpec

SPEC = RolloutSpec(model="m", stable="r-a", challenger="r-b", mode="ab", steps=(0.5,))


def arm(
    rng: np.random.Generator,
    n: int,
    *,
    slow: float = 1.0,
    err: float = 0.0,
    cpu: float = 1.0,
    loss: float | None = None,
) -> ArmObservations:
    latency = rng.lognormal(np.log(20.0), 0.4, n) * slow
    return ArmObservations.of(
        latency,
        rng.random(n) < err,
        rng.gamma(4.0, 0.5 * cpu, n),
        None if loss is None else rng.exponential(loss, n),
    )


def simulate(
    spec: RolloutSpec,
    seed: int,
    *,
    looks: int = 20,
    n: int = 100,
    err: float = 0.0,
    **challenger: Any,
) -> tuple[str, int, Any]:
    """Run the machine over `looks` intervals of `n` requests per arm, both arms failing
    at rate `err`: (what ended it or `none`, the look, the last analysis)."""
    rng = np.random.default_rng(seed)
    analyser = Analyser(spec)
    counters, step, analysis = Counters(), 0, None
    for look in range(1, looks + 1):
        analysis = analyser.look(arm(rng, n, err=err), arm(rng, n, err=err, **challenger))
        action = decide_action(
            spec, paused=False, step=step, counters=counters, overall=analysis.overall,
            reason=analysis.reason, step_requests=(n, n),
        )  # fmt: skip
        counters, step = action.counters, action.step
        if action.action in ("abort", "promote", "pause"):
            return action.action, look, analysis
    return "none", looks, analysis


def verdicts(analysis: Any) -> dict[str, str]:
    return {c.name: c.verdict for c in analysis.criteria}


def test_a_slower_challenger_is_aborted_by_latency_within_its_failure_limit() -> None:
    spec = replace(SPEC, failure_limit=1)
    for seed in range(10):
        rng = np.random.default_rng(seed)
        analyser, counters, failed_looks = Analyser(spec), Counters(), []
        for look in range(1, 31):
            # Same CPU time and errors: only the latency differs (x1.5).
            analysis = analyser.look(arm(rng, 100), arm(rng, 100, slow=1.5))
            action = decide_action(
                spec, paused=False, step=0, counters=counters, overall=analysis.overall,
                reason=analysis.reason, step_requests=(100, 100),
            )  # fmt: skip
            counters = action.counters
            if analysis.overall == "fail":
                failed_looks.append(look)
                assert verdicts(analysis)["latency_p95_ratio"] == "fail"
                assert "latency_p95_ratio" in analysis.reason
            if action.action == "abort":
                break
        assert action.action == "abort", seed
        # Aborted on the failure after the tolerated one, not before, not later.
        assert len(failed_looks) == spec.failure_limit + 1
        assert failed_looks == list(range(failed_looks[0], failed_looks[0] + 2))
        assert look <= 10


def test_an_a_a_rollout_is_wrongly_aborted_in_at_most_5_percent_of_300_seeds() -> None:
    # Small arms, many looks: the place where a peeked fixed-sample test aborts often.
    ended = [simulate(SPEC, seed, looks=15, n=60, err=0.02)[0] for seed in range(300)]
    assert ended.count("abort") / len(ended) <= 0.05
    assert ended.count("abort") <= 3  # in fact almost never: the margins hold the truth


def test_a_challenger_right_at_the_latency_budget_rarely_passes_it() -> None:
    # True p95 ratio 1.10 exactly: "within" would be a wrong pass.
    passed = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        analyser = Analyser(SPEC)
        for _ in range(10):
            analysis = analyser.look(arm(rng, 150), arm(rng, 150, slow=1.10))
        passed += verdicts(analysis)["latency_p95_ratio"] == "pass"
    assert passed / 200 <= 0.05


def test_a_challenger_with_a_known_good_effect_is_promoted() -> None:
    # 20% faster, 20% cheaper, no errors in either arm.
    for seed in range(6):
        ended, _, analysis = simulate(SPEC, seed, looks=60, n=300, slow=0.8, cpu=0.8)
        assert ended == "promote", (seed, [c.reason for c in analysis.criteria])
        assert set(verdicts(analysis).values()) == {"pass"}


def test_three_requests_are_inconclusive_even_when_they_look_terrible() -> None:
    analysis = Analyser(SPEC).look(
        ArmObservations.of([10.0, 11.0, 12.0]),
        ArmObservations.of([900.0, 950.0, 1000.0], [True, True, True], [50.0, 50.0, 50.0]),
    )
    assert analysis.overall == "inconclusive"
    assert set(verdicts(analysis).values()) == {"inconclusive"}
    assert all("fewer than the 100 per arm" in c.reason for c in analysis.criteria)


def test_no_data_is_inconclusive_never_a_pass() -> None:
    analysis = Analyser(SPEC).look(ArmObservations.empty(), ArmObservations.empty())
    assert analysis.overall == "inconclusive"
    assert all(c.verdict == "inconclusive" and "no requests" in c.reason for c in analysis.criteria)
    assert combine([], 0, 0).overall == "inconclusive"


def test_the_minimum_requests_guard_holds_until_both_arms_have_enough() -> None:
    rng = np.random.default_rng(3)
    spec = replace(SPEC, min_requests=500)
    analyser = Analyser(spec)
    # A plainly slower challenger, but only 400 requests each: no verdict yet.
    first = analyser.look(arm(rng, 400), arm(rng, 400, slow=3.0))
    assert first.overall == "inconclusive"
    later = analyser.look(arm(rng, 200), arm(rng, 200, slow=3.0))
    assert later.overall == "fail" and verdicts(later)["latency_p95_ratio"] == "fail"


def test_a_challenger_that_fails_requests_fails_the_error_rate() -> None:
    rng = np.random.default_rng(5)
    analyser = Analyser(SPEC)
    for _ in range(5):
        analysis = analyser.look(arm(rng, 200), arm(rng, 200, err=0.2))
    criterion = next(c for c in analysis.criteria if c.name == "error_rate_difference")
    assert criterion.verdict == "fail" and criterion.interval[0] > SPEC.error_rate_margin
    assert criterion.challenger is not None and criterion.challenger > 0.1


def test_a_challenger_twice_as_costly_fails_the_cost_ratio() -> None:
    rng = np.random.default_rng(6)
    analyser = Analyser(SPEC)
    for _ in range(5):
        analysis = analyser.look(arm(rng, 200), arm(rng, 200, cpu=2.0))
    criterion = next(c for c in analysis.criteria if c.name == "cost_per_1000_ratio")
    assert criterion.verdict == "fail" and criterion.interval[0] > 1.10
    assert criterion.value == pytest.approx(2.0, rel=0.15)
    assert criterion.stable is not None and criterion.challenger is not None
    assert verdicts(analysis)["latency_p95_ratio"] != "fail"


def test_no_cpu_time_logged_leaves_cost_inconclusive() -> None:
    rng = np.random.default_rng(7)
    a = ArmObservations.of(rng.lognormal(3, 0.3, 300))
    b = ArmObservations.of(rng.lognormal(3, 0.3, 300))
    analysis = Analyser(SPEC).look(a, b)
    assert verdicts(analysis)["cost_per_1000_ratio"] == "inconclusive"
    assert analysis.overall != "pass"


def test_quality_is_a_hook_inconclusive_without_outcomes() -> None:
    rng = np.random.default_rng(8)
    on = replace(SPEC, quality="on")
    analysis = Analyser(on).look(arm(rng, 200), arm(rng, 200))
    quality = next(c for c in analysis.criteria if c.name == "quality")
    assert quality.verdict == "inconclusive" and "no outcomes" in quality.reason
    assert not quality.required
    assert Analyser(on).alpha_each == pytest.approx(0.05 / 4)
    # Required, it blocks a promotion: the rest passes, the rollout waits until its
    # inconclusive limit, then pauses (and a person decides).
    required = replace(SPEC, quality="required")
    ended, look, last = simulate(required, 0, looks=40, n=300, slow=0.8, cpu=0.8)
    assert ended == "pause" and look == required.inconclusive_limit + 1
    assert verdicts(last)["quality"] == "inconclusive"
    assert {v for k, v in verdicts(last).items() if k != "quality"} == {"pass"}


def test_quality_once_outcomes_join_fails_a_worse_challenger() -> None:
    rng = np.random.default_rng(9)
    analyser = Analyser(replace(SPEC, quality="on"))
    for _ in range(6):
        analysis = analyser.look(arm(rng, 300, loss=1.0), arm(rng, 300, loss=1.5))
    assert verdicts(analysis)["quality"] == "fail" and analysis.overall == "fail"


def test_replay_is_the_same_as_looking_interval_by_interval() -> None:
    rng = np.random.default_rng(10)
    looks = [(arm(rng, 80), arm(rng, 80, slow=1.2)) for _ in range(6)]
    analyser = Analyser(SPEC)
    one_by_one = [analyser.look(a, b).to_dict() for a, b in looks]
    assert [a.to_dict() for a in replay(SPEC, looks)] == one_by_one


# ------------------------------------------------------------------------ the machine


def act(spec: RolloutSpec, overall: str | None, **kwargs: Any) -> Any:
    options: dict[str, Any] = {
        "paused": False, "step": 0, "counters": Counters(), "reason": "r",
        "step_requests": (0, 0),
    }  # fmt: skip
    options.update(kwargs)
    return decide_action(spec, overall=overall, **options)


CANARY = replace(SPEC, mode="canary", steps=(0.05, 0.25, 0.5))


def test_failures_are_tolerated_up_to_the_failure_limit_then_abort() -> None:
    spec = replace(SPEC, failure_limit=2)
    assert act(spec, "fail", counters=Counters(failures=1)).action == "continue"
    done = act(spec, "fail", counters=Counters(failures=2))
    assert done.action == "abort" and done.counters.failures == 3
    assert act(replace(SPEC, failure_limit=0), "fail").action == "abort"
    # Paused or not, a failing challenger is never left serving.
    assert act(replace(SPEC, failure_limit=0), "fail", paused=True).action == "abort"


def test_inconclusive_beyond_its_limit_pauses() -> None:
    spec = replace(SPEC, inconclusive_limit=3)
    assert act(spec, "inconclusive", counters=Counters(inconclusive=2)).action == "continue"
    paused = act(spec, "inconclusive", counters=Counters(inconclusive=3))
    assert paused.action == "pause" and "inconclusive limit 3" in paused.reason
    assert (
        act(spec, "inconclusive", paused=True, counters=Counters(inconclusive=9)).action == "hold"
    )


def test_analysis_errors_in_a_row_beyond_the_limit_abort() -> None:
    spec = replace(SPEC, consecutive_error_limit=2)
    assert act(spec, None, counters=Counters(consecutive_errors=1)).action == "continue"
    assert act(spec, None, counters=Counters(consecutive_errors=2)).action == "abort"
    # A computed analysis resets the streak.
    assert (
        act(
            spec, "inconclusive", counters=Counters(consecutive_errors=2)
        ).counters.consecutive_errors
        == 0
    )


def test_a_canary_advances_on_a_pass_and_promotes_only_after_its_last_step() -> None:
    assert act(CANARY, "pass", step=0).action == "advance"
    assert act(CANARY, "pass", step=0).step == 1
    assert act(CANARY, "pass", step=2).action == "promote"
    assert act(SPEC, "pass").action == "promote"  # A/B
    assert act(replace(SPEC, mode="shadow", steps=()), "pass").action == "pass"
    assert act(CANARY, "pass", step=2, paused=True).action == "hold"


def test_a_canary_moves_on_while_inconclusive_only_with_enough_requests_at_its_step() -> None:
    assert act(CANARY, "inconclusive", step=0, step_requests=(100, 99)).action == "continue"
    moved = act(CANARY, "inconclusive", step=0, step_requests=(1900, 100))
    assert moved.action == "advance" and moved.step == 1
    # At its last step an inconclusive canary waits; only a pass promotes.
    assert act(CANARY, "inconclusive", step=2, step_requests=(10**6, 10**6)).action == "continue"


# --------------------------------------------------------------------------- the spec


def test_the_same_spec_is_the_same_rollout() -> None:
    assert SPEC.rollout_id == replace(SPEC).rollout_id
    assert SPEC.rollout_id != replace(SPEC, attempt=2).rollout_id
    assert SPEC.rollout_id != replace(SPEC, latency_ratio_max=1.2).rollout_id
    assert RolloutSpec.from_dict(SPEC.to_dict()) == SPEC


@pytest.mark.parametrize(
    "change",
    [
        {"mode": "blue-green"},
        {"steps": (0.5, 0.25)},
        {"steps": (0.0,)},
        {"mode": "shadow"},
        {"steps": (0.2, 0.5)},
        {"alpha": 0.0},
        {"error_rate_margin": 0.0},
        {"challenger": "r-a"},
        {"quality": "maybe"},
    ],
)
def test_a_spec_that_cannot_work_is_refused(change: dict[str, Any]) -> None:
    from core.foundation.errors import FactoryError
    from core.operations.rollouts.spec import validate

    with pytest.raises(FactoryError) as caught:
        validate(replace(SPEC, **change))
    assert caught.value.code == "usage"


def test_intervals_and_steps_parse() -> None:
    from core.foundation.errors import FactoryError
    from core.operations.rollouts.spec import parse_interval, parse_steps

    assert parse_interval("5m") == 300 and parse_interval("30s") == 30
    assert parse_interval("1h") == 3600 and parse_interval(90) == 90
    assert parse_steps("5,25,50") == (0.05, 0.25, 0.5)
    assert parse_steps("0.1,0.5") == (0.1, 0.5)
    with pytest.raises(FactoryError):
        parse_interval("soon")
    with pytest.raises(FactoryError):
        parse_interval("0s")


@pytest.mark.parametrize(
    ("low", "high", "verdict"),
    [
        (1.2, 1.5, "fail"),  # entirely above the budget
        (0.8, 1.05, "pass"),  # entirely below it
        (0.9, 1.6, "inconclusive"),  # across it: too little data to tell
        (1.05, 1.2, "inconclusive"),
        (None, None, "inconclusive"),  # no interval yet
    ],
)
def test_an_interval_passes_only_when_all_of_it_is_within_the_budget(
    low: float | None, high: float | None, verdict: str
) -> None:
    from core.operations.rollouts.decide import _interval_verdict

    got, reason = _interval_verdict(
        low, high, 1.1, "inconclusive: too little", "x", fail_above=1.1, pass_below=1.1
    )
    assert got == verdict and reason.startswith(verdict)


def test_a_challenger_right_at_the_cost_budget_rarely_passes_it() -> None:
    passed = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        analyser = Analyser(SPEC)
        for _ in range(8):
            analysis = analyser.look(arm(rng, 100), arm(rng, 100, cpu=1.10))
        passed += verdicts(analysis)["cost_per_1000_ratio"] == "pass"
    assert passed / 200 <= 0.05


def test_quality_passes_only_beyond_the_minimum_effect() -> None:
    spec = replace(SPEC, quality="on", quality_min_effect=0.2)
    rng = np.random.default_rng(11)
    analyser = Analyser(spec)
    # Better by 0.1 on losses of mean 1: real, but less than the 0.2 that matters.
    for _ in range(30):
        analysis = analyser.look(arm(rng, 400, loss=1.0), arm(rng, 400, loss=0.9))
    quality = next(c for c in analysis.criteria if c.name == "quality")
    assert quality.verdict == "inconclusive", quality.reason
    assert quality.threshold == -0.2
    assert quality.interval[1] is not None and quality.interval[1] < 0.0  # credibly better
    assert quality.interval[0] is not None and quality.interval[0] > -0.2  # not by enough
    # Better by 0.5: passes.
    analyser = Analyser(spec)
    for _ in range(10):
        analysis = analyser.look(arm(rng, 400, loss=1.0), arm(rng, 400, loss=0.5))
    assert verdicts(analysis)["quality"] == "pass"


@pytest.mark.parametrize(
    ("low", "high", "verdict"),
    [
        (-0.5, -0.25, "pass"),  # better by more than the minimum effect 0.2, all of it
        (-0.3, -0.1, "inconclusive"),  # better, but maybe by less than 0.2
        (-0.15, -0.05, "inconclusive"),  # credibly better, credibly by less than 0.2
        (-0.3, -0.2, "inconclusive"),  # touching the effect is not beyond it
        (-0.1, 0.1, "inconclusive"),
        (0.0, 0.2, "inconclusive"),  # touching 0 is not credibly worse
        (0.01, 0.3, "fail"),  # credibly worse
    ],
)
def test_quality_with_a_minimum_effect_passes_beyond_it_and_fails_only_when_worse(
    low: float, high: float, verdict: str
) -> None:
    from core.operations.rollouts.decide import _interval_verdict

    got, reason = _interval_verdict(
        low, high, -0.2, "inconclusive: too little", "the loss difference",
        fail_above=0.0, pass_below=-0.2,
    )  # fmt: skip
    assert got == verdict and reason.startswith(verdict)


@pytest.mark.parametrize(
    ("low", "high", "verdict"),
    [
        (1.1, 1.3, "inconclusive"),  # touching the budget from above is not beyond it
        (0.9, 1.1, "inconclusive"),  # touching it from below is not within it
        (1.1 + 1e-9, 1.3, "fail"),
        (0.9, 1.1 - 1e-9, "pass"),
    ],
)
def test_an_interval_at_the_budget_is_inconclusive(low: float, high: float, verdict: str) -> None:
    from core.operations.rollouts.decide import _interval_verdict

    got, _ = _interval_verdict(
        low, high, 1.1, "inconclusive: too little", "x", fail_above=1.1, pass_below=1.1
    )
    assert got == verdict


def test_the_guard_lets_a_verdict_through_at_exactly_min_requests_in_the_smaller_arm() -> None:
    spec = replace(SPEC, min_requests=200)
    rng = np.random.default_rng(12)
    stable, slow = arm(rng, 400), arm(rng, 400, slow=3.0)

    def first(n: int, observations: ArmObservations) -> ArmObservations:
        return ArmObservations.of(
            observations.latency_ms[:n], observations.error[:n], observations.cpu_ms[:n]
        )

    # The smaller arm decides: 400 stable requests do not make up for 199 challenger ones.
    short = Analyser(spec).look(stable, first(199, slow))
    assert verdicts(short)["latency_p95_ratio"] == "inconclusive"
    assert "199" in short.criteria[0].reason and "fewer than the 200" in short.criteria[0].reason
    enough = Analyser(spec).look(stable, first(200, slow))
    assert verdicts(enough)["latency_p95_ratio"] == "fail"


def test_a_challenger_costlier_but_within_the_cost_budget_is_not_failed_on_cost() -> None:
    # 5% more CPU per request against a budget of 10% more: within it. Compared with the
    # stable run's CPU unscaled, it would be credibly costlier and fail.
    rng = np.random.default_rng(13)
    analyser = Analyser(SPEC)
    for _ in range(10):
        analysis = analyser.look(arm(rng, 4000), arm(rng, 4000, cpu=1.05))
    cost = next(c for c in analysis.criteria if c.name == "cost_per_1000_ratio")
    assert cost.verdict == "pass", cost.reason
    assert cost.interval[0] is not None and cost.interval[0] > 1.0  # credibly costlier ...
    assert cost.interval[1] is not None and cost.interval[1] < 1.10  # ... within the budget


def test_one_arm_without_cpu_time_or_outcomes_says_which_is_missing() -> None:
    rng = np.random.default_rng(14)
    timed = arm(rng, 300, loss=1.0)
    untimed = ArmObservations.of(rng.lognormal(3, 0.3, 300))  # no CPU time, no outcomes
    analysis = Analyser(replace(SPEC, quality="on")).look(timed, untimed)
    by_name = {c.name: c for c in analysis.criteria}
    assert by_name["cost_per_1000_ratio"].verdict == "inconclusive"
    assert "no CPU time logged for an arm" in by_name["cost_per_1000_ratio"].reason
    assert by_name["quality"].verdict == "inconclusive"
    assert "no outcomes joined" in by_name["quality"].reason
