"""How values read on screen: the dashboard's door to `core.render.text`, the one module that
words every value for Markdown, Rich and the dashboard alike (so a screen and
`factory ... --md` never say one number two ways). Nothing is formatted here."""

from __future__ import annotations

from core.render.text import NOTHING, interval, number, percent, signed, value, when

__all__ = ["NOTHING", "interval", "number", "percent", "signed", "value", "when"]
