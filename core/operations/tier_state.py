"""Tier state: which run holds staging and prod, the one before, and the history of changes,
read from the model card (adrs/0014-gates-and-tiers.md). Reading only: the actions that
change a tier (`core.operations.tiers`) and the gates that judge a change both read it here,
so neither imports the other to know the state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.foundation import clock
from core.foundation.workspace import Workspace
from core.operations.common import TIERS, model_config


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


def normalize(meta: dict[str, Any]) -> dict[str, Any]:
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
    from core.records.card_store import read_card

    model_config(ws, model)
    return normalize(read_card(ws, model).meta)


def incumbent_for(tiers: dict[str, Any], tier: str) -> str | None:
    """The run a challenger for `tier` must beat: the tier's holder; for staging with
    staging empty, the prod champion."""
    if tier == "staging":
        return tiers.get("staging") or tiers.get("prod")
    return tiers.get("prod")


def history_of(meta: dict[str, Any]) -> list[dict[str, Any]]:
    history = meta.get("tier_history")
    return [h for h in history if isinstance(h, dict)] if isinstance(history, list) else []


def tiers_at(ws: Workspace, model: str, at: str | None = None) -> TiersResult:
    """What held each tier at `at` (a WHEN such as `2026-11-20`, `yesterday`, `3d`), replayed
    from the card's tier history; now when `at` is None."""
    from core.records.card_store import read_card

    model_config(ws, model)
    meta = read_card(ws, model).meta
    history = sorted(history_of(meta), key=lambda h: str(h.get("ts") or ""))
    if at is None:
        tiers = normalize(meta)
        return TiersResult(
            model, None, {t: tiers.get(t) for t in TIERS}, tiers["previous"], history
        )
    from core.foundation.timeparse import parse_when

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
        if change.get("action") != "rollback":
            previous[tier] = change.get("previous_run_id")
        elif not change.get("rollout_id"):
            # A rollout's abort never moved the tier: its champion before stays its previous.
            previous[tier] = None
        state[tier] = change.get("run_id")
        if tier == "prod" and "staging_after" in change:
            state["staging"] = change.get("staging_after")
        shown.append(change)
    return TiersResult(model, moment, state, previous, shown)
