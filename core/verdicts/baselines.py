"""The run against its best naive baseline: scored by training, so it lives in
`core.experiments.training.skill`; named here too for the verdict tests."""

from __future__ import annotations

from core.experiments.training.skill import (
    BOUNDED_BY_ONE,
    best_baseline,
    skill_score,
    versus_best_baseline,
)

__all__ = ["BOUNDED_BY_ONE", "best_baseline", "skill_score", "versus_best_baseline"]
