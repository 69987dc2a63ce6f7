"""Which run serves one request to a model's prod tier: `route(ws, model, key)`.

Called by `factory serve` for every request, so it reads nothing it read before unless the
file changed: the card (for the prod run), `current.json` and the rollout's `state.json`
are each re-read only when their inode, mtime or size moved (or changed less than 2 s ago,
when an mtime cannot be trusted yet; `core.foundation.stamps`). Otherwise a call is three
`stat`s and a hash.

Assignment is sticky: a key (the request's entity values, or its request id) hashes, salted
with the rollout id, to a point in [0, 1); the challenger serves the keys below its share.
A canary's share only grows, so a key that reached the challenger stays there.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.foundation.errors import FactoryError
from core.foundation.workspace import Workspace

ROUTING = ("running", "paused", "promoting")
"""Rollout statuses that split or shadow traffic (aborting sends everything to stable)."""


@dataclass(frozen=True)
class Route:
    """Where one request goes."""

    run_id: str
    """The run whose prediction is returned."""
    tier: str
    """The tier the request is served from (`prod`)."""
    arm: str
    """`stable` outside a rollout; inside one, `stable` or `challenger`."""
    rollout_id: str | None
    """The rollout that routed the request, if any (log it: the rollout's analyses read
    the requests that carry its id)."""
    shadow_run_id: str | None
    """A run that also scores the request after the response is sent, logged with
    `mode="shadow"`, arm `challenger` and this rollout id, and never returned."""
    share: float = 0.0
    """The challenger's traffic share when this was decided (0 outside a rollout)."""


@dataclass(frozen=True)
class _Live:
    rollout_id: str
    status: str
    mode: str
    share: float
    stable: str
    challenger: str


Stamp = tuple[int, int, int]
_cards: dict[tuple[str, str], tuple[Stamp, str | None]] = {}
"""(workspace, model) -> (the card file's inode, mtime and size when read, its prod run)."""
_pointers: dict[tuple[str, str], tuple[Stamp, str | None]] = {}
_states: dict[str, tuple[Stamp, _Live | None]] = {}


def _stamp(path: Path) -> Stamp | None:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def _fresh(cached: tuple[Stamp, Any] | None, stamp: Stamp) -> bool:
    from core.foundation.stamps import settled

    return cached is not None and cached[0] == stamp and settled(stamp[1])


def _prod_run(ws: Workspace, model: str) -> str | None:
    """The card's prod run, read again only when the card file changed."""
    from core.operations.tier_state import read_tiers
    from core.records.card_store import card_path

    key = (str(ws.root), model)
    stamp = _stamp(card_path(ws, model)) or (0, 0, 0)
    cached = _cards.get(key)
    if cached is not None and _fresh(cached, stamp):
        return cached[1]
    held = read_tiers(ws, model).get("prod")
    _cards[key] = (stamp, held)
    return held


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        raw = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return raw if isinstance(raw, dict) else None


def live_rollout(ws: Workspace, model: str) -> _Live | None:
    """The model's newest rollout as routing sees it (None: none, or unreadable)."""
    from core.operations.rollouts.spec import ROLLOUT_ID
    from core.operations.rollouts.store import current_path, state_path

    key = (str(ws.root), model)
    pointer = current_path(ws, model)
    stamp = _stamp(pointer)
    if stamp is None:
        return None
    cached = _pointers.get(key)
    if cached is not None and _fresh(cached, stamp):
        rollout_id = cached[1]
    else:
        raw = _read_json(pointer) or {}
        found = raw.get("rollout_id")
        rollout_id = found if isinstance(found, str) and ROLLOUT_ID.match(found) else None
        _pointers[key] = (stamp, rollout_id)
    if rollout_id is None:
        return None
    path = state_path(ws, model, rollout_id)
    state_stamp = _stamp(path)
    if state_stamp is None:
        return None
    seen = _states.get(str(path))
    if seen is not None and _fresh(seen, state_stamp):
        return seen[1]
    state = _read_json(path) or {}
    live = None
    try:
        live = _Live(
            rollout_id, str(state["status"]), str(state["mode"]), float(state["share"]),
            str(state["stable"]), str(state["challenger"]),
        )  # fmt: skip
    except (KeyError, TypeError, ValueError):
        live = None  # a damaged state routes nothing: the stable run serves
    _states[str(path)] = (state_stamp, live)
    return live


def bucket(rollout_id: str, key: str) -> float:
    """The key's sticky point in [0, 1) for this rollout."""
    digest = hashlib.blake2b(f"{rollout_id}|{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def route(ws: Workspace, model: str, key: str) -> Route:
    """The route of a request to `model`'s prod tier keyed `key`: the request row's entity
    values (`"north"`, or `"north|store-1"` for several entity columns, in the dataset's
    order) or, for a dataset without entity columns, the row's request id."""
    run_id = _prod_run(ws, model)
    if run_id is None:
        raise FactoryError(
            "tier_empty",
            f"No run of {model} is in prod",
            hint=f"Promote one: `factory promote RUN --to prod` (see `factory tiers {model}`).",
            details={"model": model, "tier": "prod"},
        )
    live = live_rollout(ws, model)
    if live is None or live.status not in ROUTING or live.stable != run_id:
        # No rollout, or it ended, or prod changed hands by another action: prod serves.
        return Route(run_id=run_id, tier="prod", arm="stable", rollout_id=None, shadow_run_id=None)
    if live.mode == "shadow":
        return Route(run_id, "prod", "stable", live.rollout_id, live.challenger, 0.0)
    if bucket(live.rollout_id, key) < live.share:
        return Route(live.challenger, "prod", "challenger", live.rollout_id, None, live.share)
    return Route(run_id, "prod", "stable", live.rollout_id, None, live.share)
