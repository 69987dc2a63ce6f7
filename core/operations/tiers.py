"""Tier actions: promote a run into staging or prod, and roll a tier back.

The model card's frontmatter is the registry (adrs/0014-gates-and-tiers.md):
`tiers: {staging: run|None, prod: run|None, previous: {staging: run|None, prod: run|None}}`
and `tier_history: [{ts, tier, run_id, previous_run_id, action, reason, gate_id}]`, with
action one of promote, rollback, override. Every change happens inside the card's lock
(`core.records.card_store.update_card`) and is checked against the state read *inside* the lock, so
two processes promoting at once leave one winner and a consistent card.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.foundation import clock
from core.foundation.errors import ExitCode, FactoryError, UsageError
from core.foundation.events import emit
from core.foundation.workspace import Workspace
from core.operations.common import check_tier, load_run, model_config
from core.operations.tier_state import history_of, incumbent_for, normalize, read_tiers


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


def promote(ws: Workspace, run_ref: str, tier: str, *, override: str | None = None) -> TierChange:
    """Move a run into `tier`. Needs a passing gate verdict for that tier that is still
    current (same incumbent, same gate settings, same newest data), or `override` (a reason,
    recorded in the card, the events and an ADR). Prod only from staging."""
    from core.operations import gates
    from core.records.card_store import update_card

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
        tiers = normalize(meta)
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
        history = history_of(meta)
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
) -> str:
    from core.records.adrs import new_adr

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
        links=[run_id, model, *([gate_id] if gate_id else [])],
    )
    return adr.path


def rollback(ws: Workspace, model: str, reason: str, tier: str = "prod") -> TierChange:
    """Put the tier's previous champion back (and raise an alert)."""
    from core.records.card_store import update_card

    check_tier(tier)
    model_config(ws, model)
    if not reason or not reason.strip():
        raise UsageError(
            "--reason is required", hint='factory rollback MODEL --reason "p95 latency doubled"'
        )
    outcome: dict[str, Any] = {}

    def mutate(meta: dict[str, Any]) -> None:
        tiers = normalize(meta)
        history = history_of(meta)
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
