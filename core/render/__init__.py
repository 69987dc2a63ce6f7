"""Renderers: one module per output family (JSON envelope, Markdown, Rich).

They only render what core functions return; none computes anything.
"""

from __future__ import annotations

from core.foundation.plain import to_plain

__all__ = ["to_plain"]
