"""Recording a run on its model's card: its entry, the plan it carried out and the verdict on
that plan's expectation; and finding any run's facts, whether the card still keeps it or not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.foundation.errors import ExitCode, FactoryError
from core.foundation.ids import validate_name
from core.foundation.workspace import Workspace
from core.records.card import Card
from core.records.card_store import card_models, card_path, read_card, update_card
from core.records.entries import entry_from_report, expectation_of, restored
from core.records.plans import matching_plan


def baseline_finder(
    ws: Workspace, model: str, entry: dict[str, Any]
) -> Callable[[str], dict[str, Any] | None]:
    """`beats best`: the best run of the model trained before this one, in its cohort (rows
    that pair), never a leaky run, from the run index; `beats r-x`: that run's report."""
    from core.experiments import index
    from core.experiments.readers import load_report

    def find(target: str) -> dict[str, Any] | None:
        if target != "best":
            return load_report(ws, target)
        created = str(entry.get("created_at") or "")
        summaries = [s for s in index.read_summaries(ws) if s.get("model") == model]
        own = next((s for s in summaries if s["run_id"] == entry["run_id"]), None)
        earlier = [
            s
            for s in summaries
            if s["run_id"] != entry["run_id"]
            and str(s.get("created_at") or "") <= created
            and not s.get("leaky")
            and (own is None or s.get("cohort") == own.get("cohort"))
        ]
        stats = index.stats_by_model(earlier).get(model) or {}
        best = (stats.get("best_by_cohort") or {}).get(str(own.get("cohort")) if own else "")
        if best is None and own is None:
            best = stats.get("best")
        return load_report(ws, best["run_id"]) if best else None

    return find


def _apply_run(
    ws: Workspace, meta: dict[str, Any], report: dict[str, Any], positions: dict[str, int]
) -> None:
    """Put the run's entry in `meta["runs"]` (`positions`: run id -> index there)."""
    from core.records.expect import evaluate

    entry = entry_from_report(report)
    runs = meta.setdefault("runs", [])
    previous = positions.get(entry["run_id"])
    if previous is not None and not entry.get("plan_id"):
        # Recording the same run again keeps the plan it carried out.
        entry["plan_id"] = runs[previous].get("plan_id")
    plan = matching_plan(meta, entry)
    if plan is not None:
        entry["plan_id"] = plan["plan_id"]
        verdict = evaluate(
            str(plan.get("expect") or ""),
            report,
            primary_metric=str(meta.get("primary_metric") or entry["metric"]["name"]),
            direction=str(meta.get("direction") or "maximize"),
            baseline_for=baseline_finder(ws, str(meta.get("model")), entry),
        )
        plan["status"] = "trained"
        plan["run_id"] = entry["run_id"]
        plan["verdict"] = verdict.to_dict()
        entry["expectation"] = expectation_of(plan)
    if previous is None:
        positions[entry["run_id"]] = len(runs)
        runs.append(entry)
    else:
        # A forced retrain of the same inputs replaces its entry: one entry per run id.
        runs[previous] = entry


def _positions(meta: dict[str, Any]) -> dict[str, int]:
    return {
        str(e.get("run_id")): i
        for i, e in enumerate(meta.get("runs") or [])
        if isinstance(e, dict) and e.get("run_id")
    }


def _check_report(report: dict[str, Any]) -> str:
    for key in ("run_id", "model"):
        if not isinstance(report.get(key), str):
            raise FactoryError(
                "report_invalid",
                f"A run report needs a string {key!r} to go on a card",
                details={"run_id": report.get("run_id")},
                exit_code=ExitCode.INTERNAL,
            )
    return validate_name(report["model"], "model")


def record_run(ws: Workspace, report: dict[str, Any]) -> None:
    """Add (or replace) the run's entry on its model's card, mark its plan trained and
    check the plan's expectation. Idempotent by run id. Whether the entry stays on the card
    after later runs is `core.records.kept_runs`'s choice."""
    model = _check_report(report)
    update_card(ws, model, lambda meta: _apply_run(ws, meta, report, _positions(meta)))


def record_runs(ws: Workspace, reports: list[dict[str, Any]]) -> None:
    """`record_run` for many reports with one card write per model (bulk imports)."""
    by_model: dict[str, list[dict[str, Any]]] = {}
    for report in reports:
        by_model.setdefault(_check_report(report), []).append(report)

    for model, own in by_model.items():

        def apply_all(meta: dict[str, Any], own: list[dict[str, Any]] = own) -> None:
            positions = _positions(meta)
            for report in own:
                _apply_run(ws, meta, report, positions)

        update_card(ws, model, apply_all)


def run_entry(ws: Workspace, card: Card, run_id: str) -> dict[str, Any] | None:
    """The run of `card`'s model as a card records it: the card's own entry when it keeps
    the run, else built from the run index (`kept_for` then empty); None when neither knows
    the run."""
    held = next((e for e in card.entries if e.get("run_id") == run_id), None)
    if held is not None:
        return held
    from core.experiments.index import read_summaries

    summary = next(
        (s for s in read_summaries(ws) if s["run_id"] == run_id and s.get("model") == card.model),
        None,
    )
    if summary is None:
        return None
    plans = [p for p in card.meta.get("plans") or [] if isinstance(p, dict)]
    return {**restored(summary, plans), "kept_for": []}


def model_of_run(ws: Workspace, run_id: str) -> str:
    """The model a run belongs to, from its report (or a card that keeps it)."""
    from core.experiments.readers import load_report

    report = load_report(ws, run_id)
    if report and isinstance(report.get("model"), str):
        return str(report["model"])
    for model in card_models(ws):
        if card_path(ws, model).is_file() and any(
            e.get("run_id") == run_id for e in read_card(ws, model).entries
        ):
            return model
    raise FactoryError(
        "unknown_run",
        f"No run {run_id!r}: no report in {ws.reports_dir} and no card entry",
        hint="List runs with `factory runs`.",
        details={"run_id": run_id},
    )
