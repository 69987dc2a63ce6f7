"""Naming a run the way people and assistants do: its id, a unique prefix of it, or what it
is to its model (`best`, `last`, `prod`, `staging`, or `rain:best` when the model is not
clear from the context).

Resolving `prod` reads the card's tiers and `best` the run index, so this sits above both;
every command that takes a run goes through `resolve_run`, so `compare best r-x`, `note
r-6030 ...` and `gate staging --to prod` all mean one run, and an ambiguous prefix is refused
with the runs it matches.
"""

from __future__ import annotations

from core.foundation.errors import FactoryError, UsageError
from core.foundation.workspace import Workspace

NAMED = ("best", "last", "prod", "staging")


def _named(ws: Workspace, model: str, name: str) -> str:
    from core.experiments.index import model_stats
    from core.operations.tier_state import read_tiers

    if name in ("prod", "staging"):
        held = read_tiers(ws, model).get(name)
        if not held:
            raise FactoryError(
                "tier_empty",
                f"No run of {model} is in {name}",
                hint=f"See `factory tiers {model}`; promote one with `factory promote RUN --to {name}`.",
                details={"model": model, "tier": name},
            )
        return str(held)
    stats = model_stats(ws, model)
    found = stats.get("best" if name == "best" else "last")
    if not isinstance(found, dict):
        raise FactoryError(
            "no_run",
            f"{model} has no {'comparable non-leaky ' if name == 'best' else ''}run yet",
            hint=f"Train one with `factory train {model}`.",
            details={"model": model, "ref": name},
        )
    return str(found["run_id"])


def resolve_run(ws: Workspace, ref: str, *, model: str | None = None) -> str:
    """The run id `ref` names (see the module docstring); `model` is the model the context
    gives (the other run of a comparison), used for a bare `best`/`prod`."""
    from core.experiments.index import resolve_run_id

    name, _, tail = ref.partition(":")
    if tail in NAMED:
        ws.model(name)
        return _named(ws, name, tail)
    if ref in NAMED:
        models = [model] if model else list(ws.config.models)
        if len(models) != 1:
            raise UsageError(
                f"{ref!r} of which model? This workspace has {', '.join(models) or 'none'}",
                hint=f"Write MODEL:{ref}, e.g. {models[0] if models else 'rain'}:{ref}.",
            )
        return _named(ws, str(models[0]), ref)
    return resolve_run_id(ws, ref)


def model_of(ws: Workspace, run_id: str) -> str | None:
    from core.experiments.index import load_report

    model = load_report(ws, run_id).get("model")
    return str(model) if model else None


def resolve_pair(ws: Workspace, ref_a: str, ref_b: str) -> tuple[str, str]:
    """Two runs of a comparison: a named side (`best`) takes the other side's model."""
    plain_a = ref_a not in NAMED and ":" not in ref_a
    plain_b = ref_b not in NAMED and ":" not in ref_b
    if plain_a or not plain_b:
        a = resolve_run(ws, ref_a)
        return a, resolve_run(ws, ref_b, model=model_of(ws, a))
    b = resolve_run(ws, ref_b)
    return resolve_run(ws, ref_a, model=model_of(ws, b)), b
