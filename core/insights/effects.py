"""`factory effects MODEL`: which changes moved the primary metric.

Only pairs of runs that differ in exactly one thing count (one component version, or one
hyperparameter value with everything else equal), in one cohort (the same snapshot,
validation settings and labels) and never a leaky run, so each pair's comparison is the
effect of that one change (adrs/0011). Each pair is judged by the one statistics module on
the two runs' rows (`core.verdicts.pairs`); several pairs of one change are pooled by inverse
variance, and a change "helps" only when the pooled interval says so and no pair says the
opposite. Per change: the pairs, the pooled improvement with its interval, and a verdict.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from core.experiments.readers import component_versions, hparam_values, model_reports
from core.foundation.workspace import Workspace


@dataclass(frozen=True)
class Effect:
    factor: str
    """`features`, `hparams`, or `hparams.depth` for one hyperparameter value."""
    change: str
    """`from -> to`, e.g. `weather_v1 -> weather_v2` or `4 -> 6`."""
    pairs: int
    mean_delta: float
    """Mean over pairs of the metric's own delta (to minus from), in its units."""
    improvement: float | None
    """Pooled improvement (positive = the change is better), in the test's units: the metric
    for AUC, the per-row loss for row-mean metrics."""
    interval: list[float | None]
    """95% interval of `improvement`."""
    verdict: str
    """helps, hurts or inconclusive."""
    reason: str
    runs: list[list[str]]
    """The (from, to) run id pairs behind the estimate."""
    pair_verdicts: list[str]
    """Each pair's own verdict (better, worse, inconclusive for the change)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "factor": self.factor,
            "change": self.change,
            "pairs": self.pairs,
            "mean_delta": round(self.mean_delta, 6),
            "improvement": None if self.improvement is None else round(self.improvement, 6),
            "interval": [None if v is None else round(v, 6) for v in self.interval],
            "verdict": self.verdict,
            "reason": self.reason,
            "runs": self.runs,
            "pair_verdicts": self.pair_verdicts,
        }


VERDICT_WORDS = {"better": "helps", "worse": "hurts", "inconclusive": "inconclusive"}


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
    versions["cohort"] = str(report.get("cohort"))
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
        if kind in ("snapshot", "seed", "cohort", "labels", "metrics"):
            return None  # other data or another target: not an effect of a choice
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
    from core.experiments.readers import load_report
    from core.experiments.report import RunReport
    from core.verdicts.pairs import compare_reports, pool

    config = ws.model(model)
    reports = [r for r in model_reports(ws, model) if r.get("folds") and not r.get("leaky")]
    descriptors = [_descriptor(ws, r) for r in reports]
    full: dict[str, RunReport | None] = {}

    def report_of(run_id: str) -> RunReport | None:
        if run_id not in full:
            raw = load_report(ws, run_id)
            full[run_id] = RunReport.from_dict(raw) if raw is not None else None
        return full[run_id]

    groups: dict[tuple[str, str], list[tuple[Any, list[str]]]] = {}
    pair_count = 0
    for i, j in _candidate_pairs(descriptors):
        a, b = reports[i], reports[j]
        diff = _one_difference(descriptors[i], descriptors[j])
        if diff is None:
            continue
        factor, value_a, value_b = diff
        # Orient every pair the same way (from the smaller value to the larger) so that the
        # pairs of one change pool meaningfully.
        if _sort_key(value_a) > _sort_key(value_b):
            a, b, value_a, value_b = b, a, value_b, value_a
        left, right = report_of(str(a["run_id"])), report_of(str(b["run_id"]))
        if left is None or right is None:
            continue
        comparison = compare_reports(left, right)
        if not comparison.comparable:
            continue
        pair_count += 1
        key = (factor, f"{value_a} -> {value_b}")
        groups.setdefault(key, []).append((comparison, [left.run_id, right.run_id]))
    effects = []
    for (factor, change), items in groups.items():
        comparisons = [c for c, _ in items]
        pooled = pool(comparisons)
        deltas = [d for c in comparisons if (d := (c.decision or {}).get("estimate")) is not None]
        effects.append(
            Effect(
                factor=factor,
                change=change,
                pairs=len(items),
                mean_delta=sum(deltas) / len(deltas) if deltas else math.nan,
                improvement=pooled.improvement,
                interval=[pooled.low, pooled.high],
                verdict=VERDICT_WORDS[pooled.verdict],
                reason=pooled.reason,
                runs=[runs for _, runs in items],
                pair_verdicts=[VERDICT_WORDS[c.verdict] for c in comparisons],
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
