"""Tier changes that survive a kill: an intent is written before the card changes.

A tier change is several writes: the card (the truth of which run holds a tier), then an
ADR (an override), an event, an alert (a rollback). A process killed between them used to
leave a card that says "override" with no ADR and no event, and a re-run answered
`changed: false` without repairing it. Now each change first writes an intent,
`.factory/intents/<change_id>.json`, whose id the card's history entry carries. The steps
after the card are idempotent and each can tell whether it already happened (the ADR
mentions the change id, the event carries it, the alert's source names it), so the next tier
action on the model (or a re-run of the same command) completes whatever is missing and
removes the intent. An intent whose change never reached the card is simply dropped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.foundation import clock
from core.foundation.atomic import write_json
from core.foundation.ids import hash_inputs
from core.foundation.workspace import Workspace


def intents_dir(ws: Workspace) -> Path:
    return ws.state_dir / "intents"


def new_intent(ws: Workspace, model: str, tier: str, action: str, **fields: Any) -> dict[str, Any]:
    """Write the intent of a tier change before the card is touched; returns it."""
    created = clock.iso()
    intent = {
        "model": model,
        "tier": tier,
        "action": action,
        "created_at": created,
        **fields,
    }
    intent["change_id"] = "tc-" + hash_inputs(intent)
    write_json(intents_dir(ws) / f"{intent['change_id']}.json", intent)
    return intent


def pending(ws: Workspace, model: str) -> list[dict[str, Any]]:
    """The model's intents not yet completed, oldest first."""
    folder = intents_dir(ws)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("tc-*.json"):
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(raw, dict) and raw.get("model") == model and raw.get("change_id"):
            found.append(raw)
    found.sort(key=lambda r: str(r.get("created_at") or ""))
    return found


def done(ws: Workspace, intent: dict[str, Any]) -> None:
    """Every step of the change happened: forget the intent."""
    (intents_dir(ws) / f"{intent['change_id']}.json").unlink(missing_ok=True)


def event_recorded(ws: Workspace, intent: dict[str, Any], event: str) -> bool:
    """Whether an event carrying this change id was appended since the intent was written
    (read only when repairing, from the partitions of those days)."""
    from core.foundation.events import line_recorded

    needle = f'"change_id":"{intent["change_id"]}"'.encode()
    name = f'"event":"{event}"'.encode()
    since = str(intent.get("created_at") or "")[:10] or None
    return line_recorded(ws, since, needle, name)
