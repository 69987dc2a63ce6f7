"""`factory compare A B`: run B against run A on A's primary metric, row by row.

The verdict is `core.verdicts.pairs.compare_reports`'s; this shapes it for the command and
the dashboard (per-fold scores beside it, the other metrics' means)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from core.experiments import index
from core.foundation.errors import ExitCode, FactoryError
from core.foundation.workspace import Workspace
from core.stats.decide import DecisionData
from core.verdicts.pairs import FoldDelta


@dataclass(frozen=True)
class CompareResult:
    run_a: str
    run_b: str
    model: str
    metric: str
    direction: str
    folds: list[FoldDelta]
    """Per shared test window: A's and B's score, b - a, and who won (`FoldDelta`)."""
    mean_a: float | None
    mean_b: float | None
    mean_delta: float | None
    """B - A in the metric's own units: on the rows both runs predicted when the test stands
    on rows, else the mean over folds."""
    interval: list[float | None]
    """95% interval of `mean_delta` (None bounds when the test has no interval)."""
    wins_b: int
    wins_a: int
    ties: int
    verdict: str
    """B against A: `better`, `worse` or `inconclusive`."""
    method: str
    """The test: `diebold-mariano` (row losses), `delong-folds` (AUC), `fold-t`."""
    rows: int
    """Test rows both runs predicted."""
    decision: DecisionData | None
    """The decision with its numbers and one sentence why (`core.stats.decide`)."""
    other_metrics: dict[str, dict[str, float | None]]
    """Mean of A, B and b - a for every other metric both runs hold."""
    summary: str

    def to_dict(self) -> dict[str, Any]:
        from core.foundation.plain import to_plain

        return {name: to_plain(getattr(self, name)) for name in self.__dataclass_fields__}


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def compare_runs(ws: Workspace, run_a: str, run_b: str) -> CompareResult:
    """B against A on the primary metric of A's model (`core.verdicts.pairs`)."""
    from core.experiments.report import RunReport
    from core.verdicts.pairs import compare_reports

    a = RunReport.from_dict(index.load_report(ws, run_a))
    b = RunReport.from_dict(index.load_report(ws, run_b))
    result = compare_reports(a, b)
    if not result.comparable:
        raise FactoryError(
            "not_comparable",
            f"{a.run_id} and {b.run_id} cannot be compared: {result.why_not}",
            hint="Compare runs of one cohort: the same snapshot, [validation] settings and "
            f"labels (`factory runs {a.model}` shows each run's cohort).",
            details={"run_a": a.run_id, "run_b": b.run_id, "why": result.why_not},
            exit_code=ExitCode.INPUT,
        )
    decision: dict[str, Any] = dict(result.decision or {})
    interval = list(decision.get("interval") or [None, None])
    others: dict[str, dict[str, float | None]] = {}
    for name, agg in a.aggregate.items():
        if name == result.metric or name not in b.aggregate:
            continue
        ma, mb = agg.mean, b.aggregate[name].mean
        others[name] = {
            "a": ma,
            "b": mb,
            "delta": mb - ma if ma is not None and mb is not None else None,
        }
    return CompareResult(
        run_a=a.run_id,
        run_b=b.run_id,
        model=a.model,
        metric=result.metric,
        direction=result.direction,
        folds=result.folds,
        mean_a=a.primary_metric.mean,
        mean_b=b.primary_metric.mean,
        mean_delta=_finite(decision.get("estimate")),
        interval=interval,
        wins_b=result.wins_b,
        wins_a=result.wins_a,
        ties=result.ties,
        verdict=result.verdict,
        method=str(decision.get("method") or "none"),
        rows=result.rows,
        decision=result.decision,
        other_metrics=others,
        summary=result.summary,
    )
