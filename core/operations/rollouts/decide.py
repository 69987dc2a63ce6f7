"""The decisions of a rollout, pure: per-arm observations in, criteria and an action out.

Every interval's analysis is one *look* at everything logged so far. The criteria are checked
again and again, so each is a test valid under continuous monitoring (`core.stats.sequential`):

- `latency_p95_ratio`: the challenger's p95 latency over the stable run's, by two quantile
  confidence sequences (`QuantileRatioSequence`): fail when the whole interval lies above
  `latency_ratio_max`, pass when it lies below;
- `error_rate_difference`: challenger minus stable error rate (`ProportionDifferenceSequence`):
  fail when the interval lies above `error_rate_margin`, pass when below;
- `cost_per_1000_ratio`: CPU time per request (what `[cost]` prices), challenger against
  `cost_ratio_max` times stable (`MeanDifferenceSequence` on the stable stream scaled by the
  ratio): fail when credibly above, pass when credibly below;
- `quality` (when the spec asks): per-request losses once outcomes join, challenger minus
  stable (`MeanDifferenceSequence`): fail when credibly worse, pass when better by more than
  `quality_min_effect`. No outcomes yet: inconclusive (the hook is `quality_losses`).

Guards: fewer than `min_requests` requests in either arm is inconclusive whatever the data
say, and no data is never a pass. The spec's alpha is split evenly over the criteria, so the
chance that an A/A rollout is ever wrongly aborted stays below alpha. An analysis fails when
any criterion fails and passes when every required criterion passes; else inconclusive.

`decide_action` turns an analysis into what the rollout does next (advance, promote, abort,
pause, ...), with the Argo Rollouts limits; it is pure too, so each rule has a test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.operations.rollouts.spec import RolloutSpec

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
MIN_LATENCY_MS = 1e-3
"""A logged latency of 0 ms (a clock tick) counts as this: quantile ratios need positives."""


@dataclass(frozen=True)
class ArmObservations:
    """One arm's requests in one interval (arrays of equal length)."""

    latency_ms: npt.NDArray[np.float64]
    error: npt.NDArray[np.bool_]
    """True where the request failed."""
    cpu_ms: npt.NDArray[np.float64]
    """CPU milliseconds per request; NaN where not logged."""
    loss: npt.NDArray[np.float64] | None = None
    """Per-row losses of this interval's predictions whose outcome joined (any count: a
    call of several rows is one request but several predictions; NaN is skipped); None: no
    outcomes read."""

    @classmethod
    def of(
        cls,
        latency_ms: npt.ArrayLike,
        error: npt.ArrayLike | None = None,
        cpu_ms: npt.ArrayLike | None = None,
        loss: npt.ArrayLike | None = None,
    ) -> ArmObservations:
        import numpy as np

        latency = np.asarray(latency_ms, dtype=float).ravel()
        n = latency.size
        errors = np.zeros(n, dtype=bool) if error is None else np.asarray(error, dtype=bool).ravel()
        cpu = np.full(n, np.nan) if cpu_ms is None else np.asarray(cpu_ms, dtype=float).ravel()
        losses = None if loss is None else np.asarray(loss, dtype=float).ravel()
        if errors.size != n or cpu.size != n:
            raise ValueError("an arm's arrays must have one value per request")
        return cls(latency, errors, cpu, losses)

    @classmethod
    def empty(cls) -> ArmObservations:
        return cls.of([])

    def __len__(self) -> int:
        return int(self.latency_ms.size)


@dataclass(frozen=True)
class CriterionResult:
    """One criterion at one look: value / threshold / pass | fail | inconclusive."""

    name: str
    value: float | None
    """The challenger's figure against the stable run's (a ratio or a difference)."""
    threshold: float
    verdict: str
    """pass, fail or inconclusive."""
    required: bool
    """Must pass before a promotion (every criterion's failure aborts)."""
    interval: tuple[float | None, float | None]
    """Where the value lies at every look at once (confidence sequence; None: unbounded)."""
    stable: float | None
    """The stable arm's own figure (p95 ms, error rate, cost per 1,000, mean loss)."""
    challenger: float | None
    n_stable: int
    """Observations the criterion stands on, per arm."""
    n_challenger: int
    unit: str
    reason: str
    alpha: float

    def to_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["interval"] = list(self.interval)
        return out


@dataclass(frozen=True)
class Analysis:
    """One look: every criterion, and what they add up to."""

    criteria: list[CriterionResult]
    overall: str
    """fail if any criterion fails, pass if every required one passes, else inconclusive."""
    n_stable: int
    """Requests so far, per arm (errors included)."""
    n_challenger: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "criteria": [c.to_dict() for c in self.criteria],
            "overall": self.overall,
            "n_stable": self.n_stable,
            "n_challenger": self.n_challenger,
            "reason": self.reason,
        }


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


class Analyser:
    """The sequential tests of one rollout; `look` adds one interval's observations."""

    def __init__(self, spec: RolloutSpec) -> None:
        from core.stats.sequential import (
            MeanDifferenceSequence,
            ProportionDifferenceSequence,
            QuantileRatioSequence,
        )

        self.spec = spec
        self.alpha_each = spec.alpha / len(spec.criteria_names())
        self.latency = QuantileRatioSequence(
            spec.latency_quantile, spec.latency_ratio_max, self.alpha_each
        )
        self.errors = ProportionDifferenceSequence(self.alpha_each)
        self.cost = MeanDifferenceSequence(self.alpha_each)
        self.quality = MeanDifferenceSequence(self.alpha_each)
        self.n_stable = 0
        self.n_challenger = 0
        self.cpu_sums = [0.0, 0.0]
        self.cpu_counts = [0, 0]

    def look(self, stable: ArmObservations, challenger: ArmObservations) -> Analysis:
        """Add one interval of both arms and judge everything seen so far."""
        import numpy as np

        self.n_stable += len(stable)
        self.n_challenger += len(challenger)
        ok_a, ok_b = ~stable.error, ~challenger.error
        self.latency.update(
            np.maximum(stable.latency_ms[ok_a], MIN_LATENCY_MS),
            np.maximum(challenger.latency_ms[ok_b], MIN_LATENCY_MS),
        )
        self.errors.update_counts(
            int(stable.error.sum()), len(stable), int(challenger.error.sum()), len(challenger)
        )
        cpu_a = stable.cpu_ms[ok_a & np.isfinite(stable.cpu_ms)]
        cpu_b = challenger.cpu_ms[ok_b & np.isfinite(challenger.cpu_ms)]
        for arm, values in enumerate((cpu_a, cpu_b)):
            self.cpu_sums[arm] += float(values.sum())
            self.cpu_counts[arm] += int(values.size)
        self.cost.update(self.spec.cost_ratio_max * cpu_a, cpu_b)
        if self.spec.quality != "off":
            self.quality.update(*(_losses(arm) for arm in (stable, challenger)))
        criteria = [self._latency(), self._errors(), self._cost()]
        if self.spec.quality != "off":
            criteria.append(self._quality())
        return combine(criteria, self.n_stable, self.n_challenger)

    # ------------------------------------------------------------------ criteria

    def _guard(self) -> str | None:
        """Why no criterion may decide yet (None: enough requests in both arms)."""
        least = min(self.n_stable, self.n_challenger)
        if least >= self.spec.min_requests:
            return None
        if self.n_stable == 0 and self.n_challenger == 0:
            return "inconclusive: no requests yet"
        return (
            f"inconclusive: {self.n_stable} and {self.n_challenger} requests (stable, "
            f"challenger), fewer than the {self.spec.min_requests} per arm a verdict needs"
        )

    def _latency(self) -> CriterionResult:
        state = self.latency.state()
        verdict = {"exceeds": FAIL, "within": PASS}.get(state.verdict, INCONCLUSIVE)
        reason = state.reason.replace("B/A", "challenger/stable")
        guard = self._guard()
        if guard is not None:
            verdict, reason = INCONCLUSIVE, guard
        return CriterionResult(
            name="latency_p95_ratio", value=_finite(state.ratio),
            threshold=self.spec.latency_ratio_max, verdict=verdict, required=True,
            interval=(_finite(state.ratio_low), _finite(state.ratio_high)),
            stable=state.a.estimate, challenger=state.b.estimate, n_stable=state.a.n,
            n_challenger=state.b.n, unit="ratio of p95 latencies (ms)", reason=reason,
            alpha=self.alpha_each,
        )  # fmt: skip

    def _errors(self) -> CriterionResult:
        state = self.errors.state()
        margin = self.spec.error_rate_margin
        verdict, reason = _interval_verdict(
            state.low, state.high, margin, state.reason, "the error-rate difference",
            fail_above=margin, pass_below=margin,
        )  # fmt: skip
        guard = self._guard()
        if guard is not None:
            verdict, reason = INCONCLUSIVE, guard
        return CriterionResult(
            name="error_rate_difference", value=state.estimate, threshold=margin,
            verdict=verdict, required=True, interval=(state.low, state.high),
            stable=state.mean_a, challenger=state.mean_b, n_stable=state.n_a,
            n_challenger=state.n_b, unit="challenger minus stable error rate", reason=reason,
            alpha=self.alpha_each,
        )  # fmt: skip

    def _cost_per_1000(self, arm: int) -> float | None:
        if not self.cpu_counts[arm]:
            return None
        mean_cpu_ms = self.cpu_sums[arm] / self.cpu_counts[arm]
        return mean_cpu_ms / 3_600_000.0 * self.spec.price_per_cpu_hour * 1000.0

    def _cost(self) -> CriterionResult:
        state = self.cost.state()
        ratio_max = self.spec.cost_ratio_max
        a, b = self._cost_per_1000(0), self._cost_per_1000(1)
        value = b / a if a and b is not None else None
        # The test is on mean_b - ratio_max * mean_a (CPU ms): below 0 is within budget.
        scale = (self.cpu_sums[0] / self.cpu_counts[0]) if self.cpu_counts[0] else None
        low = high = None
        if state.low is not None and state.high is not None and scale:
            low, high = ratio_max + state.low / scale, ratio_max + state.high / scale
        # low > ratio_max exactly when the difference's interval lies above 0 (scale > 0).
        verdict, reason = _interval_verdict(
            low, high, ratio_max, state.reason, "the cost ratio challenger/stable",
            fail_above=ratio_max, pass_below=ratio_max,
        )  # fmt: skip
        if not self.cpu_counts[0] or not self.cpu_counts[1]:
            verdict, reason = INCONCLUSIVE, "inconclusive: no CPU time logged for an arm yet"
        guard = self._guard()
        if guard is not None:
            verdict, reason = INCONCLUSIVE, guard
        return CriterionResult(
            name="cost_per_1000_ratio", value=value, threshold=ratio_max, verdict=verdict,
            required=True, interval=(low, high), stable=a, challenger=b, n_stable=state.n_a,
            n_challenger=state.n_b,
            unit=f"ratio of costs per 1,000 predictions ({self.spec.currency}, from CPU time)",
            reason=reason, alpha=self.alpha_each,
        )  # fmt: skip

    def _quality(self) -> CriterionResult:
        state = self.quality.state()
        effect = self.spec.quality_min_effect
        verdict, reason = _interval_verdict(
            state.low, state.high, effect, state.reason, "the loss difference",
            fail_above=0.0, pass_below=-effect,
        )  # fmt: skip
        if state.n_a == 0 or state.n_b == 0:
            verdict = INCONCLUSIVE
            reason = "inconclusive: no outcomes joined to the logged predictions yet"
        guard = self._guard()
        if guard is not None:
            verdict, reason = INCONCLUSIVE, guard
        return CriterionResult(
            name="quality", value=state.estimate, threshold=0.0 - effect, verdict=verdict,
            required=self.spec.quality == "required", interval=(state.low, state.high),
            stable=state.mean_a, challenger=state.mean_b, n_stable=state.n_a,
            n_challenger=state.n_b, unit="challenger minus stable mean loss", reason=reason,
            alpha=self.alpha_each,
        )  # fmt: skip


def _losses(arm: ArmObservations) -> npt.NDArray[np.float64]:
    import numpy as np

    if arm.loss is None:
        return np.empty(0)
    # A failed request has no prediction, so no outcome and no loss: finite values only.
    return arm.loss[np.isfinite(arm.loss)]


def _interval_verdict(
    low: float | None,
    high: float | None,
    threshold: float,
    sequence_reason: str,
    what: str,
    *,
    fail_above: float,
    pass_below: float,
) -> tuple[str, str]:
    """fail iff the whole interval lies above `fail_above`, pass iff it lies below
    `pass_below`; no interval yet (too little data) is inconclusive."""
    if low is None or high is None:
        return INCONCLUSIVE, sequence_reason
    span = f"{what} lies in [{low:.4g}, {high:.4g}] (valid at every look)"
    if low > fail_above:
        return FAIL, f"fail: {span}, entirely above {fail_above:.4g}"
    if high < pass_below:
        return PASS, f"pass: {span}, entirely below {pass_below:.4g}"
    return INCONCLUSIVE, f"inconclusive: {span}, which reaches across {threshold:.4g}"


def combine(criteria: list[CriterionResult], n_stable: int, n_challenger: int) -> Analysis:
    """fail if any criterion fails; pass if every required criterion passes; else
    inconclusive (no criterion at all is inconclusive, never a pass)."""
    failed = [c.name for c in criteria if c.verdict == FAIL]
    required = [c for c in criteria if c.required]
    if failed:
        return Analysis(criteria, FAIL, n_stable, n_challenger, "failed: " + ", ".join(failed))
    if required and all(c.verdict == PASS for c in required):
        return Analysis(
            criteria, PASS, n_stable, n_challenger,
            "every required criterion passed: " + ", ".join(c.name for c in required),
        )  # fmt: skip
    waiting = [c.name for c in required if c.verdict != PASS] or ["no criterion"]
    return Analysis(
        criteria, INCONCLUSIVE, n_stable, n_challenger, "inconclusive: " + ", ".join(waiting)
    )


def replay(
    spec: RolloutSpec, looks: Sequence[tuple[ArmObservations, ArmObservations]]
) -> list[Analysis]:
    """Every look's analysis, in order: the running confidence sequences need them all."""
    analyser = Analyser(spec)
    return [analyser.look(stable, challenger) for stable, challenger in looks]


# ----------------------------------------------------------------------- the machine


@dataclass(frozen=True)
class Counters:
    """What the limits count, carried from look to look."""

    failures: int = 0
    inconclusive: int = 0
    consecutive_errors: int = 0


@dataclass(frozen=True)
class Action:
    """What the rollout does after a look."""

    action: str
    """continue, advance (next step), promote, pass (a shadow's success), abort, pause or
    hold (a paused rollout keeps its share until resumed)."""
    reason: str
    step: int
    """The step after the action."""
    counters: Counters = field(default_factory=Counters)

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "reason": self.reason,
            "step": self.step,
            "failures": self.counters.failures,
            "inconclusive": self.counters.inconclusive,
            "consecutive_errors": self.counters.consecutive_errors,
        }


def decide_action(
    spec: RolloutSpec,
    *,
    paused: bool,
    step: int,
    counters: Counters,
    overall: str | None,
    reason: str,
    step_requests: tuple[int, int],
) -> Action:
    """The next move after an analysis whose verdict is `overall` (None: the analysis could
    not be computed, e.g. the log was unreadable, and `reason` says why).

    - measurement error: tolerated `consecutive_error_limit` times in a row, then abort;
    - fail: tolerated `failure_limit` times, then abort (paused or not: a failing challenger
      is never left serving);
    - pass: a shadow has passed; a canary moves to its next step, or promotes after its last;
      an A/B promotes; a paused rollout holds;
    - inconclusive: tolerated `inconclusive_limit` times, then pause (and alert); a running
      canary whose step has `min_requests` in both arms moves on meanwhile (exposure grows
      only while nothing failed), but it promotes only on a pass.
    """
    if overall is None:
        errors = counters.consecutive_errors + 1
        kept = Counters(counters.failures, counters.inconclusive, errors)
        if errors > spec.consecutive_error_limit:
            return Action(
                "abort",
                f"the analysis could not be computed {errors} times in a row (consecutive "
                f"error limit {spec.consecutive_error_limit}): {reason}",
                step, kept,
            )  # fmt: skip
        return Action(
            "continue",
            f"analysis error {errors} of {spec.consecutive_error_limit} tolerated: {reason}",
            step,
            kept,
        )
    if overall == FAIL:
        failures = counters.failures + 1
        kept = Counters(failures, counters.inconclusive, 0)
        if failures > spec.failure_limit:
            return Action(
                "abort", f"{reason} (failure {failures}, limit {spec.failure_limit})", step, kept
            )
        return Action(
            "continue",
            f"{reason} (failure {failures} of {spec.failure_limit} tolerated)",
            step,
            kept,
        )
    if overall == PASS:
        kept = Counters(counters.failures, counters.inconclusive, 0)
        if paused:
            return Action("hold", f"{reason}; paused: resume to act on it", step, kept)
        if spec.mode == "shadow":
            return Action("pass", f"shadow passed: {reason}", step, kept)
        if spec.mode == "canary" and step < spec.last_step:
            return Action(
                "advance", f"{reason}; step {step + 2} of {len(spec.steps)}", step + 1, kept
            )
        return Action("promote", reason, step, kept)
    inconclusive = counters.inconclusive + 1
    kept = Counters(counters.failures, inconclusive, 0)
    if not paused and inconclusive > spec.inconclusive_limit:
        return Action(
            "pause",
            f"{inconclusive} inconclusive analyses (inconclusive limit "
            f"{spec.inconclusive_limit}): {reason}",
            step, kept,
        )  # fmt: skip
    if (
        not paused
        and spec.mode == "canary"
        and step < spec.last_step
        and min(step_requests) >= spec.min_requests
    ):
        return Action(
            "advance",
            f"{reason}; nothing failed on {step_requests[0]} and {step_requests[1]} requests "
            f"at this step: step {step + 2} of {len(spec.steps)}",
            step + 1, kept,
        )  # fmt: skip
    return Action("hold" if paused else "continue", reason, step, kept)
