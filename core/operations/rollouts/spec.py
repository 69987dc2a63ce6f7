"""A rollout's spec: what is rolled out against what, how traffic moves, and the rules.

The spec is a file (`logs/rollouts/<model>/<rollout_id>/spec.json`) and its id hashes it, so
the same spec gives the same rollout and `factory rollout start` is idempotent
(adrs/0027-rollouts.md). Vocabulary as in Argo Rollouts:
`failure_limit` failed analyses are tolerated (abort on the next), `inconclusive_limit`
inconclusive ones (pause and alert on the next), `consecutive_error_limit` analyses that
could not be computed in a row (abort on the next); `min_requests` per arm before any
criterion may pass or fail.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from itertools import pairwise
from typing import Any

from core.foundation.errors import UsageError
from core.foundation.ids import hash_inputs

SPEC_SCHEMA = "factory.rollout-spec/1"
MODES = ("shadow", "canary", "ab")
DEFAULT_STEPS: dict[str, tuple[float, ...]] = {
    "shadow": (),
    "canary": (0.05, 0.25, 0.5),
    "ab": (0.5,),
}
"""Traffic shares of the challenger, step by step. A shadow serves none (the challenger
scores every request on the side); a canary promotes after its last step passes; an A/B test
holds one split until it decides."""
QUALITY = ("off", "on", "required")
ROLLOUT_ID = re.compile(r"^rollout-[0-9a-f]{12}$")
_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)?\s*$")


@dataclass(frozen=True)
class RolloutSpec:
    """Everything a rollout's decisions depend on (its id hashes all of it)."""

    model: str
    stable: str
    """The run serving prod when the rollout started (arm `stable`)."""
    challenger: str
    """The run rolled out (arm `challenger`)."""
    mode: str
    """shadow, canary or ab."""
    steps: tuple[float, ...]
    """The challenger's traffic share at each step (none for a shadow)."""
    interval_s: float = 300.0
    """Seconds between analyses."""
    alpha: float = 0.05
    """The chance of a wrong abort or a wrong promotion over the whole rollout, however
    often it is analysed; split evenly over the criteria (Bonferroni)."""
    min_requests: int = 100
    """Requests per arm before any criterion can pass or fail, and per step before a canary
    moves on while still inconclusive."""
    failure_limit: int = 0
    """Failed analyses tolerated; the next one aborts."""
    inconclusive_limit: int = 24
    """Inconclusive analyses tolerated; the next one pauses the rollout and alerts."""
    consecutive_error_limit: int = 4
    """Analyses in a row that could not be computed (the log unreadable) tolerated; the
    next one aborts."""
    latency_quantile: float = 0.95
    latency_ratio_max: float = 1.10
    """The challenger's p95 latency may be at most this times the stable run's."""
    error_rate_margin: float = 0.01
    """The challenger's error rate may exceed the stable run's by less than this (1 point:
    with 0.5 an error-free challenger needs more than 3,000 requests per arm to pass,
    measured in tests/rollouts/simulate.py; 1 point takes about 1,200)."""
    cost_ratio_max: float = 1.10
    """The challenger's CPU cost per request may be at most this times the stable run's."""
    quality: str = "off"
    """off (not analysed), on (analysed once outcomes join; fails abort) or required (must
    also pass before a promotion)."""
    quality_min_effect: float = 0.0
    """The challenger's mean loss must be lower by more than this for quality to pass."""
    price_per_cpu_hour: float = 0.05
    """From `[cost]`, to state costs per 1,000 predictions."""
    currency: str = "USD"
    attempt: int = 1
    """Starting the same rollout again after it ended takes a new attempt (a new id)."""

    @property
    def rollout_id(self) -> str:
        return "rollout-" + hash_inputs(self.to_dict())

    @property
    def last_step(self) -> int:
        return max(len(self.steps) - 1, 0)

    def share_at(self, step: int) -> float:
        """The challenger's traffic share at `step` (0 for a shadow)."""
        return self.steps[min(step, self.last_step)] if self.steps else 0.0

    def criteria_names(self) -> list[str]:
        names = ["latency_p95_ratio", "error_rate_difference", "cost_per_1000_ratio"]
        return [*names, "quality"] if self.quality != "off" else names

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schema": SPEC_SCHEMA}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RolloutSpec:
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in raw.items() if k in names}
        values["steps"] = tuple(float(s) for s in values.get("steps") or ())
        return validate(cls(**values))


def parse_interval(text: str | float | int) -> float:
    """`30s`, `5m`, `1h` or a number of seconds."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        seconds = float(text)
    else:
        match = _INTERVAL.match(str(text))
        if match is None:
            raise UsageError(f"--interval {text!r} is not a duration", hint="Use 30s, 5m or 1h.")
        unit = match.group(2) or "s"
        seconds = float(match.group(1)) * {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}[unit]
    if not (math.isfinite(seconds) and seconds >= 1.0):
        raise UsageError(
            f"--interval {text!r} must be at least 1 second", hint="Use 30s, 5m or 1h."
        )
    return seconds


def parse_steps(text: str) -> tuple[float, ...]:
    """`5,25,50` (percent) or `0.05,0.25,0.5` (shares)."""
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(
            f"--steps {text!r} is not a list of numbers",
            hint="--steps 5,25,50 (percent of traffic)",
        ) from None
    if values and max(values) > 1.0:
        values = [v / 100.0 for v in values]
    return tuple(values)


def validate(spec: RolloutSpec) -> RolloutSpec:
    """The spec, or a usage error naming the setting that cannot work."""

    def bad(what: str, hint: str) -> UsageError:
        return UsageError(f"rollout spec: {what}", hint=hint)

    if spec.mode not in MODES:
        raise bad(f"mode {spec.mode!r} is not one of {', '.join(MODES)}", "--mode canary")
    if spec.stable == spec.challenger:
        raise bad(
            f"{spec.challenger} is already the stable run (it holds prod)",
            "Roll out another run.",
        )
    steps = spec.steps
    if spec.mode == "shadow" and steps:
        raise bad("a shadow serves no traffic: it takes no --steps", "Drop --steps.")
    if spec.mode != "shadow":
        if not steps:
            raise bad(f"a {spec.mode} needs at least one step", "--steps 5,25,50")
        if any(not (0.0 < s < 1.0) for s in steps):
            raise bad(
                f"steps {list(steps)} must be shares strictly between 0 and 1", "--steps 5,25,50"
            )
        if any(b <= a for a, b in pairwise(steps)):
            raise bad(f"steps {list(steps)} must increase", "--steps 5,25,50")
        if spec.mode == "ab" and len(steps) != 1:
            raise bad("an A/B test holds one split", "--steps 50")
    if not (0.0 < spec.alpha < 0.5):
        raise bad(f"alpha {spec.alpha} must lie in (0, 0.5)", "--alpha 0.05")
    if spec.min_requests < 1:
        raise bad("min_requests must be at least 1", "--min-requests 100")
    for name in ("failure_limit", "inconclusive_limit", "consecutive_error_limit"):
        if getattr(spec, name) < 0:
            raise bad(f"{name} must be 0 or more", f"--{name.replace('_', '-')} 0")
    if not (0.0 < spec.latency_quantile < 1.0):
        raise bad("latency_quantile must lie in (0, 1)", "0.95")
    for name in ("latency_ratio_max", "cost_ratio_max"):
        value = getattr(spec, name)
        if not (math.isfinite(value) and value > 0.0):
            raise bad(f"{name} must be a positive ratio", "1.10")
    if not (math.isfinite(spec.error_rate_margin) and 0.0 < spec.error_rate_margin < 1.0):
        raise bad("error_rate_margin must lie in (0, 1): a margin of 0 can never pass", "0.01")
    if spec.quality not in QUALITY:
        raise bad(f"quality {spec.quality!r} is not one of {', '.join(QUALITY)}", "--quality on")
    if not (math.isfinite(spec.quality_min_effect) and spec.quality_min_effect >= 0.0):
        raise bad("quality_min_effect must be 0 or more", "0")
    if spec.interval_s < 1.0:
        raise bad("interval must be at least 1 second", "--interval 5m")
    return spec
