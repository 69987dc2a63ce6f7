"""Reading and writing `cards/<model>.md`: the only way anything touches a card file.

Every write is a read-modify-write under a per-card file lock, landed atomically, touching
only the frontmatter keys the caller owns and the generated body sections; a human's words
elsewhere in the body survive every write (adrs/0010). Each write also chooses the runs the
card keeps (`core.records.kept_runs`, adrs/0023), so a version-1 card is rewritten in the
current layout the first time anything writes it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from core.foundation.atomic import file_lock, write_text
from core.foundation.errors import FactoryError
from core.foundation.ids import validate_name
from core.foundation.workspace import Workspace
from core.records import fileformat, kept_runs, sections
from core.records.card import CARD_FORMAT, Card

KEY_ORDER = (
    "model", "task", "primary_metric", "direction", "dataset", "card_format", "model-index",
    "best_run", "run_count", "tiers", "tier_history", "plans", "runs", "notes",
)  # fmt: skip
_LISTS = ("plans", "runs", "entries", "notes", "tier_history")


def card_path(ws: Workspace, model: str) -> Path:
    return ws.cards_dir / f"{validate_name(model, 'model')}.md"


def _lock_path(ws: Workspace, model: str) -> Path:
    return ws.state_dir / "locks" / f"card-{model}.lock"


def card_models(ws: Workspace) -> list[str]:
    """Every model with a card or a table in factory.toml (valid names only), sorted."""
    names = set(ws.config.models)
    if ws.cards_dir.is_dir():
        names.update(p.stem for p in ws.cards_dir.glob("*.md"))
    return sorted(n for n in names if _valid(n))


def _valid(name: str) -> bool:
    try:
        validate_name(name)
    except FactoryError:
        return False
    return True


def new_card_meta(ws: Workspace, model: str) -> dict[str, Any]:
    """The frontmatter of a card not written yet; `unknown_model` when factory.toml has no
    such model."""
    config = ws.config.models.get(model)
    if config is None:
        known = ", ".join(ws.config.models) or "none"
        raise FactoryError(
            "unknown_model",
            f"No model {model!r} in {ws.config_path}",
            hint=f"Models: {known}. Add a [models.{model}] table to factory.toml.",
            details={"model": model, "models": list(ws.config.models)},
        )
    return {
        "model": model,
        "task": config.task,
        "primary_metric": config.primary_metric,
        "direction": config.direction,
        "dataset": config.dataset,
        "card_format": CARD_FORMAT,
        "tiers": {},
        "tier_history": [],
        "plans": [],
        "runs": [],
        "notes": [],
    }


def _key_line(text: str, key: str) -> int | None:
    """The 1-based line where a top-level frontmatter key is written."""
    import re

    match = re.search(rf"^{re.escape(key)}\s*:", text, re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _check_shape(path: Path, meta: dict[str, Any], text: str) -> None:
    for key in _LISTS:
        if key in meta and meta[key] is not None and not isinstance(meta[key], list):
            raise fileformat.broken(
                path,
                _key_line(text, key),
                f"frontmatter key '{key}' must be a list, not {type(meta[key]).__name__}",
                f"Restore '{key}' as a YAML list (or `git checkout` the card).",
            )
    if "tiers" in meta and meta["tiers"] is not None and not isinstance(meta["tiers"], dict):
        raise fileformat.broken(
            path,
            _key_line(text, "tiers"),
            "frontmatter key 'tiers' must be a mapping",
            "Restore 'tiers' as 'tier: run_id' lines.",
        )
    if "card_format" in meta and meta["card_format"] != CARD_FORMAT:
        raise fileformat.broken(
            path,
            _key_line(text, "card_format"),
            f"card_format {meta['card_format']!r} is not one this factory reads ({CARD_FORMAT})",
            "Update factory, or restore the card with `git checkout`.",
        )


def read_card(ws: Workspace, model: str) -> Card:
    """The card of `model` (a fresh, unsaved one when the file does not exist yet); a card
    that does not parse raises `card_invalid` naming its file and line."""
    path = card_path(ws, model)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Card(model, path, False, new_card_meta(ws, model), sections.initial_body(model))
    except UnicodeDecodeError as exc:
        raise fileformat.broken(
            path, None, "the card is not UTF-8 text", "Save it as UTF-8."
        ) from exc
    return card_from_text(model, path, text)


def card_from_text(model: str, path: Path, text: str) -> Card:
    """The card `text` read from `path` holds; `card_invalid` naming the line when it does
    not parse."""
    meta, body = fileformat.split(path, text)
    _check_shape(path, meta, text)
    body_line = text[: len(text) - len(body)].count("\n") + 1
    fileformat.check_markers(path, body, body_line)
    return Card(model, path, True, meta, body)


def _yaml_safe(value: Any) -> Any:
    """What a mutate callback stored, in types YAML's safe dumper writes and its loader reads
    back the same (tuples and sets become lists, other objects their text)."""
    if isinstance(value, dict):
        return {str(k): _yaml_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_yaml_safe(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_yaml_safe(v) for v in value), key=str)
    if value is None or isinstance(value, (str, int, float, bool, date)):
        return value
    return str(value)


def _ordered(meta: dict[str, Any]) -> dict[str, Any]:
    ordered = {k: meta[k] for k in KEY_ORDER if k in meta}
    ordered.update({k: v for k, v in meta.items() if k not in ordered})
    return ordered


def update_card(ws: Workspace, model: str, mutate: Callable[[dict[str, Any]], None]) -> Card:
    """Read-modify-write the card's frontmatter under its lock; `mutate` edits the dict in
    place (a version-1 card is brought to the current layout first). The kept runs and what
    derives from them are settled, generated body sections re-rendered, and the rest of the
    body kept byte for byte. Returns the card as written."""
    validate_name(model, "model")
    with file_lock(_lock_path(ws, model)):
        card = read_card(ws, model)
        meta = card.meta
        kept_runs.upgrade(meta)
        mutate(meta)
        kept_runs.settle(ws, meta)
        meta = _ordered(_yaml_safe(meta))
        body = fileformat.replace_sections(card.body, sections.render(meta))
        write_text(card.path, fileformat.join(meta, body))
        return Card(model, card.path, True, meta, body)
