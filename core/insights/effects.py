"""`factory effects MODEL`: which changes moved the primary metric.

Only pairs of runs that differ in exactly one thing count (one component version, or one
hyperparameter value with everything else equal), on the same snapshot and test windows, so
each pair's paired delta is the effect of that one change (adrs/0011). Per factor: the
number of pairs, the mean paired delta (oriented so that positive is an improvement), a 95%
interval, and a verdict.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from core.insights.paired import interval, paired_delta, sign_of
from core.insights.reports import component_versions, hparam_values, model_reports, primary
from core.workspace import Workspace


@dataclass(frozen=True)
class Effect:
    factor: str
    """`features`, `hparams`, or `hparams.depth` for one hyperparameter value."""
    change: str
    """`from -> to`, e.g. `weather_v1 -> weather_v2` or `4 -> 6`."""
    pairs: int
    mean_delta: float
    """Mean over pairs of the paired delta in the metric's units (to minus from)."""
    improvement: float
    """The same, oriented so that positive means better for this metric."""
    interval: list[float | None]
    """95% t-interval of the raw delta: over pairs, or over folds with a single pair."""
    verdict: str
    """helps, hurts or inconclusive."""
    runs: list[list[str]]
    """The (from, to) run id pairs behind the estimate."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "factor": self.factor,
            "change": self.change,
            "pairs": self.pairs,
            "mean_delta": round(self.mean_delta, 6),
            "improvement": round(self.improvement, 6),
            "interval": [None if v is None else round(v, 6) for v in self.interval],
            "verdict": self.verdict,
            "runs": self.runs,
        }


@dataclass(frozen=True)
class EffectsResult:
    model: str
    metric: str
    direction: str
    runs: int
    pairs: int
    effects: list[Effect]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "metric": self.metric,
            "direction": self.direction,
            "runs": self.runs,
            "pairs": self.pairs,
            "effects": [e.to_dict() for e in self.effects],
        }


def _descriptor(ws: Workspace, report: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """(component versions without hparams, hparam values) of a run: the things that can
    differ between two runs."""
    versions = component_versions(report)
    # Runs on another snapshot or seed differ in more than the factor under study.
    versions["snapshot"] = str(report.get("snapshot_id"))
    versions["seed"] = str(report.get("seed", (report.get("reproducibility") or {}).get("seed")))
    values = hparam_values(ws, report)
    if values is None:
        # Unknown values: compare the hparams version like any other component.
        return versions, {}
    versions = {k: v for k, v in versions.items() if k != "hparams"}
    return versions, {**values, "__hparams__": component_versions(report).get("hparams")}


def _one_difference(
    a: tuple[dict[str, str], dict[str, Any]], b: tuple[dict[str, str], dict[str, Any]]
) -> tuple[str, Any, Any] | None:
    """The single factor in which two runs differ, or None (zero or several)."""
    comps_a, hp_a = a
    comps_b, hp_b = b
    comp_diff = [k for k in sorted(set(comps_a) | set(comps_b)) if comps_a.get(k) != comps_b.get(k)]
    values_a = {k: v for k, v in hp_a.items() if k != "__hparams__"}
    values_b = {k: v for k, v in hp_b.items() if k != "__hparams__"}
    hp_diff = [
        k for k in sorted(set(values_a) | set(values_b)) if values_a.get(k) != values_b.get(k)
    ]
    if len(comp_diff) == 1 and not hp_diff:
        kind = comp_diff[0]
        if kind in ("snapshot", "seed"):
            return None
        return kind, comps_a.get(kind), comps_b.get(kind)
    if not comp_diff and len(hp_diff) == 1:
        key = hp_diff[0]
        return f"hparams.{key}", values_a.get(key), values_b.get(key)
    if not comp_diff and len(hp_diff) > 1:
        return "hparams", hp_a.get("__hparams__"), hp_b.get("__hparams__")
    return None


def _frozen(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _candidate_pairs(
    descriptors: list[tuple[dict[str, str], dict[str, Any]]],
) -> list[tuple[int, int]]:
    """Index pairs that can differ in one thing only: runs bucketed by everything but one
    factor, so 10,000 runs are not compared all against all."""
    buckets: dict[tuple[str, str], list[int]] = {}
    files: dict[str, dict[str, list[int]]] = {}
    for index, (components, hparams) in enumerate(descriptors):
        values = {k: v for k, v in hparams.items() if k != "__hparams__"}
        everything = {**{f"c:{k}": v for k, v in components.items()},
                      **{f"h:{k}": v for k, v in values.items()}}  # fmt: skip
        for factor in everything:
            rest = {k: v for k, v in everything.items() if k != factor}
            buckets.setdefault((factor, _frozen(rest)), []).append(index)
        # Several hyperparameter values changed at once: only across hparams files.
        files.setdefault(_frozen(components), {}).setdefault(
            str(hparams.get("__hparams__")), []
        ).append(index)
    pairs: set[tuple[int, int]] = set()
    for members in buckets.values():
        pairs.update(combinations(members, 2))
    for by_file in files.values():
        for left, right in combinations(by_file.values(), 2):
            pairs.update((min(i, j), max(i, j)) for i in left for j in right)
    return sorted(pairs)


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value)
    return (1, str(value))


def component_effects(ws: Workspace, model: str) -> EffectsResult:
    from core.cards.api import _fresh_meta

    config = ws.config.models.get(model)
    if config is None:
        _fresh_meta(ws, model)  # raises unknown_model with the list of models
    assert config is not None
    reports = [r for r in model_reports(ws, model) if r.get("folds")]
    descriptors = [_descriptor(ws, r) for r in reports]
    groups: dict[tuple[str, str], list[tuple[float, list[float], list[str]]]] = {}
    pair_count = 0
    for i, j in _candidate_pairs(descriptors):
        a, b = reports[i], reports[j]
        diff = _one_difference(descriptors[i], descriptors[j])
        if diff is None:
            continue
        factor, value_a, value_b = diff
        # Orient every pair the same way (from the smaller value to the larger) so that the
        # deltas of one factor average meaningfully.
        if _sort_key(value_a) > _sort_key(value_b):
            a, b, value_a, value_b = b, a, value_b, value_a
        metric = str(primary(a).get("name") or config.primary_metric)
        delta = paired_delta(b, a, metric, config.direction)
        if delta is None or not delta.windows_match or delta.mean is None:
            continue
        pair_count += 1
        key = (factor, f"{value_a} -> {value_b}")
        groups.setdefault(key, []).append(
            (delta.mean, delta.deltas, [str(a["run_id"]), str(b["run_id"])])
        )
    sign = sign_of(config.direction)
    effects = []
    for (factor, change), items in groups.items():
        means = [m for m, _, _ in items]
        spread = interval(means) if len(means) > 1 else interval(items[0][1])
        mean = sum(means) / len(means)
        low, high = spread.low, spread.high
        if low is None or high is None:
            verdict = "inconclusive"
        elif sign * low > 0 and sign * high > 0:
            verdict = "helps"
        elif sign * low < 0 and sign * high < 0:
            verdict = "hurts"
        else:
            verdict = "inconclusive"
        effects.append(
            Effect(
                factor=factor,
                change=change,
                pairs=len(items),
                mean_delta=mean,
                improvement=sign * mean,
                interval=[low, high],
                verdict=verdict,
                runs=[runs for _, _, runs in items],
            )
        )
    effects.sort(key=lambda e: -abs(e.mean_delta) if math.isfinite(e.mean_delta) else 0.0)
    return EffectsResult(
        model=model,
        metric=config.primary_metric,
        direction=config.direction,
        runs=len(reports),
        pairs=pair_count,
        effects=effects,
    )
