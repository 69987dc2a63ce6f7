"""Many tests at once: Benjamini-Hochberg control of the false discovery rate.

When one question is asked of many columns (drift per column, effects per factor), a
p-value below 0.05 somewhere is expected by chance alone. Benjamini and Hochberg (1995)
keep the expected share of false discoveries among the rejections at most q (for
independent or positively dependent tests).
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def benjamini_hochberg(
    p_values: Sequence[float | None], q: float = 0.05
) -> tuple[list[bool], list[float | None]]:
    """(rejected, adjusted p-values), in the order given.

    With m valid p-values sorted ascending, the adjusted value of the i-th smallest is
    min over j >= i of m * p_(j) / j, capped at 1, so the adjusted values are monotone in
    the raw ones; a test is rejected iff its adjusted value is <= q (the step-up rule: reject
    the k smallest for the largest k with p_(k) <= k q / m). None or NaN p-values are not
    tests: they are not rejected, do not count in m, and stay None in the adjusted list.
    """
    if not 0.0 < q <= 1.0:
        raise ValueError(f"q must be in (0, 1], got {q!r}")
    valid: list[tuple[float, int]] = []
    for index, p in enumerate(p_values):
        if p is None or math.isnan(p):
            continue
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p-values must be in [0, 1], got {p!r} at position {index}")
        valid.append((float(p), index))
    adjusted: list[float | None] = [None] * len(p_values)
    rejected = [False] * len(p_values)
    m = len(valid)
    running = 1.0
    for rank, (p, index) in reversed(list(enumerate(sorted(valid), start=1))):
        running = min(running, m * p / rank)
        adjusted[index] = running
        rejected[index] = running <= q
    return rejected, adjusted
