"""How values read on screen: the same words as `factory status --md` (`core.render.words`),
one place, so tests can format the `--json` numbers the same way."""

from __future__ import annotations

from core.render.words import number, signed, value, when

__all__ = ["number", "signed", "value", "when"]
