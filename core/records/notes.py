"""Notes: a finding about a run, and the next idea it suggests, on the run's model card."""

from __future__ import annotations

from typing import Any

from core.foundation import clock
from core.foundation.errors import ExitCode, FactoryError
from core.foundation.ids import hash_inputs, validate_name
from core.foundation.workspace import Workspace
from core.records.card import Note
from core.records.card_store import update_card
from core.records.runs import model_of_run


def add_note(ws: Workspace, run_id: str, text: str, next_idea: str | None = None) -> Note:
    """Add a finding (and an optional next idea) about a run to its model's card.
    The same note twice is recorded once."""
    validate_name(run_id, "run id")
    if not text.strip():
        raise FactoryError(
            "note_empty", "A note needs text: what did you learn?", exit_code=ExitCode.USAGE
        )
    model = model_of_run(ws, run_id)
    idea = next_idea.strip() if next_idea and next_idea.strip() else None
    note_id = "n-" + hash_inputs({"run_id": run_id, "text": text.strip(), "next": idea})
    stored: dict[str, Any] = {}

    def add(meta: dict[str, Any]) -> None:
        notes = meta.setdefault("notes", [])
        for note in notes:
            if isinstance(note, dict) and note.get("note_id") == note_id:
                stored.update(note)
                return
        note = {
            "note_id": note_id,
            "run_id": run_id,
            "created_at": clock.iso(),
            "text": text.strip(),
            "next": idea,
        }
        notes.append(note)
        stored.update(note)

    update_card(ws, model, add)
    return Note(note_id, run_id, model, stored["text"], stored.get("next"), stored["created_at"])
