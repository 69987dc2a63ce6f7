"""Tiers: which run serves staging and prod, how it got there, and how to go back.

The model card's frontmatter is the registry (adrs/0014-gates-and-tiers.md):
`tiers: {staging: run|None, prod: run|None, previous: {staging: run|None, prod: run|None}}`
and `tier_history: [{ts, tier, run_id, previous_run_id, action, reason, gate_id}]`, with
action one of promote, rollback, override. Every change happens inside the card's lock
(`core.cards.api.update_card`) and is checked against the state read *inside* the lock, so
two processes promoting at once leave one winner and a consistent card.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core import clock
from core.errors import ExitCode, FactoryError, UsageError
from core.events import emit
from core.operations.common import TIERS, check_tier, load_run, model_config
from core.workspace import Workspace


@dataclass(frozen=True)
class TierChange:
    model: str
    tier: str
    action: str
    """promote, override or rollback."""
    run_id: str | None
    previous_run_id: str | None
    changed: bool
    """False when the tier already held this run (nothing was written)."""
    tiers: dict[str, Any]
    reason: str | None = None
    gate_id: str | None = None
    adr: str | None = None
    """The ADR recording an override."""
    alert_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class TiersResult:
    model: str
    at: str | None
    """The moment asked about (None: now)."""
    tiers: dict[str, str | None]
    previous: dict[str, str | None]
    history: list[dict[str, Any]]
    """Changes up to `at`, oldest first."""

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _normalize(meta: dict[str, Any]) -> dict[str, Any]:
    raw = meta.get("tiers")
    if not isinstance(raw, dict):
        raw = {}
    previous = raw.get("previous")
    if not isinstance(previous, dict):
        previous = {}
    tiers: dict[str, Any] = {tier: raw.get(tier) for tier in TIERS}
    tiers["previous"] = {tier: previous.get(tier) for tier in TIERS}
    return tiers


def read_tiers(ws: Workspace, model: str) -> dict[str, Any]:
    """`{staging, prod, previous: {staging, prod}}` from the model's card."""
    from core.cards.api import read_card

    model_config(ws, model)
    return _normalize(read_card(ws, model).meta)


def incumbent_for(tiers: dict[str, Any], tier: str) -> str | None:
    """The run a challenger for `tier` must beat: the tier's holder; for staging with
    staging empty, the prod champion."""
    if tier == "staging":
        return tiers.get("staging") or tiers.get("prod")
    return tiers.get("prod")


def _history(meta: dict[str, Any]) -> list[dict[str, Any]]:
    history = meta.get("tier_history")
    return [h for h in history if isinstance(h, dict)] if isinstance(history, list) else []


def promote(ws: Workspace, run_ref: str, tier: str, *, override: str | None = None) -> TierChange:
    """Move a run into `tier`. Needs a passing gate verdict for that tier that is still
    current (same incumbent, same gate settings, same newest data), or `override` (a reason,
    recorded in the card, the events and an ADR). Prod only from staging."""
    from core.cards.api import update_card
    from core.operations import gates

    check_tier(tier)
    report = load_run(ws, run_ref)
    run_id, model = str(report["run_id"]), str(report.get("model"))
    model_config(ws, model)
    if override is not None and not override.strip():
        raise UsageError("--override needs a reason", hint='--override "hotfix: prod model broken"')
    tiers_now = read_tiers(ws, model)
    if tiers_now.get(tier) == run_id:
        return TierChange(
            model, tier, "promote", run_id, tiers_now["previous"].get(tier), False, tiers_now
        )
    verdict = gates.current_gate(ws, report, tier, tiers_now)
    if override is None and (verdict is None or not verdict.passed):
        alert_id = None
        if verdict is not None:
            from core.operations.alerts import raise_alert

            alert, _ = raise_alert(
                ws,
                "gate_failed",
                f"{verdict.gate_id}:promote",
                f"{model}: promotion of {run_id} to {tier} refused: gate {verdict.gate_id} failed "
                f"({', '.join(c.name for c in verdict.criteria if not c.passed)})",
                model=model,
                details={"gate_id": verdict.gate_id, "run_id": run_id, "tier": tier},
            )
            alert_id = alert.alert_id
        emit(
            ws.events_dir,
            "tier.refused",
            run_id=run_id,
            model=model,
            tier=tier,
            gate_id=verdict.gate_id if verdict else None,
        )
        raise FactoryError(
            "gate_required",
            f"{run_id} may not move to {tier}: "
            + (
                f"its gate verdict {verdict.gate_id} failed"
                if verdict is not None
                else f"no current passing gate verdict for {tier}"
            ),
            hint=f'Run `factory gate {run_id} --to {tier}` (or pass --override "reason").',
            details={
                "run_id": run_id,
                "tier": tier,
                "gate_id": verdict.gate_id if verdict else None,
                "alert_id": alert_id,
            },
            exit_code=ExitCode.CHECK_FAILED,
        )
    gate_id = verdict.gate_id if verdict is not None else None
    expected_incumbent = verdict.incumbent if verdict is not None and override is None else None
    action = "override" if override is not None else "promote"
    outcome: dict[str, Any] = {}

    def mutate(meta: dict[str, Any]) -> None:
        tiers = _normalize(meta)
        outcome.clear()
        if tiers.get(tier) == run_id:
            outcome.update(changed=False, tiers=tiers)
            return
        # Not even an override skips staging: a prod run has always been served in staging.
        if tier == "prod" and tiers.get("staging") != run_id:
            raise FactoryError(
                "not_in_staging",
                f"{run_id} is not in staging (staging holds {tiers.get('staging') or 'nothing'}); "
                "a run reaches prod only from staging",
                hint=f"Run `factory gate {run_id} --to staging` and `factory promote {run_id} --to staging` first.",
                details={"run_id": run_id, "staging": tiers.get("staging")},
                exit_code=ExitCode.CHECK_FAILED,
            )
        if override is None and incumbent_for(tiers, tier) != expected_incumbent:
            # Someone else changed the tier since this gate ran: its comparison is stale.
            raise FactoryError(
                "gate_stale",
                f"{tier} changed while promoting {run_id}: the gate compared against "
                f"{expected_incumbent or 'no incumbent'}, the tier now has {incumbent_for(tiers, tier)}",
                hint=f"Run `factory gate {run_id} --to {tier}` again.",
                details={"run_id": run_id, "tier": tier, "gate_id": gate_id},
                exit_code=ExitCode.CHECK_FAILED,
            )
        previous = tiers.get(tier)
        tiers[tier] = run_id
        tiers["previous"][tier] = previous
        if tier == "prod" and tiers.get("staging") == run_id:
            tiers["staging"] = None
        meta["tiers"] = tiers
        history = _history(meta)
        history.append(
            {
                "ts": clock.iso(),
                "tier": tier,
                "run_id": run_id,
                "previous_run_id": previous,
                "action": action,
                "reason": override,
                "gate_id": gate_id,
                "staging_after": tiers.get("staging"),
            }
        )
        meta["tier_history"] = history
        outcome.update(changed=True, tiers=tiers, previous=previous)

    update_card(ws, model, mutate)
    tiers_after = outcome["tiers"]
    if not outcome["changed"]:
        return TierChange(
            model, tier, action, run_id, tiers_after["previous"].get(tier), False, tiers_after
        )
    adr = None
    if override is not None:
        adr = _override_adr(ws, model, run_id, tier, override, gate_id)
    emit(
        ws.events_dir,
        f"tier.{'overridden' if override is not None else 'promoted'}",
        run_id=run_id,
        model=model,
        tier=tier,
        previous_run_id=outcome["previous"],
        gate_id=gate_id,
        reason=override,
        adr=adr,
    )
    return TierChange(
        model, tier, action, run_id, outcome["previous"], True, tiers_after, override, gate_id, adr
    )


def _override_adr(
    ws: Workspace, model: str, run_id: str, tier: str, reason: str, gate_id: str | None
) -> str | None:
    from core.modules import import_if_present

    if not import_if_present("core.adrs"):
        return None
    from core.adrs import new_adr

    adr = new_adr(
        ws,
        f"Override the {tier} gate for {model} run {run_id}",
        status="accepted",
        context=(
            f"`factory promote {run_id} --to {tier} --override` moved run {run_id} of model "
            f"{model} into {tier} without a passing, current gate verdict"
            + (f" (gate {gate_id} did not pass)" if gate_id else "")
            + f".\n\nReason given: {reason}"
        ),
    )
    return str(getattr(adr, "path", None) or getattr(adr, "number", ""))


def rollback(ws: Workspace, model: str, reason: str, tier: str = "prod") -> TierChange:
    """Put the tier's previous champion back (and raise an alert)."""
    from core.cards.api import update_card

    check_tier(tier)
    model_config(ws, model)
    if not reason or not reason.strip():
        raise UsageError(
            "--reason is required", hint='factory rollback MODEL --reason "p95 latency doubled"'
        )
    outcome: dict[str, Any] = {}

    def mutate(meta: dict[str, Any]) -> None:
        tiers = _normalize(meta)
        history = _history(meta)
        outcome.clear()
        last = next((h for h in reversed(history) if h.get("tier") == tier), None)
        if (
            last is not None
            and last.get("action") == "rollback"
            and last.get("reason") == reason
            and tiers.get(tier) == last.get("run_id")
        ):
            outcome.update(
                changed=False,
                tiers=tiers,
                run_id=tiers.get(tier),
                previous=last.get("previous_run_id"),
            )
            return
        target = tiers["previous"].get(tier)
        if target is None:
            raise FactoryError(
                "nothing_to_roll_back",
                f"{model} has no previous {tier} champion to restore ({tier} holds {tiers.get(tier) or 'nothing'})",
                hint=f"See `factory tiers {model}`; promote a run with `factory promote RUN --to {tier}`.",
                details={"model": model, "tier": tier, "tiers": tiers},
                exit_code=ExitCode.CHECK_FAILED,
            )
        current = tiers.get(tier)
        tiers[tier] = target
        # The restored run's own predecessor is unknown here; one step back is what rollback means.
        tiers["previous"][tier] = None
        meta["tiers"] = tiers
        history.append(
            {
                "ts": clock.iso(),
                "tier": tier,
                "run_id": target,
                "previous_run_id": current,
                "action": "rollback",
                "reason": reason,
                "gate_id": None,
                "staging_after": tiers.get("staging"),
            }
        )
        meta["tier_history"] = history
        outcome.update(changed=True, tiers=tiers, run_id=target, previous=current)

    update_card(ws, model, mutate)
    if not outcome["changed"]:
        return TierChange(
            model,
            tier,
            "rollback",
            outcome["run_id"],
            outcome["previous"],
            False,
            outcome["tiers"],
            reason,
        )
    emit(
        ws.events_dir,
        "tier.rolled_back",
        run_id=outcome["run_id"],
        model=model,
        tier=tier,
        previous_run_id=outcome["previous"],
        reason=reason,
    )
    from core.operations.alerts import raise_alert

    alert, _ = raise_alert(
        ws,
        "rollback",
        f"{model}:{tier}:{outcome['previous']}->{outcome['run_id']}:{clock.iso()}",
        f"{model}: {tier} rolled back from {outcome['previous']} to {outcome['run_id']}: {reason}",
        model=model,
        details={
            "tier": tier,
            "from": outcome["previous"],
            "to": outcome["run_id"],
            "reason": reason,
        },
    )
    return TierChange(
        model,
        tier,
        "rollback",
        outcome["run_id"],
        outcome["previous"],
        True,
        outcome["tiers"],
        reason,
        alert_id=alert.alert_id,
    )


def tiers_at(ws: Workspace, model: str, at: str | None = None) -> TiersResult:
    """What held each tier at `at` (a WHEN such as `2026-11-20`, `yesterday`, `3d`), replayed
    from the card's tier history; now when `at` is None."""
    from core.cards.api import read_card

    model_config(ws, model)
    meta = read_card(ws, model).meta
    history = sorted(_history(meta), key=lambda h: str(h.get("ts") or ""))
    if at is None:
        tiers = _normalize(meta)
        return TiersResult(
            model, None, {t: tiers.get(t) for t in TIERS}, tiers["previous"], history
        )
    from core.timeparse import parse_when

    moment = clock.iso(parse_when(at, flag="--at", end_of_day=True))
    state: dict[str, str | None] = {t: None for t in TIERS}
    previous: dict[str, str | None] = {t: None for t in TIERS}
    shown = []
    for change in history:
        if str(change.get("ts") or "") > moment:
            break
        tier = change.get("tier")
        if tier not in TIERS:
            continue
        previous[tier] = (
            change.get("previous_run_id") if change.get("action") != "rollback" else None
        )
        state[tier] = change.get("run_id")
        if tier == "prod" and "staging_after" in change:
            state["staging"] = change.get("staging_after")
        shown.append(change)
    return TiersResult(model, moment, state, previous, shown)
