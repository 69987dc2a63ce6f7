"""Tier actions: promote a run into staging or prod, and roll a tier back.

The model card's frontmatter is the registry (adrs/0014-gates-and-tiers.md):
`tiers: {staging: run|None, prod: run|None, previous: {staging: run|None, prod: run|None}}`
and `tier_history: [{ts, tier, run_id, previous_run_id, action, reason, gate_id, change_id}]`,
with action one of promote, rollback, override. Every change happens inside the card's lock
(`core.records.card_store.update_card`) and is checked against the state read *inside* the
lock, so two processes promoting at once leave one winner and a consistent card.

A change is journalled (`core.operations.tier_journal`): its intent is written before the
card, and what follows the card (the override's ADR, the event, the rollback's alert) is
completed by the next tier action on the model if the process dies in between.

A rollout (`core.operations.rollouts`) ends through here too: its success promotes the
challenger to prod with the rollout's verdict standing in for the prod gate, and its abort
records a rollback of prod's traffic to the stable run (`RolloutEvidence`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.foundation import clock
from core.foundation.errors import ExitCode, FactoryError, UsageError
from core.foundation.events import emit
from core.foundation.faults import crash_point
from core.foundation.workspace import Workspace
from core.operations import tier_journal
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
    change_id: str | None = None
    """The tier-history entry's id (`tc-...`), also in its event, ADR and alert."""
    rollout_id: str | None = None
    """The rollout whose verdict made this change."""
    repaired: list[str] = field(default_factory=list)
    """Steps of earlier changes to this model, left undone by a killed process, that this
    call completed (e.g. `tc-...: wrote adrs/0024-....md`)."""

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class RolloutEvidence:
    """A rollout's verdict, which moves prod: success promotes `challenger`, abort records
    prod's traffic going back to `stable`."""

    rollout_id: str
    stable: str
    challenger: str
    reason: str
    """One sentence: what the rollout measured and why it ended so."""


def promote(
    ws: Workspace,
    run_ref: str,
    tier: str,
    *,
    override: str | None = None,
    rollout: RolloutEvidence | None = None,
) -> TierChange:
    """Move a run into `tier`. Needs a passing gate verdict for that tier that is still
    current (same incumbent, same gate settings, same newest data), or `override` (a reason,
    recorded in the card, the events and an ADR), or, for prod, the passing verdict of a
    rollout whose stable run still holds prod. Prod only from staging."""
    from core.operations import gates
    from core.records.card_store import update_card

    check_tier(tier)
    report = load_run(ws, run_ref)
    run_id, model = str(report["run_id"]), str(report.get("model"))
    model_config(ws, model)
    if override is not None and not override.strip():
        raise UsageError("--override needs a reason", hint='--override "hotfix: prod model broken"')
    if rollout is not None and (tier != "prod" or rollout.challenger != run_id):
        raise ValueError("a rollout promotes its own challenger, to prod")
    repaired = repair(ws, model)
    tiers_now = read_tiers(ws, model)
    if tiers_now.get(tier) == run_id:
        return _unchanged(ws, model, tier, "promote", run_id, tiers_now, repaired)
    verdict = None if rollout is not None else gates.current_gate(ws, report, tier, tiers_now)
    if override is None and rollout is None and (verdict is None or not verdict.passed):
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
    if rollout is not None:
        expected_incumbent: str | None = rollout.stable
    else:
        expected_incumbent = verdict.incumbent if verdict is not None and override is None else None
    action = "override" if override is not None else "promote"
    reason = override if override is not None else (rollout.reason if rollout else None)
    rollout_id = rollout.rollout_id if rollout is not None else None
    intent = tier_journal.new_intent(
        ws, model, tier, action, run_id=run_id, reason=reason, gate_id=gate_id,
        rollout_id=rollout_id,
    )  # fmt: skip
    crash_point("tiers.after_intent")
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
            # Someone else changed the tier since this gate (or rollout) compared: stale.
            raise FactoryError(
                "gate_stale",
                f"{tier} changed while promoting {run_id}: the "
                f"{'rollout' if rollout is not None else 'gate'} compared against "
                f"{expected_incumbent or 'no incumbent'}, the tier now has {incumbent_for(tiers, tier)}",
                hint=f"Run `factory gate {run_id} --to {tier}` again.",
                details={
                    "run_id": run_id,
                    "tier": tier,
                    "gate_id": gate_id,
                    "rollout_id": rollout_id,
                },
                exit_code=ExitCode.CHECK_FAILED,
            )
        previous = tiers.get(tier)
        tiers[tier] = run_id
        tiers["previous"][tier] = previous
        if tier == "prod" and tiers.get("staging") == run_id:
            tiers["staging"] = None
        meta["tiers"] = tiers
        history = history_of(meta)
        entry = {
            "ts": clock.iso(),
            "tier": tier,
            "run_id": run_id,
            "previous_run_id": previous,
            "action": action,
            "reason": reason,
            "gate_id": gate_id,
            "staging_after": tiers.get("staging"),
            "change_id": intent["change_id"],
            **({"rollout_id": rollout_id} if rollout_id else {}),
        }
        history.append(entry)
        meta["tier_history"] = history
        outcome.update(changed=True, tiers=tiers, previous=previous, entry=entry)

    try:
        update_card(ws, model, mutate)
    except BaseException:
        tier_journal.done(ws, intent)  # the card did not change: nothing to complete
        raise
    crash_point("tiers.after_card")
    tiers_after = outcome["tiers"]
    if not outcome["changed"]:
        tier_journal.done(ws, intent)
        return _unchanged(ws, model, tier, action, run_id, tiers_after, repaired)
    finished = _complete(ws, intent, outcome["entry"])
    return TierChange(
        model, tier, action, run_id, outcome["previous"], True, tiers_after, reason, gate_id,
        finished.get("adr"), None, intent["change_id"], rollout_id, repaired,
    )  # fmt: skip


def _unchanged(
    ws: Workspace,
    model: str,
    tier: str,
    action: str,
    run_id: str | None,
    tiers: dict[str, Any],
    repaired: list[str],
) -> TierChange:
    """The tier already holds `run_id`: nothing is written; the entry that put it there
    names its ADR, change and rollout (so a re-run after a kill answers what was done)."""
    from core.records.card_store import read_card

    last: dict[str, Any] = next(
        (
            h
            for h in reversed(history_of(read_card(ws, model).meta))
            if h.get("tier") == tier and h.get("run_id") == run_id
        ),
        {},
    )
    change_id = last.get("change_id")
    return TierChange(
        model, tier, str(last.get("action") or action), run_id, tiers["previous"].get(tier),
        False, tiers, last.get("reason"), last.get("gate_id"),
        _adr_of(ws, change_id) if change_id and last.get("action") == "override" else None,
        None, change_id, last.get("rollout_id"), repaired,
    )  # fmt: skip


def _entry(ws: Workspace, model: str, change_id: str) -> dict[str, Any] | None:
    from core.records.card_store import read_card

    return next(
        (h for h in history_of(read_card(ws, model).meta) if h.get("change_id") == change_id),
        None,
    )


def _adr_of(ws: Workspace, change_id: str) -> str | None:
    from core.records.adrs import mentions

    found = mentions(ws, [change_id])
    return str(found[0]["path"]) if found and found[0].get("path") else None


_EVENTS = {
    "promote": "tier.promoted",
    "override": "tier.overridden",
    "rollback": "tier.rolled_back",
}


def _complete(ws: Workspace, intent: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """Do what follows the card for this change, skipping what already happened: the ADR
    (override), the event, the alert (rollback). Returns {adr, alert_id, did: [...]}."""
    model, tier, action = str(intent["model"]), str(intent["tier"]), str(intent["action"])
    change_id = str(intent["change_id"])
    repairing = bool(intent.get("_repairing"))
    run_id = entry.get("run_id", intent.get("run_id"))
    previous = entry.get("previous_run_id")
    reason = intent.get("reason")
    gate_id = intent.get("gate_id")
    rollout_id = intent.get("rollout_id")
    did: list[str] = []
    adr = None
    if action == "override":
        adr = _adr_of(ws, change_id) if repairing else None
        if adr is None:
            adr = _override_adr(ws, model, str(run_id), tier, str(reason), gate_id, change_id)
            did.append(f"wrote {adr}")
        crash_point("tiers.after_adr")
    event = _EVENTS[action]
    if not (repairing and tier_journal.event_recorded(ws, intent, event)):
        emit(
            ws.events_dir, event, run_id=run_id, model=model, tier=tier,
            previous_run_id=previous, gate_id=gate_id, reason=reason, adr=adr,
            change_id=change_id, rollout_id=rollout_id,
        )  # fmt: skip
        did.append(f"recorded {event}")
    crash_point("tiers.after_event")
    alert_id = None
    if action == "rollback":
        from core.operations.alerts import raise_alert

        if rollout_id:
            message = (
                f"{model}: rollout {rollout_id} aborted; {tier} traffic is back on {run_id} "
                f"(challenger {previous}): {reason}"
            )
            source = f"rollout:{rollout_id}"
        else:
            message = f"{model}: {tier} rolled back from {previous} to {run_id}: {reason}"
            source = f"{model}:{tier}:{previous}->{run_id}:{change_id}"
        alert, new = raise_alert(
            ws, "rollback", source, message, model=model,
            details={"tier": tier, "from": previous, "to": run_id, "reason": reason,
                     "change_id": change_id, "rollout_id": rollout_id},
        )  # fmt: skip
        alert_id = alert.alert_id
        if new:
            did.append(f"raised {alert_id}")
    tier_journal.done(ws, intent)
    return {"adr": adr, "alert_id": alert_id, "did": did}


def repair(ws: Workspace, model: str) -> list[str]:
    """Complete the tier changes of `model` that a killed process left half done (their
    intent is still in `.factory/intents/`); returns what was done, one line per step."""
    lines: list[str] = []
    for intent in tier_journal.pending(ws, model):
        entry = _entry(ws, model, str(intent["change_id"]))
        if entry is None:
            # The card never changed: the change did not happen, and nothing follows it.
            tier_journal.done(ws, intent)
            continue
        finished = _complete(ws, {**intent, "_repairing": True}, entry)
        lines.extend(f"{intent['change_id']}: {step}" for step in finished["did"])
    if lines:
        emit(ws.events_dir, "tier.repaired", model=model, steps=lines)
    return lines


def _override_adr(
    ws: Workspace,
    model: str,
    run_id: str,
    tier: str,
    reason: str,
    gate_id: str | None,
    change_id: str,
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
            + f".\n\nReason given: {reason}\n\nTier change {change_id} in the card's tier history."
        ),
        links=[run_id, model, *([gate_id] if gate_id else [])],
    )
    return adr.path


def rollback(
    ws: Workspace,
    model: str,
    reason: str,
    tier: str = "prod",
    *,
    rollout: RolloutEvidence | None = None,
) -> TierChange:
    """Put the tier's previous champion back (and raise an alert).

    With `rollout`, prod never changed hands (the challenger served a share of its
    traffic): the rollback is recorded (history entry, event, one alert) and the tier keeps
    its stable run."""
    from core.records.card_store import update_card

    check_tier(tier)
    model_config(ws, model)
    if not reason or not reason.strip():
        raise UsageError(
            "--reason is required", hint='factory rollback MODEL --reason "p95 latency doubled"'
        )
    repaired = repair(ws, model)
    rollout_id = rollout.rollout_id if rollout is not None else None
    intent = tier_journal.new_intent(
        ws, model, tier, "rollback", reason=reason, rollout_id=rollout_id
    )
    crash_point("tiers.after_intent")
    outcome: dict[str, Any] = {}

    def mutate(meta: dict[str, Any]) -> None:
        tiers = normalize(meta)
        history = history_of(meta)
        outcome.clear()
        if rollout is not None:
            done_before = next(
                (h for h in history if h.get("rollout_id") == rollout.rollout_id
                 and h.get("action") == "rollback"),
                None,
            )  # fmt: skip
            if done_before is not None:
                outcome.update(
                    changed=False, tiers=tiers, run_id=done_before.get("run_id"),
                    previous=done_before.get("previous_run_id"), last=done_before,
                )  # fmt: skip
                return
            if tiers.get(tier) != rollout.stable:
                raise FactoryError(
                    "rollout_superseded",
                    f"{tier} of {model} holds {tiers.get(tier) or 'nothing'}, not the rollout's "
                    f"stable run {rollout.stable}: it changed by another action",
                    hint=f"See `factory tiers {model}`.",
                    details={"rollout_id": rollout.rollout_id, "tier": tier},
                )
            target: str | None = rollout.stable
            current: str | None = rollout.challenger
        else:
            last = next((h for h in reversed(history) if h.get("tier") == tier), None)
            if (
                last is not None
                and last.get("action") == "rollback"
                and last.get("reason") == reason
                and tiers.get(tier) == last.get("run_id")
            ):
                outcome.update(
                    changed=False, tiers=tiers, run_id=tiers.get(tier),
                    previous=last.get("previous_run_id"), last=last,
                )  # fmt: skip
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
            # The restored run's own predecessor is unknown here; one step back is what
            # rollback means.
            tiers["previous"][tier] = None
        meta["tiers"] = tiers
        entry = {
            "ts": clock.iso(),
            "tier": tier,
            "run_id": target,
            "previous_run_id": current,
            "action": "rollback",
            "reason": reason,
            "gate_id": None,
            "staging_after": tiers.get("staging"),
            "change_id": intent["change_id"],
            **({"rollout_id": rollout_id} if rollout_id else {}),
        }
        history.append(entry)
        meta["tier_history"] = history
        outcome.update(changed=True, tiers=tiers, run_id=target, previous=current, entry=entry)

    try:
        update_card(ws, model, mutate)
    except BaseException:
        tier_journal.done(ws, intent)
        raise
    crash_point("tiers.after_card")
    if not outcome["changed"]:
        tier_journal.done(ws, intent)
        last = outcome.get("last") or {}
        return TierChange(
            model, tier, "rollback", outcome["run_id"], outcome["previous"], False,
            outcome["tiers"], reason, change_id=last.get("change_id"),
            rollout_id=last.get("rollout_id"), repaired=repaired,
        )  # fmt: skip
    finished = _complete(ws, intent, outcome["entry"])
    return TierChange(
        model, tier, "rollback", outcome["run_id"], outcome["previous"], True,
        outcome["tiers"], reason, alert_id=finished.get("alert_id"),
        change_id=intent["change_id"], rollout_id=rollout_id, repaired=repaired,
    )  # fmt: skip
