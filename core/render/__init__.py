"""Renderers: they only lay out what core functions return; none computes anything.

- `envelope`: the JSON face (`--json`), the one document on stdout.
- `text`: the text of every value a person reads (numbers, missing values, yes/no,
  timestamps, lists, records), one wording for Markdown, Rich and the dashboard.
- `markdown`, `rich_text`: the Markdown face (`--md`) and the Rich face (the default): the
  generic layout of any data and the helpers renderers build with.
- `catalog`: which schemas have their own renderers, from `families/<family>.py`, one module
  per command family of `core/cli/commands/` (`factory.compare/2` ->
  `families/experiments.py`).
- `words`: how a model's status reads, shared by `status` and the dashboard's Overview.
"""

from __future__ import annotations

from core.foundation.plain import to_plain

__all__ = ["to_plain"]
