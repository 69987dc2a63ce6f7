"""Tests that stay valid when they are checked again and again.

A rollout is analysed every interval and a live model's loss every time labels arrive. A
fixed-sample test checked at every look declares a difference far more often than its
level says (tests/stats measure it), so these decisions use confidence sequences: intervals
that hold at every look at once, with probability at least 1 - alpha (Ville's inequality).
Stop, continue or look again whenever you like; the guarantee does not depend on it.

Means (two streams, or one stream against a reference value) and proportions: the
Gaussian-mixture sequential probability ratio test (mSPRT; Robbins 1970, Johari, Pekelis and
Walsh 2017/2022), the normal-mixture boundary of Howard, Ramdas, McAuliffe and Sekhon (2021).
For an estimate theta_hat with variance v (s_a^2/n_a + s_b^2/n_b for two streams, s^2/n for
one) and a N(0, tau^2) mixture over the effect, the likelihood ratio against theta_0 is

    Lambda = sqrt(v / (v + tau^2)) * exp(tau^2 (theta_hat - theta_0)^2 / (2 v (v + tau^2)))

The always-valid p-value is the running minimum of 1 / Lambda(0), and the confidence
sequence is the running intersection of
theta_hat +- sqrt(v (v + tau^2) / tau^2 * (log((v + tau^2) / v) + 2 log(1 / alpha))),
so the interval excludes 0 exactly when the p-value is below alpha. The estimate in
information time 1 / v has independent increments even when the two streams grow at
different rates, so with known variances this is an exact nonnegative martingale.

Assumptions and guards, stated because a verdict is a promise:
- observations are independent within and between streams, with a stable mean (a batch
  of rows from one date is one batch, not many independent rows: aggregate first if the
  rows of a date share a cause);
- the variance is estimated from the data (plug-in, as Johari et al. do), which is where
  validity becomes approximate, so three guards: no look counts until each stream holds
  `min_n` observations (30 for means, 100 for proportions); each stream's variance is the
  largest estimate seen at any counted look (a small sample of right-skewed losses that has
  not yet met its rare large values understates both its mean and its variance, the source
  of false alarms measured in tests/stats); the variance of a proportion is smoothed,
  p = (events + 0.5) / (trials + 1), so a stream with no events yet is not certain;
- `tau` is in standard deviations of one observation (default 0.1: the bound is tightest
  near 800 observations of one stream, or 1,600 per stream for two); its absolute size is
  fixed from the data at the first look that meets the guard and then held, so the mixture
  does not chase the data;
- a look whose interval misses the running one (impossible when the model holds) is
  skipped and noted, not decided on; streams with no variation at all give no verdict
  (0/1 outcomes belong in the proportion test, whose smoothed variance is never 0).

Quantiles (a p95 latency): the beta-binomial mixture confidence sequence of Howard and
Ramdas (2022, "Sequential estimation of quantiles"), fixed-quantile form. For the true
quantile q, #{X_i <= q} is a sum of Bernoullis with mean >= p and #{X_i < q} one with mean
<= p; one-sided beta-binomial mixtures are nonnegative supermartingales for each, so with
probability at least 1 - alpha, at every n, #{X_i <= q} >= k_lo(n) and #{X_i < q} <= k_hi(n),
hence X_(k_lo) <= q <= X_(k_hi + 1) (order statistics). The bounds are exact, need no
variance, and hold with ties (integer milliseconds). The ratio of two streams' quantiles is
bounded conservatively by the two sequences at alpha/2 each (Bonferroni):
q_b / q_a lies in [low_b / high_a, high_b / low_a] at every look with probability >= 1 - alpha.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from core.stats.decide import Direction, Verdict
from core.stats.paired import check_alpha, clean

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

RatioVerdict = Literal["exceeds", "within", "inconclusive"]

DEFAULT_TAU = 0.1
"""Mixture scale in standard deviations of one observation."""
MEAN_MIN_N = 30
"""Observations per stream before a look counts, for means."""
PROPORTION_MIN_N = 100
"""Trials per stream before a look counts, for proportions."""
QUANTILE_MIN_N = 20
"""Observations per stream before a quantile verdict (the bounds are exact without it)."""


@dataclass(frozen=True)
class SequentialState:
    """Where a continuously monitored comparison stands now."""

    method: str
    """`msprt-mean-difference`, `msprt-proportion-difference` or `msprt-mean`."""
    n_a: int
    """Observations of stream A (the one stream, for a one-sample test)."""
    n_b: int
    """Observations of stream B (0 for a one-sample test)."""
    estimate: float | None
    """mean_b - mean_a, or mean - reference for one stream."""
    low: float | None
    """Lower end of the confidence sequence for `estimate`'s parameter, valid at every look."""
    high: float | None
    """Upper end of the confidence sequence."""
    p_value: float
    """Always-valid p-value for no difference (1 until a look meets the guard)."""
    verdict: Verdict
    """better or worse for B (or for the stream against the reference), else inconclusive."""
    reason: str
    """One sentence: what was measured, on how much data, and why this verdict."""
    alpha: float
    direction: Direction
    """Whether higher (maximize) or lower (minimize) values are better."""
    min_n: int
    """Observations per stream before a look counts."""
    min_effect: float
    """Smallest difference that matters: better iff the oriented sequence is above it."""
    looks: int
    """Looks that met the guard and entered the sequence."""
    tau: float
    """Mixture scale in standard deviations of one observation."""
    reference: float | None = None
    """The reference value of a one-sample test."""
    mean_a: float | None = None
    mean_b: float | None = None
    note: str = ""
    """A look whose interval missed the running one (an assumption may not hold), etc."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "n_a": self.n_a,
            "n_b": self.n_b,
            "estimate": clean(self.estimate),
            "interval": [clean(self.low), clean(self.high)],
            "p_value": clean(self.p_value),
            "verdict": self.verdict,
            "reason": self.reason,
            "alpha": self.alpha,
            "direction": self.direction,
            "min_n": self.min_n,
            "min_effect": self.min_effect,
            "looks": self.looks,
            "tau": self.tau,
            "reference": clean(self.reference),
            "mean_a": clean(self.mean_a),
            "mean_b": clean(self.mean_b),
            "note": self.note,
        }


def mixture_log_ratio(estimate: float, variance: float, tau2: float) -> float:
    """log Lambda of the normal mixture N(0, tau2) against a zero effect."""
    return 0.5 * math.log(variance / (variance + tau2)) + tau2 * estimate**2 / (
        2.0 * variance * (variance + tau2)
    )


def mixture_radius(variance: float, tau2: float, alpha: float) -> float:
    """Half-width of the mixture confidence sequence at this look."""
    return math.sqrt(
        variance
        * (variance + tau2)
        / tau2
        * (math.log((variance + tau2) / variance) + 2.0 * math.log(1.0 / alpha))
    )


def smoothed_variance(events: int, trials: int) -> float:
    """Variance of one 0/1 outcome, p (1 - p), at p = (events + 0.5) / (trials + 1): never
    0, so a stream with no events (or only events) so far is not taken as certain."""
    rate = (events + 0.5) / (trials + 1.0)
    return rate * (1.0 - rate)


class _Stream:
    """Count, mean and sum of squared deviations, merged batch by batch (Chan et al.)."""

    def __init__(self, n: int = 0, mean: float = 0.0, m2: float = 0.0) -> None:
        self.n = n
        self.mean = mean
        self.m2 = m2

    def add(self, values: npt.ArrayLike) -> None:
        import numpy as np

        batch = np.asarray(values, dtype=float).ravel()
        if batch.size == 0:
            return
        if not np.all(np.isfinite(batch)):
            raise ValueError("observations must be finite")
        size = int(batch.size)
        batch_mean = float(batch.mean())
        batch_m2 = float(np.square(batch - batch_mean).sum())
        total = self.n + size
        delta = batch_mean - self.mean
        self.mean += delta * size / total
        self.m2 += batch_m2 + delta * delta * self.n * size / total
        self.n = total

    @property
    def variance(self) -> float:
        return self.m2 / (self.n - 1) if self.n > 1 else 0.0

    def to_dict(self) -> dict[str, float]:
        return {"n": self.n, "mean": self.mean, "m2": self.m2}


def _direction(direction: str) -> Direction:
    if direction == "maximize":
        return "maximize"
    if direction == "minimize":
        return "minimize"
    raise ValueError(f"direction must be maximize or minimize, got {direction!r}")


class _MixtureSequence:
    """The engine the mean and proportion sequences share: looks, running p and interval."""

    method = "msprt"

    def __init__(
        self, alpha: float, tau: float, min_n: int, direction: str, min_effect: float
    ) -> None:
        check_alpha(alpha)
        if not (math.isfinite(tau) and tau > 0.0):
            raise ValueError(f"tau must be a positive number, got {tau!r}")
        if min_n < 2:
            raise ValueError(f"min_n must be at least 2 (a variance needs it), got {min_n}")
        if not (math.isfinite(min_effect) and min_effect >= 0.0):
            raise ValueError(f"min_effect must be a finite number >= 0, got {min_effect!r}")
        self.alpha = alpha
        self.tau = tau
        self.min_n = min_n
        self.direction = _direction(direction)
        self.min_effect = min_effect
        self.tau_abs: float | None = None
        self.low = -math.inf
        self.high = math.inf
        self.p_value = 1.0
        self.looks = 0
        self.note = ""
        self.variance_floor = 0.0
        self.peaks: list[float] = []

    # Subclasses say what the estimate is and what each stream contributes to its variance.
    def _counts(self) -> tuple[int, int]:
        raise NotImplementedError

    def _parts(self) -> tuple[float, list[tuple[float, int]]]:
        """(estimate, [(variance of one observation, observations)] per stream)."""
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    def _look(self) -> None:
        if not self._ready():
            return
        estimate, parts = self._parts()
        if not self.peaks:
            self.peaks = [self.variance_floor] * len(parts)
        # Each stream's variance is the largest estimate seen at any counted look: an early
        # sample of skewed losses that has not met its rare large values yet understates
        # its variance exactly when its mean is low, which would make false alarms.
        self.peaks = [max(peak, var) for peak, (var, _) in zip(self.peaks, parts, strict=True)]
        variance = sum(peak / n for peak, (_, n) in zip(self.peaks, parts, strict=True))
        sd = math.sqrt(sum(self.peaks) / len(self.peaks))
        if variance <= 0.0 or sd <= 0.0:
            self.note = "no variation in the data yet"
            return
        if self.tau_abs is None:
            self.tau_abs = self.tau * sd
        tau2 = self.tau_abs**2
        radius = mixture_radius(variance, tau2, self.alpha)
        low, high = max(self.low, estimate - radius), min(self.high, estimate + radius)
        if low > high:
            # Under the model every look's interval holds the truth; one that misses the
            # running interval says the model does not hold. Skip it rather than decide.
            self.note = (
                f"a look's interval missed the running one after {self.looks} looks: "
                "independence or a stable mean may not hold"
            )
            return
        self.looks += 1
        ratio = mixture_log_ratio(estimate, variance, tau2)
        self.p_value = min(self.p_value, math.exp(-ratio) if ratio > 0 else 1.0)
        self.low, self.high = low, high
        self.note = ""

    def _sign(self) -> float:
        return 1.0 if self.direction == "maximize" else -1.0

    def state(self) -> SequentialState:
        """The verdict now, with the numbers behind it."""
        n_a, n_b = self._counts()
        estimate: float | None = None
        if self._has_data():
            estimate = self._parts()[0]
        low = self.low if self.looks else None
        high = self.high if self.looks else None
        verdict: Verdict = "inconclusive"
        level = f"{round(100 * (1 - self.alpha), 6):g}%"
        if n_a == 0 and n_b == 0:
            reason = "inconclusive: no data yet"
        elif not self._ready():
            reason = f"inconclusive: {self._sizes()}, fewer than the {self.min_n} per stream a verdict needs"
        elif not self.looks:
            reason = f"inconclusive: {self._sizes()} and {self.note or 'no look has counted yet'}"
        else:
            sign = self._sign()
            imp_low, imp_high = sorted((sign * self.low, sign * self.high))
            span = (
                f"mixture SPRT after {self.looks} look{'s' if self.looks > 1 else ''} on "
                f"{self._sizes()} puts the improvement "
                f"at [{imp_low:.4g}, {imp_high:.4g}] ({level}, valid at every look)"
            )
            if imp_low > self.min_effect:
                verdict = "better"
                reason = f"better: {span}, entirely above the minimum effect {self.min_effect:.4g}"
            elif imp_high < -self.min_effect:
                verdict = "worse"
                reason = (
                    f"worse: {span}, entirely below minus the minimum effect {self.min_effect:.4g}"
                )
            else:
                reason = f"inconclusive: {span}, which reaches across the minimum effect {self.min_effect:.4g}"
        means = self._means()
        return SequentialState(
            method=self.method, n_a=n_a, n_b=n_b, estimate=estimate, low=low, high=high,
            p_value=self.p_value, verdict=verdict, reason=reason, alpha=self.alpha,
            direction=self.direction, min_n=self.min_n, min_effect=self.min_effect,
            looks=self.looks, tau=self.tau, reference=self._reference(), mean_a=means[0],
            mean_b=means[1], note=self.note,
        )  # fmt: skip

    def _has_data(self) -> bool:
        n_a, n_b = self._counts()
        return n_a > 0 and (n_b > 0 or self._reference() is not None)

    def _reference(self) -> float | None:
        return None

    def _means(self) -> tuple[float | None, float | None]:
        return None, None

    def _sizes(self) -> str:
        n_a, n_b = self._counts()
        return f"{n_a} and {n_b} observations"

    def _engine_dict(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "tau": self.tau,
            "min_n": self.min_n,
            "direction": self.direction,
            "min_effect": self.min_effect,
            "tau_abs": self.tau_abs,
            "low": None if math.isinf(self.low) else self.low,
            "high": None if math.isinf(self.high) else self.high,
            "p_value": self.p_value,
            "looks": self.looks,
            "note": self.note,
            "variance_floor": self.variance_floor,
            "peaks": list(self.peaks),
        }

    def _restore_engine(self, data: dict[str, Any]) -> None:
        self.tau_abs = data["tau_abs"]
        self.low = -math.inf if data["low"] is None else float(data["low"])
        self.high = math.inf if data["high"] is None else float(data["high"])
        self.p_value = float(data["p_value"])
        self.looks = int(data["looks"])
        self.note = str(data["note"])
        self.variance_floor = float(data["variance_floor"])
        self.peaks = [float(v) for v in data["peaks"]]


class MeanDifferenceSequence(_MixtureSequence):
    """Two independent streams (A the incumbent, B the candidate): is mean_b - mean_a
    nonzero? Checked after every `update`, valid however often it is checked.

    `direction` says whether higher values are better ("maximize") or lower ("minimize",
    the default: losses, latencies); `min_effect` is in the streams' units.
    """

    method = "msprt-mean-difference"

    def __init__(
        self,
        alpha: float = 0.05,
        tau: float = DEFAULT_TAU,
        min_n: int = MEAN_MIN_N,
        *,
        direction: str = "minimize",
        min_effect: float = 0.0,
    ) -> None:
        super().__init__(alpha, tau, min_n, direction, min_effect)
        self.a = _Stream()
        self.b = _Stream()

    def update(self, a_values: npt.ArrayLike, b_values: npt.ArrayLike) -> SequentialState:
        """Add new observations of either stream (either may be empty) and look."""
        self.a.add(a_values)
        self.b.add(b_values)
        self._look()
        return self.state()

    def _counts(self) -> tuple[int, int]:
        return self.a.n, self.b.n

    def _ready(self) -> bool:
        return self.a.n >= self.min_n and self.b.n >= self.min_n

    def _parts(self) -> tuple[float, list[tuple[float, int]]]:
        parts = [(self.a.variance, self.a.n), (self.b.variance, self.b.n)]
        return self.b.mean - self.a.mean, parts

    def _means(self) -> tuple[float | None, float | None]:
        return (self.a.mean if self.a.n else None), (self.b.mean if self.b.n else None)

    def checkpoint(self) -> dict[str, Any]:
        """Everything needed to continue later (a rollout's state file)."""
        return {"engine": self._engine_dict(), "a": self.a.to_dict(), "b": self.b.to_dict()}

    @classmethod
    def from_checkpoint(cls, data: dict[str, Any]) -> MeanDifferenceSequence:
        engine = data["engine"]
        made = cls(
            engine["alpha"], engine["tau"], engine["min_n"], direction=engine["direction"],
            min_effect=engine["min_effect"],
        )  # fmt: skip
        made._restore_engine(engine)
        made.a = _Stream(int(data["a"]["n"]), float(data["a"]["mean"]), float(data["a"]["m2"]))
        made.b = _Stream(int(data["b"]["n"]), float(data["b"]["mean"]), float(data["b"]["m2"]))
        return made


class ProportionDifferenceSequence(_MixtureSequence):
    """Two streams of 0/1 outcomes (errors, say): is rate_b - rate_a nonzero?

    Each stream's variance is p(1 - p) with p smoothed to (events + 0.5) / (trials + 1).
    The default direction is "minimize" (error rates).
    """

    method = "msprt-proportion-difference"

    def __init__(
        self,
        alpha: float = 0.05,
        tau: float = DEFAULT_TAU,
        min_n: int = PROPORTION_MIN_N,
        *,
        direction: str = "minimize",
        min_effect: float = 0.0,
    ) -> None:
        super().__init__(alpha, tau, min_n, direction, min_effect)
        self.events_a = self.trials_a = self.events_b = self.trials_b = 0

    def update(self, a_values: npt.ArrayLike, b_values: npt.ArrayLike) -> SequentialState:
        """Add 0/1 outcomes of either stream and look."""
        import numpy as np

        counts: list[int] = []
        for values in (a_values, b_values):
            batch = np.asarray(values, dtype=float).ravel()
            if np.any((batch != 0.0) & (batch != 1.0)):
                raise ValueError("proportions need outcomes 0 or 1")
            counts += [int(batch.sum()), int(batch.size)]
        return self.update_counts(*counts)

    def update_counts(
        self, a_events: int, a_trials: int, b_events: int, b_trials: int
    ) -> SequentialState:
        """Add counts of events and trials for each stream and look."""
        for events, trials in ((a_events, a_trials), (b_events, b_trials)):
            if trials < 0 or not 0 <= events <= trials:
                raise ValueError(f"need 0 <= events <= trials, got {events} of {trials}")
        self.events_a += a_events
        self.trials_a += a_trials
        self.events_b += b_events
        self.trials_b += b_trials
        self._look()
        return self.state()

    def _counts(self) -> tuple[int, int]:
        return self.trials_a, self.trials_b

    def _ready(self) -> bool:
        return self.trials_a >= self.min_n and self.trials_b >= self.min_n

    def _parts(self) -> tuple[float, list[tuple[float, int]]]:
        rate_a = self.events_a / self.trials_a
        rate_b = self.events_b / self.trials_b
        parts = [
            (smoothed_variance(self.events_a, self.trials_a), self.trials_a),
            (smoothed_variance(self.events_b, self.trials_b), self.trials_b),
        ]
        return rate_b - rate_a, parts

    def _means(self) -> tuple[float | None, float | None]:
        rate_a = self.events_a / self.trials_a if self.trials_a else None
        return rate_a, (self.events_b / self.trials_b if self.trials_b else None)

    def _sizes(self) -> str:
        return f"{self.trials_a} and {self.trials_b} trials"

    def checkpoint(self) -> dict[str, Any]:
        """Everything needed to continue later (a rollout's state file)."""
        return {
            "engine": self._engine_dict(),
            "counts": [self.events_a, self.trials_a, self.events_b, self.trials_b],
        }

    @classmethod
    def from_checkpoint(cls, data: dict[str, Any]) -> ProportionDifferenceSequence:
        engine = data["engine"]
        made = cls(
            engine["alpha"], engine["tau"], engine["min_n"], direction=engine["direction"],
            min_effect=engine["min_effect"],
        )  # fmt: skip
        made._restore_engine(engine)
        made.events_a, made.trials_a, made.events_b, made.trials_b = (
            int(v) for v in data["counts"]
        )
        return made


class MeanSequence(_MixtureSequence):
    """One stream against a fixed reference: has its mean moved away from `reference`?

    For degradation: live per-row losses against the backtest's mean loss. The estimate is
    mean - reference; with the default direction "minimize" a mean credibly above the
    reference (by more than `min_effect`) is "worse" (degraded), below it "better".
    `reference_sd`, the backtest's per-row standard deviation of the loss, is a floor for
    the variance: pass it when known, it keeps a lucky quiet start from raising alarms.
    """

    method = "msprt-mean"

    def __init__(
        self,
        reference: float,
        alpha: float = 0.05,
        tau: float = DEFAULT_TAU,
        min_n: int = MEAN_MIN_N,
        *,
        direction: str = "minimize",
        min_effect: float = 0.0,
        reference_sd: float | None = None,
    ) -> None:
        if not math.isfinite(reference):
            raise ValueError(f"reference must be finite, got {reference!r}")
        if reference_sd is not None and not (math.isfinite(reference_sd) and reference_sd >= 0):
            raise ValueError(f"reference_sd must be a finite number >= 0, got {reference_sd!r}")
        super().__init__(alpha, tau, min_n, direction, min_effect)
        self.reference = float(reference)
        if reference_sd is not None:
            self.variance_floor = float(reference_sd) ** 2
        self.stream = _Stream()

    def update(self, values: npt.ArrayLike) -> SequentialState:
        """Add new observations and look."""
        self.stream.add(values)
        self._look()
        return self.state()

    def _counts(self) -> tuple[int, int]:
        return self.stream.n, 0

    def _ready(self) -> bool:
        return self.stream.n >= self.min_n

    def _parts(self) -> tuple[float, list[tuple[float, int]]]:
        return self.stream.mean - self.reference, [(self.stream.variance, self.stream.n)]

    def _reference(self) -> float | None:
        return self.reference

    def _means(self) -> tuple[float | None, float | None]:
        return (self.stream.mean if self.stream.n else None), None

    def _sizes(self) -> str:
        return f"{self.stream.n} observations against the reference {self.reference:.4g}"

    def checkpoint(self) -> dict[str, Any]:
        """Everything needed to continue later."""
        return {
            "engine": self._engine_dict(),
            "reference": self.reference,
            "stream": self.stream.to_dict(),
        }

    @classmethod
    def from_checkpoint(cls, data: dict[str, Any]) -> MeanSequence:
        engine = data["engine"]
        made = cls(
            data["reference"], engine["alpha"], engine["tau"], engine["min_n"],
            direction=engine["direction"], min_effect=engine["min_effect"],
        )  # fmt: skip
        made._restore_engine(engine)
        stream = data["stream"]
        made.stream = _Stream(int(stream["n"]), float(stream["mean"]), float(stream["m2"]))
        return made


# Quantiles -----------------------------------------------------------------------------


def _prior(quantile: float, tuned_for: int, alpha: float) -> tuple[float, float]:
    """Beta prior centred on the quantile, as concentrated as the normal mixture that is
    tightest near `tuned_for` observations (Howard et al. 2021's rule for rho)."""
    log_term = math.log(1.0 / alpha)
    concentration = max(tuned_for / (2.0 * log_term + math.log(1.0 + 2.0 * log_term)) - 1.0, 1.0)
    return quantile * concentration, (1.0 - quantile) * concentration


@lru_cache(maxsize=65536)
def order_bounds(n: int, quantile: float, alpha: float, tuned_for: int) -> tuple[int, int]:
    """(k_lo, k_hi) such that, with probability at least 1 - alpha at every n at once,
    #{X_i <= q} >= k_lo and #{X_i < q} <= k_hi for the true `quantile` q.

    Each side is a one-sided beta-binomial mixture at alpha / 2: the Beta prior restricted
    to r < p (lower side) or r > p (upper side) makes the mixture of Bernoulli likelihood
    ratios a nonnegative supermartingale whenever the mean is on the null side of p.
    The bounds depend on n only, not on the data, so they are cached.
    """
    from scipy import special

    a, b = _prior(quantile, tuned_for, alpha / 2.0)
    threshold = math.log(2.0 / alpha)
    log_p, log_q = math.log(quantile), math.log1p(-quantile)
    base = float(special.betaln(a, b))
    norm_low = base + math.log(float(special.betainc(a, b, quantile)))
    norm_high = base + math.log(float(special.betaincc(a, b, quantile)))

    def log_mixture(count: int, upper: bool) -> float:
        x, y = a + count, b + n - count
        tail = float(special.betaincc(x, y, quantile) if upper else special.betainc(x, y, quantile))
        if tail <= 0.0:
            return -math.inf
        head = float(special.betaln(x, y)) + math.log(tail)
        return head - (norm_high if upper else norm_low) - count * log_p - (n - count) * log_q

    # Upper side: the mixture grows with the count; k_hi is the largest count below the
    # threshold (count 0 always is).
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if log_mixture(mid, upper=True) < threshold:
            lo = mid
        else:
            hi = mid - 1
    k_hi = lo
    # Lower side: the mixture shrinks with the count; k_lo is the smallest count below it
    # (count n always is).
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) // 2
        if log_mixture(mid, upper=False) < threshold:
            hi = mid
        else:
            lo = mid + 1
    return lo, k_hi


@dataclass(frozen=True)
class QuantileState:
    """A confidence sequence for one stream's quantile."""

    quantile: float
    """Which quantile (0.95 for p95)."""
    n: int
    estimate: float | None
    """The empirical quantile: the smallest value with at least quantile * n values <= it."""
    low: float | None
    """Lower end of the confidence sequence (None while it is unbounded)."""
    high: float | None
    """Upper end (None while it is unbounded)."""
    alpha: float
    looks: int
    method: str = "beta-binomial confidence sequence"

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "quantile": self.quantile,
            "n": self.n,
            "estimate": clean(self.estimate),
            "interval": [clean(self.low), clean(self.high)],
            "alpha": self.alpha,
            "looks": self.looks,
        }


class QuantileSequence:
    """A confidence sequence for the `quantile` of one stream, valid at every look.

    Keeps the observations (order statistics need them). `tuned_for` is the number of
    observations at which the bounds are tightest; they are valid at every n regardless.
    """

    def __init__(self, quantile: float = 0.95, alpha: float = 0.05, tuned_for: int = 1000) -> None:
        check_alpha(alpha)
        if not 0.0 < quantile < 1.0:
            raise ValueError(f"quantile must be strictly between 0 and 1, got {quantile!r}")
        if tuned_for < 1:
            raise ValueError(f"tuned_for must be at least 1, got {tuned_for}")
        self.quantile = quantile
        self.alpha = alpha
        self.tuned_for = tuned_for
        self._chunks: list[npt.NDArray[np.float64]] = []
        self.n = 0
        self.low = -math.inf
        self.high = math.inf
        self.estimate: float | None = None
        self.looks = 0

    def values(self) -> npt.NDArray[np.float64]:
        """Every observation so far, in arrival order."""
        import numpy as np

        if len(self._chunks) != 1:
            self._chunks = [np.concatenate(self._chunks) if self._chunks else np.empty(0)]
        return self._chunks[0]

    def update(self, values: npt.ArrayLike) -> QuantileState:
        """Add observations and look."""
        import numpy as np

        batch = np.asarray(values, dtype=float).ravel()
        if not np.all(np.isfinite(batch)):
            raise ValueError("observations must be finite")
        if batch.size == 0:
            return self.state()
        self._chunks.append(batch)
        self.n += int(batch.size)
        data = self.values()
        k_lo, k_hi = order_bounds(self.n, self.quantile, self.alpha, self.tuned_for)
        at = max(math.ceil(self.quantile * self.n - 1e-9), 1) - 1
        wanted = sorted(
            {at, *([k_lo - 1] if k_lo >= 1 else []), *([k_hi] if k_hi < self.n else [])}
        )
        ordered = np.partition(data, wanted)
        self.estimate = float(ordered[at])
        low = float(ordered[k_lo - 1]) if k_lo >= 1 else -math.inf
        high = float(ordered[k_hi]) if k_hi < self.n else math.inf
        self.looks += 1
        new_low, new_high = max(self.low, low), min(self.high, high)
        if new_low <= new_high:
            self.low, self.high = new_low, new_high
        return self.state()

    def state(self) -> QuantileState:
        return QuantileState(
            quantile=self.quantile,
            n=self.n,
            estimate=self.estimate,
            low=None if math.isinf(self.low) else self.low,
            high=None if math.isinf(self.high) else self.high,
            alpha=self.alpha,
            looks=self.looks,
        )


@dataclass(frozen=True)
class QuantileRatioState:
    """Does B's quantile exceed `threshold` times A's? Valid at every look."""

    quantile: float
    threshold: float
    """The ratio budget, e.g. 1.10 for "B's p95 at most 10% above A's"."""
    ratio: float | None
    """Empirical quantile of B over that of A."""
    ratio_low: float | None
    """Lower end of the ratio's confidence sequence (0 while unbounded)."""
    ratio_high: float | None
    """Upper end (None while unbounded)."""
    verdict: RatioVerdict
    """exceeds iff ratio_low > threshold; within iff ratio_high < threshold; else
    inconclusive (always, below `min_n` per stream)."""
    reason: str
    alpha: float
    min_n: int
    a: QuantileState
    b: QuantileState
    method: str = "beta-binomial confidence sequences, Bonferroni over two streams"

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "quantile": self.quantile,
            "threshold": self.threshold,
            "ratio": clean(self.ratio),
            "ratio_interval": [clean(self.ratio_low), clean(self.ratio_high)],
            "verdict": self.verdict,
            "reason": self.reason,
            "alpha": self.alpha,
            "min_n": self.min_n,
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
        }


class QuantileRatioSequence:
    """Is stream B's `quantile` (p95 latency) more than `threshold` times stream A's?

    Two quantile confidence sequences at alpha / 2 each; the ratio q_b / q_a lies in
    [low_b / high_a, high_b / low_a] at every look with probability at least 1 - alpha.
    Conservative (Bonferroni, and a box rather than the exact ratio region). Values must
    be positive (latencies).
    """

    def __init__(
        self,
        quantile: float = 0.95,
        threshold: float = 1.10,
        alpha: float = 0.05,
        tuned_for: int = 1000,
        min_n: int = QUANTILE_MIN_N,
    ) -> None:
        check_alpha(alpha)
        if not (math.isfinite(threshold) and threshold > 0.0):
            raise ValueError(f"threshold must be a positive ratio, got {threshold!r}")
        self.threshold = threshold
        self.alpha = alpha
        self.min_n = min_n
        self.a = QuantileSequence(quantile, alpha / 2.0, tuned_for)
        self.b = QuantileSequence(quantile, alpha / 2.0, tuned_for)

    def update(self, a_values: npt.ArrayLike, b_values: npt.ArrayLike) -> QuantileRatioState:
        """Add positive observations of either stream and look."""
        import numpy as np

        for values in (a_values, b_values):
            if np.any(np.asarray(values, dtype=float) <= 0.0):
                raise ValueError("a ratio of quantiles needs positive values")
        self.a.update(a_values)
        self.b.update(b_values)
        return self.state()

    def state(self) -> QuantileRatioState:
        a, b = self.a.state(), self.b.state()
        ratio = None
        if a.estimate is not None and b.estimate is not None:
            ratio = b.estimate / a.estimate
        ratio_low = 0.0
        if b.low is not None and a.high is not None:
            ratio_low = b.low / a.high
        ratio_high = None
        if b.high is not None and a.low is not None:
            ratio_high = b.high / a.low
        verdict: RatioVerdict = "inconclusive"
        p = f"p{round(100 * self.a.quantile, 6):g}"
        bounds = f"[{ratio_low:.4g}, {'inf' if ratio_high is None else f'{ratio_high:.4g}'}]"
        if a.n == 0 or b.n == 0:
            reason = "inconclusive: no data yet"
        elif min(a.n, b.n) < self.min_n:
            reason = (
                f"inconclusive: {a.n} and {b.n} observations, fewer than the {self.min_n} per "
                "stream a verdict needs"
            )
        else:
            span = f"the {p} ratio B/A is in {bounds} after {a.n} and {b.n} observations"
            if ratio_low > self.threshold:
                verdict = "exceeds"
                reason = f"exceeds: {span}, entirely above the threshold {self.threshold:.4g}"
            elif ratio_high is not None and ratio_high < self.threshold:
                verdict = "within"
                reason = f"within: {span}, entirely below the threshold {self.threshold:.4g}"
            else:
                reason = (
                    f"inconclusive: {span}, which reaches across the threshold {self.threshold:.4g}"
                )
        return QuantileRatioState(
            quantile=self.a.quantile, threshold=self.threshold, ratio=ratio,
            ratio_low=ratio_low, ratio_high=ratio_high, verdict=verdict, reason=reason,
            alpha=self.alpha, min_n=self.min_n, a=a, b=b,
        )  # fmt: skip
