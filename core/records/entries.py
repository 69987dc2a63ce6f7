"""One run as a card records it: the facts a reader needs, and nothing a report holds better.

An entry is built from the run index's summary of the run (`core.experiments.index.summarize`),
so a run recorded as it finishes and a run brought back onto the card later (a plan, tier,
note or ADR names it) read the same. Per-fold numbers, curves, reproducibility and timings stay
in `reports/<run_id>.json`.
"""

from __future__ import annotations

from typing import Any

ENTRY_KEYS = (
    "run_id", "created_at", "kept_for", "plan_id", "snapshot_id", "cohort", "leaky",
    "components", "metric", "baseline", "expectation", "component_changed",
)  # fmt: skip
"""The keys of a run on the card, in the order they are written."""


def _round(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return round(float(value), 6)


def entry_from_report(report: dict[str, Any]) -> dict[str, Any]:
    """The card entry of a full run report (without an expectation: its plan sets that)."""
    from core.experiments.index import summarize

    return entry_from_summary(summarize(report))


def entry_from_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """The card entry of a run index summary (`read_summaries` or `summarize`)."""
    primary = summary.get("primary") or {}
    baselines = summary.get("baselines")
    return {
        "run_id": summary["run_id"],
        "created_at": summary.get("created_at"),
        "plan_id": summary.get("plan_id"),
        "snapshot_id": summary.get("snapshot_id"),
        "cohort": summary.get("cohort"),
        "leaky": bool(summary.get("leaky")),
        "components": {str(k): str(v) for k, v in (summary.get("components") or {}).items()},
        "metric": {
            "name": primary.get("name"),
            "direction": primary.get("direction"),
            "mean": _round(primary.get("mean")),
            "std": _round(primary.get("std")),
        },
        "baseline": {
            "best": baselines.get("best"),
            "skill": _round(baselines.get("skill")),
            "verdict": baselines.get("verdict"),
        }
        if isinstance(baselines, dict)
        else None,
        "expectation": None,
        "component_changed": [str(c) for c in summary.get("component_changed") or []],
    }


def expectation_of(plan: dict[str, Any]) -> dict[str, Any] | None:
    """What a run's entry says of the plan it carried out: the expectation and whether it held
    (the checks behind the verdict stay with the plan)."""
    verdict = plan.get("verdict")
    if not isinstance(verdict, dict):
        return None
    return {
        "plan_id": plan.get("plan_id"),
        "expect": plan.get("expect"),
        "held": verdict.get("held"),
        "reason": verdict.get("reason"),
    }


def restored(summary: dict[str, Any], plans: list[dict[str, Any]]) -> dict[str, Any]:
    """The entry of a run the card does not hold, from its index summary, with the
    expectation of the newest plan it carried out."""
    entry = entry_from_summary(summary)
    plan = next(
        (p for p in reversed(plans) if isinstance(p, dict) and p.get("run_id") == entry["run_id"]),
        None,
    )
    if plan is not None:
        entry["plan_id"] = plan.get("plan_id")
        entry["expectation"] = expectation_of(plan)
    return entry


def slim(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry in the card's current shape: a version-1 entry (every metric, the
    reproducibility block, the checks behind its expectation) loses what its report holds."""
    kept = {k: entry.get(k) for k in ENTRY_KEYS if k in entry and k != "kept_for"}
    expectation = entry.get("expectation")
    if isinstance(expectation, dict):
        kept["expectation"] = {
            "plan_id": expectation.get("plan_id", entry.get("plan_id")),
            "expect": expectation.get("expect"),
            "held": expectation.get("held"),
            "reason": expectation.get("reason"),
        }
    return {k: kept[k] for k in ENTRY_KEYS if k in kept}
