"""The run report's JSON forms read on every sitting, apart from the report's types
(`core.experiments.report`): `factory status` and the run index need a report upgraded to
the current vocabulary, a primary metric and a baseline in their one shape, and nothing else;
creating the report's dataclasses cost `status` a tenth of its time.

Plain `json` and `math` only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, TypedDict

REPORT_SCHEMA = "factory.report/3"
READABLE_SCHEMAS = ("factory.report/1", "factory.report/2", REPORT_SCHEMA)


def upgrade(raw: dict[str, Any]) -> dict[str, Any]:
    """A stored report in the current vocabulary: the paired test's `folds` (a count, in
    versions 1 and 2) is `fold_count`; a version 2 report then is a version 3 one. A copy
    where something changed; the file is untouched."""
    if raw.get("schema") == "factory.report/2":
        raw = {**raw, "schema": REPORT_SCHEMA}
    baselines = raw.get("baselines")
    if not isinstance(baselines, dict):
        return raw
    versus = baselines.get("versus_best")
    renamed = versus_best_v3(versus)
    if renamed is versus:
        return raw
    return {**raw, "baselines": {**baselines, "versus_best": renamed}}


def versus_best_v3(versus: Any) -> Any:
    """A stored `baselines.versus_best` whose paired test counts its folds as `fold_count`
    (versions 1 and 2 called the count `folds`); the same object when nothing changes."""
    test = versus.get("test") if isinstance(versus, dict) else None
    if not isinstance(test, dict) or "folds" not in test:
        return versus
    return {**versus, "test": {("fold_count" if k == "folds" else k): v for k, v in test.items()}}


def finite(value: Any) -> float | None:
    """`value` as a float when it is a finite number, else None (NaN, inf, text, bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


class PrimaryMetricData(TypedDict):
    """A run's score on its model's primary metric: the one shape every answer uses
    (docs/vocabulary.md). Numbers a source does not hold (a card keeps mean and std) are null."""

    name: str
    """The metric, e.g. `auc`, `mae`."""
    direction: str
    """`maximize` or `minimize`."""
    mean: float | None
    """Mean over the folds where it is defined."""
    std: float | None
    min: float | None
    max: float | None
    n: int | None
    """Folds the numbers stand on."""
    of: int | None
    """Folds the run has."""


def primary_metric_json(raw: Mapping[str, Any] | None, **known: Any) -> PrimaryMetricData | None:
    """Any stored form of a run's primary metric (a report's `primary_metric`, an index
    summary's `primary`, a card entry's `metric`) as `PrimaryMetricData`; `known` fills what
    the source lacks (`name=`, `direction=`). None when there is nothing to say."""
    values = {**known, **{k: v for k, v in (raw or {}).items() if v is not None}}
    if not values.get("name") and values.get("mean") is None:
        return None

    def count(key: str) -> int | None:
        value = values.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return {
        "name": str(values.get("name") or ""),
        "direction": str(values.get("direction") or "maximize"),
        "mean": finite(values.get("mean")),
        "std": finite(values.get("std")),
        "min": finite(values.get("min")),
        "max": finite(values.get("max")),
        "n": count("n"),
        "of": count("of"),
    }


class BaselineBrief(TypedDict):
    """A run against its best naive baseline, in three numbers (`runs`, `card`, `status`)."""

    best: str | None
    """The naive baseline with the best mean primary metric (`persistence`, `prior`, ...)."""
    skill: float | None
    """Skill score on the primary metric against it (1 - run/baseline for a loss)."""
    verdict: str | None
    """The run (B) against it (A): better, worse or inconclusive."""
