"""`factory rollout plan MODEL --run R`: how many requests, and how long, until a rollout
can decide, and whether quality can be decided online at all. No side effects.

Each criterion's sample size is where its confidence sequence (the same boundary the
rollout uses, at the rollout's alpha split over its criteria) becomes narrow enough to
decide when the challenger behaves as expected:

- latency: the p95 ratio interval of two arms with the stable run's latency distribution
  (its logged online latencies; a lognormal with sigma 0.5 when none are logged) falls
  below `latency_ratio_max`;
- errors: the error-rate difference interval at the stable run's error rate (0.1% assumed
  when none is logged; at least the smoothed rate the sequence holds from its first look)
  falls below the margin;
- cost: the CPU-time interval at the stable run's spread (a coefficient of variation of
  0.5 assumed when none is logged) falls below `cost_ratio_max`;
- quality: from the backtest's per-row losses of both runs (their standard deviations and
  the challenger's offline improvement), the interval of the loss difference clears the
  gate's minimum effect. Labels come at the rate the dataset gains rows (rows per day of
  its newest snapshot), so a daily model gets one labelled prediction a day per entity.

Time = requests per arm / (request rate x the arm's share). The request rate is the
model's online requests in the inference log over the last 7 days.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from core.foundation import clock
from core.foundation.workspace import Workspace

RATE_DAYS = 7
SAMPLE_LIMIT = 20_000
QUALITY_MAX_DAYS = 28.0
"""Longer than this until a quality verdict: quality cannot be decided online."""
ASSUMED_ERROR_RATE = 0.001
ASSUMED_CPU_CV = 0.5
ASSUMED_LATENCY_SIGMA = 0.5
MAX_N = 100_000_000


@dataclass(frozen=True)
class CriterionPlan:
    name: str
    requests_per_arm: int | None
    """Requests each arm needs (None: never, as things stand)."""
    hours: float | None
    """At the recent request rate and the arm shares (None: no rate or never)."""
    basis: str
    """What the estimate stands on: logged data or an assumption."""
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class RolloutPlan:
    model: str
    stable: str | None
    challenger: str
    mode: str
    share: float
    """The challenger's share where the decision is made (1 for a shadow: both score all)."""
    requests_per_hour: float | None
    """The model's online requests per hour over the last 7 days (None: none logged)."""
    rate_basis: str
    labelled_per_day: float | None
    """Outcomes a day can bring (the dataset's rows per day)."""
    criteria: list[CriterionPlan]
    requests_per_arm: int | None
    """The most any required criterion needs."""
    hours: float | None
    analyses: int | None
    """Intervals until then at the default interval."""
    interval_s: float
    inconclusive_limit: int
    quality_online: bool
    """Whether quality can be decided online within 28 days."""
    quality_note: str
    recommended_mode: str
    recommendation: str
    settings: dict[str, Any] = field(default_factory=dict)
    """The spec settings the estimate used (alpha, thresholds, min requests)."""

    def to_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["criteria"] = [c.to_dict() for c in self.criteria]
        return out


# ------------------------------------------------------------------------ the sizes


def _first_n(ok: Any, low: int = 2) -> int | None:
    """The smallest n >= low with ok(n) (ok monotone), or None below MAX_N."""
    n = max(low, 2)
    while not ok(n):
        n *= 2
        if n > MAX_N:
            return None
    lo, hi = n // 2, n
    while lo + 1 < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi if hi >= low else low


def latency_requests(
    quantile_of: Any, quantile: float, ratio_max: float, alpha: float, min_n: int
) -> int | None:
    """Requests per arm until the p95-ratio interval of two arms drawn from one
    distribution (`quantile_of(u)`) lies below `ratio_max`."""
    from core.stats.sequential import order_bounds

    def ok(n: int) -> bool:
        k_lo, k_hi = order_bounds(n, quantile, alpha / 2.0, 1000)
        if k_lo < 1 or k_hi >= n:
            return False
        low, high = quantile_of(k_lo / n), quantile_of(min((k_hi + 1) / n, 1.0))
        return bool(low > 0 and high / low < ratio_max)

    return _first_n(ok, min_n)


def mixture_requests(sd_a: float, sd_b: float, gap: float, alpha: float, min_n: int) -> int | None:
    """Requests per arm until the mixture sequence's half-width (two streams, equal n,
    `tau` of the rollout's tests) is below `gap`."""
    from core.stats.sequential import DEFAULT_TAU, mixture_radius

    if gap <= 0 or not math.isfinite(gap):
        return None
    tau_abs = DEFAULT_TAU * math.sqrt((sd_a**2 + sd_b**2) / 2.0)
    if tau_abs <= 0:
        return None

    def ok(n: int) -> bool:
        variance = (sd_a**2 + sd_b**2) / n
        return mixture_radius(variance, tau_abs**2, alpha) < gap

    return _first_n(ok, min_n)


# --------------------------------------------------------------------- what is known


def _recent_requests(ws: Workspace, model: str, run_id: str | None) -> dict[str, Any]:
    """Online requests of the model over the last days, and a sample of the prod run's."""
    from core.operations.rollouts.observations import is_error, log_files

    until = clock.now()
    since = until - timedelta(days=RATE_DAYS)
    needle = model.encode()
    count = 0
    first = last = None
    latency: list[float] = []
    cpu: list[float] = []
    errors = served = 0
    for source in log_files(ws, clock.iso(since), clock.iso(until)):
        try:
            data = source.data()
        except OSError:
            continue
        if b"online" not in data or needle not in data:
            continue
        defaults: dict[str, Any] = {}
        for line in data.split(b"\n")[:-1]:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if not isinstance(record, dict):
                continue
            if "request_id" not in record and "latency_ms" not in record:
                defaults.update(record)
                continue
            row = {**defaults, **record}
            if row.get("model") != model or row.get("mode") != "online":
                continue
            count += 1
            ts = str(row.get("ts") or "")
            first = ts if first is None or ts < first else first
            last = ts if last is None or ts > last else last
            if run_id is not None and row.get("run_id") != run_id:
                continue
            failed = is_error(row.get("status"), row.get("error_code"))
            if failed is None:
                continue
            served += 1
            errors += int(failed)
            value = row.get("latency_ms")
            if not failed and isinstance(value, (int, float)) and len(latency) < SAMPLE_LIMIT:
                latency.append(float(value))
                spent = row.get("cpu_ms")
                if isinstance(spent, (int, float)):
                    cpu.append(float(spent))
    hours = None
    if first and last:
        span = (clock.parse_iso(last) - clock.parse_iso(first)).total_seconds() / 3600.0
        hours = max(span, 1.0)
    return {
        "count": count, "hours": hours, "latency": latency, "cpu": cpu, "errors": errors,
        "served": served,
    }  # fmt: skip


def _labelled_per_day(ws: Workspace, model: str) -> tuple[float | None, str]:
    from core.data.snapshots import list_manifests

    dataset = ws.model(model).dataset
    manifests = list_manifests(ws, dataset)
    if not manifests:
        return None, f"no snapshot of {dataset}"
    newest = max(manifests, key=lambda m: str((m.get("time_range") or ["", ""])[1]))
    start, end = (newest.get("time_range") or [None, None])[:2]
    rows = newest.get("rows")
    if not (start and end and isinstance(rows, int)):
        return None, f"snapshot {newest.get('id')} has no time range"
    days = max((clock.parse_iso(str(end)) - clock.parse_iso(str(start))).days + 1, 1)
    return rows / days, f"{rows} rows over {days} days in snapshot {newest.get('id')}"


def _row_losses(report: dict[str, Any], metric: str) -> Any:
    import numpy as np

    from core.experiments.report import Predictions
    from core.stats.losses import row_losses

    predictions = Predictions.from_dict(report.get("predictions"))
    if predictions is None or not len(predictions):
        return None
    y = np.asarray(predictions.y, dtype=float)
    p = np.asarray(predictions.prediction, dtype=float)
    keep = np.isfinite(y) & np.isfinite(p)
    return row_losses(metric, y[keep], p[keep])


def _loss_metric(ws: Workspace, model: str) -> str:
    from core.stats.losses import ROW_MEAN_METRICS

    config = ws.model(model)
    if config.primary_metric in ROW_MEAN_METRICS:
        return config.primary_metric
    return "logloss" if config.task == "classification" else "mse"


# ------------------------------------------------------------------------- the plan


def plan_rollout(
    ws: Workspace, model: str, run_ref: str, *, mode: str = "canary", **settings: Any
) -> RolloutPlan:
    """How long until a rollout of `run_ref` can decide, per criterion (reads only)."""
    import numpy as np

    from core.operations.common import load_run
    from core.operations.rollouts.spec import DEFAULT_STEPS, RolloutSpec, validate
    from core.operations.tier_state import read_tiers
    from core.stats.sequential import PROPORTION_MIN_N, smoothed_variance

    ws.model(model)
    report = load_run(ws, run_ref)
    challenger = str(report["run_id"])
    stable = read_tiers(ws, model).get("prod")
    prod_gate = ws.config.gates["prod"]
    # The defaults `rollout start` would use (`actions.build_spec`), then the caller's.
    values: dict[str, Any] = {
        "latency_ratio_max": prod_gate.latency_ratio_max,
        "quality_min_effect": max(prod_gate.min_delta, 0.0),
        "price_per_cpu_hour": ws.config.cost.price_per_cpu_hour,
        "currency": ws.config.cost.currency,
        **{k: v for k, v in settings.items() if v is not None},
    }
    spec = validate(
        RolloutSpec(
            model=model, stable=str(stable or "-"), challenger=challenger, mode=mode,
            steps=DEFAULT_STEPS.get(mode, ()), **values,
        )
    )  # fmt: skip
    alpha = spec.alpha / len(spec.criteria_names())
    share = 1.0 if mode == "shadow" else spec.steps[-1]
    arm_share = 1.0 if mode == "shadow" else min(share, 1.0 - share)
    seen = _recent_requests(ws, model, stable)
    rate = seen["count"] / seen["hours"] if seen["hours"] else None
    rate_basis = (
        f"{seen['count']} online requests logged over {seen['hours']:.1f} h"
        if rate is not None
        else f"no online request of {model} logged in the last {RATE_DAYS} days"
    )

    def hours_for(n: int | None, per_hour: float | None) -> float | None:
        if n is None or not per_hour:
            return None
        return n / (per_hour * arm_share)

    criteria = []
    lat = np.asarray(seen["latency"], dtype=float)
    lat = lat[lat > 0]
    if lat.size >= 50:

        def quantile_of(u: float) -> float:
            return float(np.quantile(lat, u))

        basis = f"{lat.size} logged latencies of {stable}"
    else:

        def quantile_of(u: float) -> float:
            from statistics import NormalDist

            return math.exp(
                ASSUMED_LATENCY_SIGMA * NormalDist().inv_cdf(min(max(u, 1e-9), 1 - 1e-9))
            )

        basis = f"assumed lognormal latencies (sigma {ASSUMED_LATENCY_SIGMA}): none logged"
    n_lat = latency_requests(
        quantile_of, spec.latency_quantile, spec.latency_ratio_max, alpha, spec.min_requests
    )
    criteria.append(CriterionPlan("latency_p95_ratio", n_lat, hours_for(n_lat, rate), basis,
                                  "for a challenger as fast as the stable run"))  # fmt: skip
    if seen["served"] >= 100:
        p = (seen["errors"] + 0.5) / (seen["served"] + 1.0)
        basis = f"error rate {seen['errors']}/{seen['served']} of {stable}"
    else:
        p, basis = ASSUMED_ERROR_RATE, f"assumed error rate {ASSUMED_ERROR_RATE:g}: too few logged"
    # The sequence keeps the largest per-trial variance seen at a counted look: the
    # smoothed one at its first look, (events + 0.5) / (trials + 1), dominates at low rates.
    first = max(spec.min_requests, PROPORTION_MIN_N)
    sd = math.sqrt(max(p * (1 - p), smoothed_variance(round(p * first), first)))
    n_err = mixture_requests(sd, sd, spec.error_rate_margin, alpha, max(spec.min_requests, 100))
    criteria.append(CriterionPlan("error_rate_difference", n_err, hours_for(n_err, rate), basis,
                                  f"for equal error rates, margin {spec.error_rate_margin:g}"))  # fmt: skip
    cpu = np.asarray(seen["cpu"], dtype=float)
    if cpu.size >= 50 and cpu.mean() > 0:
        cv, basis = float(cpu.std(ddof=1) / cpu.mean()), f"{cpu.size} logged CPU times of {stable}"
    else:
        cv, basis = ASSUMED_CPU_CV, f"assumed CPU-time spread (cv {ASSUMED_CPU_CV}): none logged"
    r = spec.cost_ratio_max
    n_cost = mixture_requests(r * cv, cv, r - 1.0, alpha, max(spec.min_requests, 30))
    criteria.append(CriterionPlan("cost_per_1000_ratio", n_cost, hours_for(n_cost, rate), basis,
                                  "for a challenger as costly as the stable run"))  # fmt: skip

    labelled, label_basis = _labelled_per_day(ws, model)
    metric = _loss_metric(ws, model)
    quality_online, quality_note = False, ""
    losses_b = _row_losses(report, metric)
    losses_a = _row_losses(load_run(ws, stable), metric) if stable else None
    n_q: int | None = None
    days_q: float | None = None
    if losses_a is None or losses_b is None or not losses_a.size or not losses_b.size:
        quality_note = "no per-row backtest predictions for both runs: quality cannot be sized"
    else:
        improvement = float(losses_a.mean() - losses_b.mean())
        gap = improvement - spec.quality_min_effect
        n_q = mixture_requests(
            float(losses_a.std(ddof=1)), float(losses_b.std(ddof=1)), gap, alpha, 30
        )
        per_day = None if labelled is None else labelled * arm_share
        if rate is not None and per_day is not None:
            per_day = min(per_day, rate * 24.0 * arm_share)
        if n_q is None:
            quality_note = (
                f"offline the challenger improves {metric} by {improvement:+.4g}, not more than "
                f"the minimum effect {spec.quality_min_effect:g}: quality would never pass"
            )
        elif per_day:
            days_q = n_q / per_day
            quality_online = days_q <= QUALITY_MAX_DAYS
            quality_note = (
                f"{n_q} labelled predictions per arm ({metric}, offline improvement "
                f"{improvement:+.4g}); at {per_day:.3g} a day per arm ({label_basis}) that is "
                f"{days_q:,.0f} days"
            )
            if not quality_online:
                quality_note += (
                    f": quality cannot be decided online (more than {QUALITY_MAX_DAYS:g} days); "
                    "use a shadow for latency, errors and cost, and the backtest for quality"
                )
        else:
            quality_note = (
                f"{n_q} labelled predictions per arm; labels per day unknown ({label_basis})"
            )
    criteria.append(CriterionPlan(
        "quality", n_q, days_q * 24.0 if days_q is not None else None,
        f"backtest per-row {metric} of both runs", quality_note,
    ))  # fmt: skip

    required = [c for c in criteria if c.name != "quality" or spec.quality == "required"]
    needs = [c.requests_per_arm for c in required]
    most = None if any(n is None for n in needs) else max(n for n in needs if n is not None)
    hours = hours_for(most, rate)
    analyses = math.ceil(hours * 3600.0 / spec.interval_s) if hours is not None else None
    if stable is None:
        recommended, words = mode, f"nothing is in prod: promote {challenger} directly"
    elif not quality_online and mode != "shadow":
        recommended = "shadow"
        words = (
            f"quality cannot be decided online; a shadow measures latency, errors and cost on "
            f"every request without serving the challenger: `factory rollout start {model} "
            f"--run {challenger} --mode shadow`, then a canary for exposure"
        )
    else:
        recommended = mode
        words = f"`factory rollout start {model} --run {challenger} --mode {mode}`"
    if analyses is not None and analyses > spec.inconclusive_limit:
        words += (
            f"; it needs about {analyses} analyses at a {spec.interval_s:g} s interval, more than "
            f"the inconclusive limit {spec.inconclusive_limit}: raise --interval or "
            "--inconclusive-limit"
        )
    elif rate is None:
        words += "; no online traffic logged yet, so no time estimate"
    return RolloutPlan(
        model=model, stable=stable, challenger=challenger, mode=mode, share=share,
        requests_per_hour=rate, rate_basis=rate_basis, labelled_per_day=labelled,
        criteria=criteria, requests_per_arm=most, hours=hours, analyses=analyses,
        interval_s=spec.interval_s, inconclusive_limit=spec.inconclusive_limit,
        quality_online=quality_online, quality_note=quality_note,
        recommended_mode=recommended, recommendation=words,
        settings={
            "alpha": spec.alpha, "alpha_per_criterion": alpha,
            "latency_ratio_max": spec.latency_ratio_max,
            "error_rate_margin": spec.error_rate_margin, "cost_ratio_max": spec.cost_ratio_max,
            "min_requests": spec.min_requests, "quality_min_effect": spec.quality_min_effect,
            "loss_metric": metric,
        },
    )  # fmt: skip
