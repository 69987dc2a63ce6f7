"""Rollouts (shadow, canary, A/B): which run serves a request to a model's prod tier, and
the machine that decides, interval by interval, whether the challenger is promoted or rolled
back (adrs/0027-rollouts.md).

- `route(ws, model, key) -> Route(run_id, tier, arm, rollout_id, shadow_run_id)`: called by
  `factory serve` for every request (`routing`);
- `spec` (what a rollout is, its id), `decide` (the pure decisions), `observations` (the
  reader over the inference log), `store` (its files), `actions` (start, status, pause,
  resume, abort, tick, and `tick_due` for a server's loop), `plan` (how long a verdict takes).

Importing this package imports `routing` only (no numpy): the server's hot path stays light.
"""

from __future__ import annotations

from core.operations.rollouts.routing import Route, route

__all__ = ["Route", "route"]
