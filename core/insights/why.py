"""`factory why COMPONENT`: every run that used a component version, how it did against
its baseline, and the notes, plans and ADRs that mention it.

The baseline of a run is an earlier run of the same model and cohort (the same snapshot,
validation settings and labels: its rows can be paired) that did not use this version of
the component: the newest one that differs *only* in this component when there is one (the
change's own effect), else the best one (`differs_in` then names everything else that
differed, and the verdict says it is confounded). Leaky runs are never baselines. ADRs and notes
are matched by the full reference (`features/weather_v2`), and by the bare version name only
when no other kind has a version of that name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.experiments.readers import component_versions, load_report, model_reports, primary
from core.experiments.report import RunReport
from core.foundation.workspace import Workspace
from core.verdicts.pairs import RunComparison, compare_reports


@dataclass(frozen=True)
class WhyRun:
    run_id: str
    model: str
    created_at: str | None
    metric: str | None
    mean: float | None
    baseline_run_id: str | None
    baseline_version: str | None
    """The version of the component the baseline used instead."""
    differs_in: list[str]
    """Every component kind or hyperparameter in which run and baseline differ (more than the
    component itself: confounded)."""
    comparison: dict[str, Any] | None
    """Paired delta against the baseline, when they share test windows."""
    verdict: str
    """better, worse, inconclusive, or `no baseline`."""
    one_factor: bool = False
    """The baseline differs from the run in this component only."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "model": self.model,
            "created_at": self.created_at,
            "metric": self.metric,
            "mean": self.mean,
            "baseline_run_id": self.baseline_run_id,
            "baseline_version": self.baseline_version,
            "differs_in": self.differs_in,
            "comparison": self.comparison,
            "verdict": self.verdict,
            "one_factor": self.one_factor,
        }


@dataclass(frozen=True)
class WhyResult:
    component: str
    kind: str
    version: str
    exists: bool
    """Whether the version is still in the registry (a deleted version keeps its history)."""
    runs: list[WhyRun]
    notes: list[dict[str, Any]]
    plans: list[dict[str, Any]]
    adrs: list[dict[str, Any]]
    tally: dict[str, int]
    summary: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "component": self.component,
            "kind": self.kind,
            "version": self.version,
            "exists": self.exists,
            "summary": self.summary,
            "tally": self.tally,
            "runs": [r.to_dict() for r in self.runs],
            "notes": self.notes,
            "plans": self.plans,
            "adrs": self.adrs,
        }


def _better(a: float, b: float, direction: str) -> bool:
    return a < b if direction == "minimize" else a > b


def _differences(run: dict[str, Any], other: dict[str, Any]) -> list[str]:
    mine, theirs = component_versions(run), component_versions(other)
    found = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
    params_a, params_b = run.get("hparams") or {}, other.get("hparams") or {}
    if "hparams" not in found:
        found += sorted(
            f"hparams.{k}"
            for k in set(params_a) | set(params_b)
            if params_a.get(k) != params_b.get(k)
        )
    return found


def _baseline(
    run: dict[str, Any], earlier: list[dict[str, Any]], kind: str, version: str, direction: str
) -> tuple[dict[str, Any] | None, bool]:
    """(baseline, whether it differs in this component only)."""
    candidates = [
        r for r in earlier
        if component_versions(r).get(kind) != version
        and primary(r).get("mean") is not None
        and not r.get("leaky")
        and r.get("cohort") == run.get("cohort")
    ]  # fmt: skip
    if not candidates:
        return None, False
    one_factor = [r for r in candidates if _differences(run, r) == [kind]]
    if one_factor:
        return one_factor[-1], True
    best = candidates[0]
    for candidate in candidates[1:]:
        if _better(primary(candidate)["mean"], primary(best)["mean"], direction):
            best = candidate
    return best, False


def brief(comparison: RunComparison) -> dict[str, Any]:
    """A comparison in the few fields `why` answers with (`factory compare A B` has it all)."""
    decision: dict[str, Any] = dict(comparison.decision or {})
    return {
        "comparable": comparison.comparable,
        "why_not": comparison.why_not,
        "verdict": comparison.verdict,
        "metric": comparison.metric,
        "method": decision.get("method"),
        "estimate": decision.get("estimate"),
        "interval": decision.get("interval"),
        "p_value": decision.get("p_value"),
        "rows": comparison.rows,
        "wins": comparison.wins_b,
        "folds": len(comparison.folds),
        "reason": decision.get("reason") or comparison.why_not,
        "compare": f"factory compare {comparison.run_a} {comparison.run_b}",
    }


def _unique_version(ws: Workspace, kind: str, version: str) -> list[str]:
    """The bare version name as a needle too, but only when no other kind has a version of
    that name: `h2` can then only mean `hparams/h2`."""
    from core.components.registry import list_components
    from core.foundation.errors import FactoryError

    try:
        others = [c for c in list_components(ws) if c.version == version and c.kind != kind]
    except FactoryError:
        return []
    return [] if others else [version]


def why_component(ws: Workspace, ref: str) -> WhyResult:
    from core.components.registry import get_component, parse_ref
    from core.foundation.errors import FactoryError
    from core.records.adrs import mentions, mentions_any
    from core.records.card_store import card_models, card_path, read_card

    kind, version = parse_ref(ref)
    component = f"{kind}/{version}"
    missing: FactoryError | None = None
    try:
        get_component(ws, kind, version)
    except FactoryError as exc:
        missing = exc  # a deleted version may still have runs, notes and ADRs to tell of
    exists = missing is None
    runs: list[WhyRun] = []
    for model, config in ws.config.models.items():
        reports = model_reports(ws, model)
        for index, report in enumerate(reports):
            if component_versions(report).get(kind) != version:
                continue
            info = primary(report)
            direction = str(info.get("direction") or config.direction)
            metric = str(info.get("name") or config.primary_metric)
            base, one_factor = _baseline(report, reports[:index], kind, version, direction)
            comparison = None
            if base is not None:
                left = load_report(ws, str(base["run_id"]))
                right = load_report(ws, str(report["run_id"]))
                if left is not None and right is not None:
                    comparison = compare_reports(
                        RunReport.from_dict(left), RunReport.from_dict(right)
                    )
            verdict = "no baseline"
            if comparison is not None:
                verdict = comparison.verdict if comparison.comparable else "not comparable"
            runs.append(
                WhyRun(
                    run_id=str(report["run_id"]),
                    model=model,
                    created_at=report.get("created_at"),
                    metric=metric,
                    mean=info.get("mean"),
                    baseline_run_id=base.get("run_id") if base else None,
                    baseline_version=component_versions(base).get(kind) if base else None,
                    differs_in=_differences(report, base) if base else [],
                    comparison=brief(comparison) if comparison else None,
                    verdict=verdict,
                    one_factor=one_factor,
                )
            )
    run_ids = {r.run_id for r in runs}
    needles = [component, *_unique_version(ws, kind, version)]
    notes: list[dict[str, Any]] = []
    plans: list[dict[str, Any]] = []
    for model in card_models(ws):
        if not card_path(ws, model).is_file():
            continue
        card = read_card(ws, model)
        for note in card.notes:
            text = f"{note.get('text', '')} {note.get('next') or ''}"
            if note.get("run_id") in run_ids or mentions_any(text, needles):
                notes.append({"model": model, **note})
        for plan in card.plans:
            if plan.components.get(kind) == version or mentions_any(
                f"{plan.intent} {plan.expect}", needles
            ):
                plans.append(plan.to_dict())
    tally: dict[str, int] = {}
    for run in runs:
        tally[run.verdict] = tally.get(run.verdict, 0) + 1
    adrs = mentions(ws, needles)
    if missing is not None and not (runs or notes or plans or adrs):
        raise missing  # nothing ever knew it: most likely a typo, and the error lists versions
    if runs:
        parts = ", ".join(f"{count} {verdict}" for verdict, count in sorted(tally.items()))
        summary = f"{component} was used by {len(runs)} run(s); against their baselines: {parts}."
    else:
        summary = f"No run has used {component} yet."
    if notes:
        summary += f" {len(notes)} note(s) mention it."
    if adrs:
        summary += f" ADR(s) {', '.join(str(a['number']) for a in adrs)} mention it."
    return WhyResult(component, kind, version, exists, runs, notes, plans, adrs, tally, summary)
