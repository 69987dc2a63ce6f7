"""Views from the model cards: `plans`, `notes`, `tiers` (who holds each tier now) and
`tier_history` (every change, with its reason and gate), one row each across the cards.

Cards are YAML, which DuckDB cannot read; the rows are mirrored to small JSON files in
`.factory/cache/cards/` (regenerated from the card whenever it changes) and the views read
those.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from core.foundation.workspace import Workspace
from core.lens.views.sql import ViewSpec, empty_select, sql_paths, workspace_files

PLAN_COLUMNS = {
    "model": "VARCHAR",
    "plan_id": "VARCHAR",
    "created_at": "TIMESTAMP",
    "intent": "VARCHAR",
    "expect": "VARCHAR",
    "status": "VARCHAR",
    "run_id": "VARCHAR",
    "held": "BOOLEAN",
    "verdict": "VARCHAR",
    "features": "VARCHAR",
    "labels": "VARCHAR",
    "hparams": "VARCHAR",
    "arch": "VARCHAR",
}
TIER_COLUMNS = {
    "model": "VARCHAR",
    "tier": "VARCHAR",
    "run_id": "VARCHAR",
    "previous_run_id": "VARCHAR",
}
TIER_HISTORY_COLUMNS = {
    "model": "VARCHAR",
    "ts": "TIMESTAMP",
    "tier": "VARCHAR",
    "action": "VARCHAR",
    "run_id": "VARCHAR",
    "previous_run_id": "VARCHAR",
    "reason": "VARCHAR",
    "gate_id": "VARCHAR",
}
NOTE_COLUMNS = {
    "model": "VARCHAR",
    "note_id": "VARCHAR",
    "run_id": "VARCHAR",
    "created_at": "TIMESTAMP",
    "text": "VARCHAR",
    "next": "VARCHAR",
}


def _mirror(ws: Workspace, kind: str) -> Path | None:
    """The JSON-lines mirror of every card's `kind` rows, refreshed when a card changed."""
    from core.foundation.atomic import write_text
    from core.foundation.errors import FactoryError
    from core.records.card_store import card_models, card_path, read_card

    folder = ws.state_dir / "cache" / "cards"
    target = folder / f"{kind}.jsonl"
    models = [m for m in card_models(ws) if card_path(ws, m).is_file()]
    key = {m: list(_stat(card_path(ws, m))) for m in models}
    key_path = folder / f"{kind}.key.json"
    try:
        if json.loads(key_path.read_text(encoding="utf-8")) == key and target.is_file():
            return target if target.stat().st_size else None
    except (OSError, ValueError):
        pass
    rows: list[dict[str, Any]] = []
    for model in models:
        try:
            card = read_card(ws, model)
        except FactoryError:
            continue  # a broken card is reported by `factory card`, not by a query
        if kind == "plans":
            for plan in card.plans:
                verdict = plan.verdict or {}
                rows.append(
                    {
                        "model": model,
                        "plan_id": plan.plan_id,
                        "created_at": plan.created_at,
                        "intent": plan.intent,
                        "expect": plan.expect,
                        "status": plan.status,
                        "run_id": plan.run_id,
                        "held": verdict.get("held"),
                        "verdict": verdict.get("reason"),
                        **{
                            k: plan.components.get(k)
                            for k in ("features", "labels", "hparams", "arch")
                        },
                    }
                )
        elif kind == "notes":
            for note in card.notes:
                rows.append(
                    {"model": model, **{k: note.get(k) for k in NOTE_COLUMNS if k != "model"}}
                )
        elif kind == "tiers":
            held = card.meta.get("tiers")
            tiers: dict[str, Any] = held if isinstance(held, dict) else {}
            before = tiers.get("previous")
            previous: dict[str, Any] = before if isinstance(before, dict) else {}
            for tier in ("staging", "prod"):
                rows.append(
                    {
                        "model": model,
                        "tier": tier,
                        "run_id": tiers.get(tier),
                        "previous_run_id": previous.get(tier),
                    }
                )
        else:
            for change in card.meta.get("tier_history") or []:
                if isinstance(change, dict):
                    rows.append(
                        {
                            "model": model,
                            **{k: change.get(k) for k in TIER_HISTORY_COLUMNS if k != "model"},
                        }
                    )
    write_text(target, "".join(json.dumps(r, default=str) + "\n" for r in rows))
    write_text(key_path, json.dumps(key))
    return target if rows else None


def _stat(path: Path) -> tuple[int, int]:
    stat = os.stat(path)
    return stat.st_mtime_ns, stat.st_size


def _select(ws: Workspace, kind: str, columns: dict[str, str]) -> str:
    path = _mirror(ws, kind)
    files = workspace_files(ws, path.parent, path.name) if path is not None else []
    if not files:
        return empty_select(columns)
    spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"
    return (
        f"SELECT * FROM read_json({sql_paths(files)}, format='newline_delimited', columns={spec})"
    )


def plans_sql(ws: Workspace) -> str:
    return _select(ws, "plans", PLAN_COLUMNS)


def notes_sql(ws: Workspace) -> str:
    return _select(ws, "notes", NOTE_COLUMNS)


def tiers_sql(ws: Workspace) -> str:
    return _select(ws, "tiers", TIER_COLUMNS)


def tier_history_sql(ws: Workspace) -> str:
    return _select(ws, "tier_history", TIER_HISTORY_COLUMNS)


VIEWS = (
    ViewSpec(
        "plans",
        "planned experiments from the model cards, with their expectation verdicts",
        plans_sql,
    ),
    ViewSpec("notes", "findings and next ideas from the model cards", notes_sql),
    ViewSpec("tiers", "which run holds staging and prod now, and the one before", tiers_sql),
    ViewSpec(
        "tier_history",
        "every tier change (promote, override, rollback) with its reason and gate",
        tier_history_sql,
    ),
)
