"""`train_run`: train a model and remember the run on its card, carrying out a plan.

The experiments layer trains (`core.experiments.training.run.run_training`); the records
layer remembers (`core.records.runs.record_run`, `core.records.plans.get_plan`). This is
where they meet, so neither imports the other."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from core.experiments.training.fit import Progress
from core.experiments.training.inputs import resolve_inputs
from core.experiments.training.run import TrainResult, run_training
from core.foundation.ids import validate_name
from core.foundation.workspace import Workspace


def train_run(
    ws: Workspace,
    model: str,
    *,
    features: str | None = None,
    labels: str | None = None,
    hparams: str | None = None,
    arch: str | None = None,
    snapshot: str | None = None,
    plan_id: str | None = None,
    force: bool = False,
    allow_leaky: str | None = None,
    progress: Progress | None = None,
    thread_count: int | None = None,
    engine: str | None = None,
) -> TrainResult:
    """Train `model` (components default to factory.toml's, or the plan's), or return the
    existing run with the same inputs; the card records the run and checks its plan."""
    from core.foundation.errors import FactoryError
    from core.records.plans import get_plan
    from core.records.runs import record_run

    plan_components: dict[str, str] | None = None
    if plan_id is not None:
        validate_name(plan_id, "plan id")
        plan = get_plan(ws, plan_id)
        if plan.model != model:
            raise FactoryError(
                "model_mismatch",
                f"Plan {plan_id} is for model {plan.model!r}, not {model!r}",
                hint=f"Run `factory train {plan.model} --plan {plan_id}`.",
            )
        plan_components = dict(plan.components)
    inputs = resolve_inputs(
        ws, model, features=features, labels=labels, hparams=hparams, arch=arch,
        snapshot=snapshot, plan=plan_components, plan_id=plan_id,
    )  # fmt: skip

    def remember(report: dict[str, Any]) -> None:
        record_run(ws, report)

    result = run_training(
        ws, inputs, plan_id=plan_id, force=force, allow_leaky=allow_leaky, progress=progress,
        thread_count=thread_count, record=remember, engine=engine,
    )  # fmt: skip
    from core.lens.compaction.compact import compact_after_training

    compact_after_training(ws)  # cheap unless many runs wait (adrs/0028)
    return replace(result, expectation=_expectation(ws, model, result.run_id))


def _expectation(ws: Workspace, model: str, run_id: str) -> dict[str, Any] | None:
    """The verdict on the plan the run carried out, as the card recorded it."""
    from core.records.card_store import read_card

    for plan in reversed(read_card(ws, model).plans):
        if plan.run_id == run_id:
            return {"plan_id": plan.plan_id, "expect": plan.expect, **(plan.verdict or {})}
    return None
