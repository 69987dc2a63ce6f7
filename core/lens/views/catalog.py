"""Every SQL view of `factory query`, by explicit import: each views module lists its views
(`VIEWS`), so nothing is registered by import side effect."""

from __future__ import annotations

from core.lens.views import (
    cards,
    events,
    operations,
    outcomes,
    records,
    rollouts,
    runs,
    snapshots,
)
from core.lens.views.sql import ViewSpec

MODULES = (events, snapshots, runs, operations, outcomes, rollouts, cards, records)


def views() -> dict[str, ViewSpec]:
    """Name -> view, in the order `factory query --tables` lists them."""
    found: dict[str, ViewSpec] = {}
    for module in MODULES:
        for spec in module.VIEWS:
            if spec.name in found:
                raise RuntimeError(f"view {spec.name!r} is declared twice")
            found[spec.name] = spec
    return found
