"""Checking a plan's expectation against the run that carried it out.

Machine-checkable forms (clauses may be joined with `and`):
- `METRIC OP NUMBER`, OP one of >= > <= < ==, on the metric's mean over folds
  (`auc >= 0.72`, `mae < 2.5`);
- `beats RUN_ID` / `beats best`: the one paired comparison (`core.verdicts.pairs`) on the
  primary metric against that run (or the best earlier comparable, non-leaky run of the
  model); it holds when the verdict is `better`, fails on `worse`, and stays unchecked
  (`held: None`) when the comparison is inconclusive or impossible.
Anything else is free text: `held` stays None until a human gives a verdict.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NotRequired, TypedDict, cast

from core.experiments.readers import metric_mean

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
}
_THRESHOLD = re.compile(
    r"^(?P<metric>[A-Za-z][A-Za-z0-9_.-]*)\s*(?P<op>>=|<=|==|>|<)\s*(?P<value>[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)$"
)
_BEATS = re.compile(r"^beats\s+(?P<target>best|r-[a-z0-9]+)$", re.IGNORECASE)
NEEDS_HUMAN = "needs a human verdict"


class CheckData(TypedDict):
    """One clause of an expectation with the numbers behind it. A threshold clause
    (`auc >= 0.72`) has metric, op, target and actual; a `beats` clause is the paired
    comparison of the plan's run (B) against `run_a` (A)."""

    clause: str
    held: bool | None
    """True or False when it could be told, else None."""
    reason: NotRequired[str | None]
    metric: NotRequired[str]
    op: NotRequired[str]
    target: NotRequired[float]
    actual: NotRequired[float | None]
    run_a: NotRequired[str | None]
    """The run to beat (A); None when there was none."""
    verdict: NotRequired[str]
    """B against A: better, worse or inconclusive."""
    method: NotRequired[str | None]
    mean_delta: NotRequired[float | None]
    """B - A in the metric's own units."""
    interval: NotRequired[list[float | None] | None]
    wins_b: NotRequired[int]
    """Folds where B scored better."""
    fold_count: NotRequired[int]
    """Shared test folds."""


class VerdictData(TypedDict):
    """A plan's expectation checked against its run."""

    held: bool | None
    """True or False when the expectation is machine-checkable, None otherwise."""
    reason: str
    checks: list[CheckData]


_RENAMED = {"baseline": "run_a", "wins": "wins_b", "folds": "fold_count"}
"""Check keys as cards written before docs/vocabulary.md stored them -> their names now."""


def check_json(check: dict[str, Any]) -> CheckData:
    """A stored check in the current vocabulary (a card keeps what it was written with)."""
    return cast(CheckData, {_RENAMED.get(k, k): v for k, v in check.items()})


def verdict_json(verdict: dict[str, Any] | None) -> VerdictData | None:
    """A stored plan verdict (`{held, reason, checks}`) in the current vocabulary."""
    if not isinstance(verdict, dict):
        return None
    return {
        "held": verdict.get("held"),
        "reason": str(verdict.get("reason") or ""),
        "checks": [check_json(c) for c in verdict.get("checks") or [] if isinstance(c, dict)],
    }


@dataclass(frozen=True)
class Verdict:
    held: bool | None
    """True or False when the expectation is machine-checkable, None otherwise."""
    reason: str
    checks: list[CheckData] = field(default_factory=list)
    """One entry per clause with the numbers behind it."""

    def to_dict(self) -> VerdictData:
        return {"held": self.held, "reason": self.reason, "checks": list(self.checks)}


def parse(expect: str) -> list[tuple[str, re.Match[str]]] | None:
    """The clauses of a machine-checkable expectation, or None for free text."""
    text = expect.strip().rstrip(".").strip()
    if not text:
        return None
    clauses = []
    for part in re.split(r"\s+and\s+", text, flags=re.IGNORECASE):
        part = part.strip()
        match = _THRESHOLD.match(part)
        if match:
            clauses.append(("threshold", match))
            continue
        match = _BEATS.match(part)
        if match:
            clauses.append(("beats", match))
            continue
        return None
    return clauses


def evaluate(
    expect: str,
    report: dict[str, Any],
    *,
    primary_metric: str,
    direction: str,
    baseline_for: Callable[[str], dict[str, Any] | None],
) -> Verdict:
    """Check `expect` against `report`. `baseline_for("best" | run_id)` returns the report to
    beat, or None when there is none."""
    clauses = parse(expect)
    if clauses is None:
        return Verdict(None, NEEDS_HUMAN)
    checks: list[CheckData] = []
    results: list[bool | None] = []
    for kind, match in clauses:
        if kind == "threshold":
            metric, op, target = match["metric"].lower(), match["op"], float(match["value"])
            actual = metric_mean(report, metric)
            held = None if actual is None else _OPS[op](actual, target)
            checks.append(
                {
                    "clause": match.group(0),
                    "metric": metric,
                    "op": op,
                    "target": target,
                    "actual": None if actual is None else round(actual, 6),
                    "held": held,
                }
            )
            results.append(held)
        else:
            target_ref = match["target"].lower()
            baseline = baseline_for(target_ref)
            if baseline is None:
                checks.append(
                    {
                        "clause": match.group(0),
                        "run_a": None,
                        "held": None,
                        "reason": "no earlier run to compare with"
                        if target_ref == "best"
                        else f"no report for {target_ref}",
                    }
                )
                results.append(None)
                continue
            from core.experiments.report import RunReport
            from core.verdicts.pairs import compare_reports

            comparison = compare_reports(
                RunReport.from_dict(baseline),
                RunReport.from_dict(report),
                metric=primary_metric,
                direction=direction,
            )
            held = verdict_holds(comparison.verdict) if comparison.comparable else None
            decision: dict[str, Any] = dict(comparison.decision or {})
            checks.append(
                {
                    "clause": match.group(0),
                    "held": held,
                    "run_a": baseline.get("run_id"),
                    "verdict": comparison.verdict,
                    "method": decision.get("method"),
                    "mean_delta": decision.get("estimate"),
                    "interval": decision.get("interval"),
                    "wins_b": comparison.wins_b,
                    "fold_count": len(comparison.folds),
                    "reason": decision.get("reason") or comparison.why_not,
                }
            )
            results.append(held)
    if any(r is False for r in results):
        failed = [c for c in checks if c["held"] is False]
        return Verdict(False, "did not hold: " + "; ".join(_explain(c) for c in failed), checks)
    if all(r is True for r in results):
        return Verdict(True, "held", checks)
    return Verdict(
        None,
        "could not be checked: "
        + "; ".join(
            str(c.get("reason") or "metric missing from the report")
            for c in checks
            if c["held"] is None
        ),
        checks,
    )


def verdict_holds(verdict: str) -> bool | None:
    """`beats X` holds on better, fails on worse, and cannot be told on inconclusive."""
    if verdict == "better":
        return True
    if verdict == "worse":
        return False
    return None


def _explain(check: CheckData) -> str:
    if "actual" in check:
        return f"{check['metric']} is {check['actual']}, expected {check['op']} {check['target']}"
    low, high = check.get("interval") or [None, None]
    return (
        f"{check.get('verdict')} against {check.get('run_a')} (delta "
        f"{check.get('mean_delta')}, 95% interval [{low}, {high}], {check.get('method')}; "
        f"{check.get('wins_b')}/{check.get('fold_count')} folds better)"
    )
