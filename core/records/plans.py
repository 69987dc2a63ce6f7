"""Plans: an experiment written down before it is trained (components, intent, expectation),
and the checks that refuse an expectation that could never be checked, before an hour of
training rather than after."""

from __future__ import annotations

from typing import Any

from core.foundation import clock
from core.foundation.errors import ExitCode, FactoryError
from core.foundation.ids import hash_inputs, validate_name
from core.foundation.workspace import Workspace
from core.records.card import Plan
from core.records.card_store import card_models, card_path, new_card_meta, read_card, update_card

PLAN_KINDS = ("features", "labels", "hparams", "arch")
"""The component kinds a plan pins (metrics come with the model)."""


def _plan_components(ws: Workspace, model: str, components: dict[str, str]) -> dict[str, str]:
    from core.components.registry import get_component

    config = ws.config.models.get(model)
    if config is None:
        new_card_meta(ws, model)  # raises unknown_model
    assert config is not None
    unknown = set(components) - set(PLAN_KINDS)
    if unknown:
        raise FactoryError(
            "unknown_kind",
            f"A plan pins {', '.join(PLAN_KINDS)}; not {', '.join(sorted(unknown))}",
            exit_code=ExitCode.USAGE,
        )
    filled = {kind: components.get(kind) or getattr(config, kind) for kind in PLAN_KINDS}
    for kind, version in filled.items():
        get_component(ws, kind, version)
    return filled


def _already_run(ws: Workspace, model: str, filled: dict[str, str]) -> str | None:
    """A run of exactly these components on the data and settings the workspace points at:
    training the plan would only reuse it."""
    from core.experiments import index

    cohort = index.current_cohort(ws, model)
    for run in reversed(index.read_summaries(ws)):
        versions = run.get("components") or {}
        if (
            run.get("model") == model
            and run.get("cohort") == cohort
            and all(versions.get(kind) == version for kind, version in filled.items())
        ):
            return str(run["run_id"])
    return None


def record_plan(
    ws: Workspace,
    model: str,
    components: dict[str, str],
    intent: str,
    expect: str,
    *,
    defaults: bool = False,
) -> Plan:
    """Write down a planned experiment before training it. Idempotent: the same model,
    components and intent give the same `p-<hash>` plan and no duplicate.

    Refused: a plan that pins nothing (the model's own components, most likely by mistake,
    unless `defaults` says so), a second open plan for the same components (training them
    would carry out only one), and components already trained on the current data (training
    would only reuse that run, and the card would credit the plan to it)."""
    validate_name(model, "model")
    if not intent.strip():
        raise FactoryError(
            "plan_intent_missing",
            "A plan needs an intent: why are you trying this?",
            hint='Pass --intent "what you want to learn".',
            exit_code=ExitCode.USAGE,
        )
    filled = _plan_components(ws, model, components)
    check_expectation(ws, model, expect)
    if not components and not defaults:
        raise FactoryError(
            "plan_without_components",
            f"The plan pins no component: it would train {model}'s own components from "
            "factory.toml, which is most likely not the experiment you mean",
            hint="Name what changes (--features, --labels, --hparams, --arch), or pass "
            "--defaults to plan the model's own recipe on purpose.",
            details={"model": model},
            exit_code=ExitCode.USAGE,
        )
    plan_id = "p-" + hash_inputs({"model": model, "components": filled, "intent": intent.strip()})
    created: dict[str, Any] = {}
    existing = (
        next((p for p in read_card(ws, model).plans if p.plan_id == plan_id), None)
        if card_path(ws, model).is_file()
        else None
    )
    if existing is None:
        done = _already_run(ws, model, filled)
        if done is not None:
            raise FactoryError(
                "plan_already_run",
                f"Run {done} already trained exactly these components on the current data: "
                "training this plan would only reuse it",
                hint=f"See `factory show {done}`; plan what differs (another version, "
                "hyperparameters or snapshot), or note what you learned about it "
                "(factory note with the run and your finding).",
                details={"run_id": done, "components": filled},
                exit_code=ExitCode.USAGE,
            )

    def add(meta: dict[str, Any]) -> None:
        plans = meta.setdefault("plans", [])
        for plan in plans:
            if (
                isinstance(plan, dict)
                and plan.get("plan_id") != plan_id
                and plan.get("status", "planned") == "planned"
                and (plan.get("components") or {}) == filled
            ):
                raise FactoryError(
                    "plan_duplicate",
                    f"Plan {plan.get('plan_id')} already plans these components "
                    f"(intent {plan.get('intent')!r}) and is not trained yet",
                    hint=f"Train it (`factory train {model} --plan {plan.get('plan_id')}`), "
                    "or plan other components.",
                    details={"plan_id": plan.get("plan_id"), "components": filled},
                    exit_code=ExitCode.USAGE,
                )
        for plan in plans:
            if isinstance(plan, dict) and plan.get("plan_id") == plan_id:
                if (plan.get("expect") or "") != expect.strip():
                    if plan.get("status", "planned") != "planned":
                        raise FactoryError(
                            "plan_already_trained",
                            f"Plan {plan_id} (same components and intent) was already trained "
                            f"by {plan.get('run_id')} with the expectation {plan.get('expect')!r}",
                            hint="Its verdict stands; to test another expectation, state a new "
                            "intent.",
                            details={"plan_id": plan_id, "run_id": plan.get("run_id")},
                            exit_code=ExitCode.USAGE,
                        )
                    # Still untrained: the newest wording of the expectation wins.
                    plan["expect"] = expect.strip()
                created.update(plan)
                return
        plan = {
            "plan_id": plan_id,
            "created_at": clock.iso(),
            "components": filled,
            "intent": intent.strip(),
            "expect": expect.strip(),
            "status": "planned",
            "run_id": None,
            "verdict": None,
        }
        plans.append(plan)
        created.update(plan)

    update_card(ws, model, add)
    return Plan.from_dict(model, created)


def check_expectation(ws: Workspace, model: str, expect: str) -> None:
    """Refuse an expectation that looks like a check but is not one, or that names a metric
    or run that does not exist: found now, not after an hour of training."""
    import re

    from core.records.expect import parse

    text = expect.strip()
    if not text:
        return
    clauses = parse(text)
    forms = "'auc >= 0.72', 'mae < 2.5', 'beats best', 'beats r-abc123', joined with 'and'"
    if clauses is None:
        if re.search(r"(>=|<=|==|<|>)|\bbeats\b", text, re.IGNORECASE):
            raise FactoryError(
                "expectation_unreadable",
                f"Expectation {text!r} mixes a check with other words, so it cannot be checked",
                hint=f"Write the check alone ({forms}), or say it without operators to leave "
                "the verdict to a person.",
                details={"expect": text},
                exit_code=ExitCode.USAGE,
            )
        return
    known = metric_names(ws, model)
    for kind, match in clauses:
        if kind == "threshold" and known and match["metric"].lower() not in known:
            raise FactoryError(
                "unknown_metric",
                f"Expectation {text!r} names metric {match['metric']!r}, which model {model} "
                "does not compute",
                hint=f"Metrics of {model}: {', '.join(sorted(known))}.",
                details={"metric": match["metric"], "metrics": sorted(known)},
                exit_code=ExitCode.USAGE,
            )
        if kind == "beats" and match["target"].lower() != "best":
            from core.experiments.readers import load_report

            target = match["target"].lower()
            if load_report(ws, target) is None:
                raise FactoryError(
                    "unknown_run",
                    f"Expectation {text!r} names run {target}, which has no report",
                    hint="List runs with `factory runs`, or write 'beats best'.",
                    details={"run_id": target},
                )


def metric_names(ws: Workspace, model: str) -> set[str]:
    """The metrics the model's metrics component computes (empty when it cannot be read)."""
    from core.components.registry import get_component, load_module

    config = ws.config.models.get(model)
    if config is None:
        return set()
    try:
        module = load_module(get_component(ws, "metrics", config.metrics))
    except FactoryError:
        return set()
    names = getattr(module, "METRICS", None)
    return {str(n).lower() for n in names} if names else set()


def get_plan(ws: Workspace, plan_id: str) -> Plan:
    """The plan `plan_id`, from whichever card holds it."""
    validate_name(plan_id, "plan id")
    for model in card_models(ws):
        if not card_path(ws, model).is_file():
            continue
        for plan in read_card(ws, model).plans:
            if plan.plan_id == plan_id:
                return plan
    raise FactoryError(
        "unknown_plan",
        f"No plan {plan_id!r} in any card under {ws.cards_dir}",
        hint="List the cards and their open plans with `factory cards`.",
        details={"plan_id": plan_id},
    )


def plannable(ws: Workspace, model: str, components: dict[str, str]) -> bool:
    """Whether `record_plan` would take these components now: they pin something, no run
    trained them on the current data and no open plan holds them (what `next` may offer)."""
    if not components:
        return False
    try:
        filled = _plan_components(ws, model, components)
    except FactoryError:
        return False
    if _already_run(ws, model, filled) is not None:
        return False
    if not card_path(ws, model).is_file():
        return True
    return not any(
        p.status == "planned" and p.components == filled for p in read_card(ws, model).plans
    )


def matching_plan(meta: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any] | None:
    """The plan a run carries out: the one it names, else the newest open plan whose
    components it was trained with."""
    plans = [p for p in meta.get("plans") or [] if isinstance(p, dict)]
    if entry.get("plan_id"):
        for plan in plans:
            if plan.get("plan_id") == entry["plan_id"]:
                return plan
        return None
    # Training with the same component flags carries out the newest open plan for them.
    for plan in reversed(plans):
        if plan.get("status", "planned") != "planned":
            continue
        wanted = plan.get("components") or {}
        if wanted and all(entry["components"].get(k) == v for k, v in wanted.items()):
            return plan
    return None
