"""Walk-forward folds counted in calendar days on the time column, anchored at the data's end.

Fold k's test window is `test_days` calendar days; the windows sit back to back and the last
one ends on the last date of the data, so every run of a model on one snapshot tests on the
same windows (comparisons are paired). Training ends `gap_days` full calendar days before
the test window starts; it starts at the first date (expanding) or `train_days` before its
end (sliding). Rows are assigned by their date, so one date's rows never straddle a
boundary, however many rows a date holds and however irregular the dates are
(adrs/0007-walk-forward-in-calendar-days.md).

The gap must cover the label's horizon (a label one day ahead needs at least one gap day),
or the last training labels would be values from inside the test window. With early stopping
each fold keeps an inner slice at the end of its training window, `gap_days` after the rows
it fits on, to pick the number of trees: the test window is never looked at.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from core.foundation.config import ValidationConfig
from core.foundation.errors import ExitCode, FactoryError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MIN_TRAIN_ROWS = 20
"""Fewer labelled training rows than this is not a model worth reporting."""


@dataclass(frozen=True)
class InnerSlice:
    """The end of a fold's training window that picks the number of trees (early stopping)."""

    fit_end: date
    """The last day of the rows the trees are fitted on while stopping is decided."""
    start: date
    end: date
    rows: int
    fit_rows: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "fit_end": self.fit_end.isoformat(),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "rows": self.rows,
            "fit_rows": self.fit_rows,
        }


@dataclass(frozen=True)
class Fold:
    index: int
    train_start: date
    train_end: date
    test_start: date
    test_end: date
    train_rows: int
    test_rows: int
    train_dates: int
    """Distinct dates in the training window that hold rows."""
    test_dates: int
    inner: InnerSlice | None = None
    """The early-stopping slice inside the training window (None without early stopping)."""

    @property
    def gap_days(self) -> int:
        """Whole calendar days strictly between the last training day and the first test day."""
        return (self.test_start - self.train_end).days - 1

    def window(self) -> str:
        """The test window as a comparable key."""
        return f"{self.test_start.isoformat()}..{self.test_end.isoformat()}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "fold": self.index,
            "train": {
                "start": self.train_start.isoformat(),
                "end": self.train_end.isoformat(),
                "rows": self.train_rows,
                "dates": self.train_dates,
            },
            "test": {
                "start": self.test_start.isoformat(),
                "end": self.test_end.isoformat(),
                "rows": self.test_rows,
                "dates": self.test_dates,
            },
            "gap_days": self.gap_days,
            "early_stopping": self.inner.to_dict() if self.inner else None,
        }


@dataclass(frozen=True)
class FoldPlan:
    folds: list[Fold]
    train_masks: list[np.ndarray]
    test_masks: list[np.ndarray]
    fit_masks: list[np.ndarray | None]
    """Per fold, the rows fitted while early stopping decides (None without it)."""
    inner_masks: list[np.ndarray | None]
    """Per fold, the early-stopping slice's rows (None without it)."""


def _too_short(message: str, settings: ValidationConfig, details: dict[str, Any]) -> FactoryError:
    return FactoryError(
        "data_too_short",
        message,
        hint=(
            f"Use more history, or lower [validation] folds ({settings.folds}), test_days "
            f"({settings.test_days}) or gap_days ({settings.gap_days}) in factory.toml."
        ),
        details={
            "folds": settings.folds,
            "test_days": settings.test_days,
            "gap_days": settings.gap_days,
            "window": settings.window,
            "train_days": settings.train_days,
            **details,
        },
        exit_code=ExitCode.INPUT,
    )


def horizon_days(horizon: timedelta | None) -> int:
    """Whole gap days a label `horizon` ahead needs: a label that looks up to one day ahead
    reads the first test day unless one full day separates training from test."""
    if horizon is None or horizon <= timedelta(0):
        return 0
    return -(-horizon // timedelta(days=1))


def check_gap(settings: ValidationConfig, horizon: timedelta | None, labels_ref: str) -> None:
    """Refuse a gap shorter than the label's horizon (training labels would overlap the test
    window)."""
    needed = horizon_days(horizon)
    if settings.gap_days < needed:
        raise FactoryError(
            "gap_too_short",
            f"[validation] gap_days = {settings.gap_days} is shorter than the horizon of "
            f"{labels_ref} ({horizon}): the last training rows' labels would be values from "
            "inside the test window",
            hint=f"Set gap_days = {needed} or more in factory.toml's [validation].",
            details={"gap_days": settings.gap_days, "horizon": str(horizon), "needed": needed},
            exit_code=ExitCode.INPUT,
        )


def plan_folds(
    times: pd.Series,
    settings: ValidationConfig,
    usable: Any = None,
    *,
    early_stopping: bool = False,
) -> FoldPlan:
    """Folds for rows with timestamps `times`; `usable` (bool per row, e.g. "has a label")
    restricts which rows are counted and selected. With `early_stopping`, each fold also gets
    its inner slice (`[validation] early_stopping_days`, default `test_days`). Raises when data
    is too short."""
    import numpy as np
    import pandas as pd

    min_test_rows = settings.min_test_rows
    inner_days = settings.early_stopping_days or settings.test_days
    days = pd.to_datetime(times).dt.normalize().to_numpy()
    keep = np.ones(len(days), dtype=bool) if usable is None else np.asarray(usable, dtype=bool)
    if len(days) == 0:
        raise _too_short("No rows to split into folds", settings, {"rows": 0})
    first = pd.Timestamp(days.min()).date()
    last = pd.Timestamp(days.max()).date()
    folds: list[Fold] = []
    train_masks: list[np.ndarray] = []
    test_masks: list[np.ndarray] = []
    fit_masks: list[np.ndarray | None] = []
    inner_masks: list[np.ndarray | None] = []
    for k in range(settings.folds):
        back = settings.folds - 1 - k
        test_end = last - timedelta(days=back * settings.test_days)
        test_start = test_end - timedelta(days=settings.test_days - 1)
        train_end = test_start - timedelta(days=settings.gap_days + 1)
        if settings.window == "sliding" and settings.train_days:
            train_start = max(first, train_end - timedelta(days=settings.train_days - 1))
        else:
            train_start = first
        if train_end < first:
            raise _too_short(
                f"Fold {k} would train on nothing: its test window starts {test_start}, "
                f"{settings.gap_days} gap days before that leave no dates after the data's first "
                f"date {first} ({(last - first).days + 1} calendar days of data).",
                settings,
                {"fold": k, "first_date": str(first), "last_date": str(last)},
            )
        ts = np.datetime64(train_start)
        te = np.datetime64(train_end)
        ss = np.datetime64(test_start)
        se = np.datetime64(test_end)
        train_mask = (days >= ts) & (days <= te) & keep
        test_mask = (days >= ss) & (days <= se) & keep
        inner: InnerSlice | None = None
        fit_mask = inner_mask = None
        if early_stopping:
            inner_start = train_end - timedelta(days=inner_days - 1)
            fit_end = inner_start - timedelta(days=settings.gap_days + 1)
            fit_mask = (days >= ts) & (days <= np.datetime64(fit_end)) & keep
            inner_mask = (days >= np.datetime64(inner_start)) & (days <= te) & keep
            inner = InnerSlice(
                fit_end, inner_start, train_end, int(inner_mask.sum()), int(fit_mask.sum())
            )
            if inner.fit_rows < MIN_TRAIN_ROWS or inner.rows < 1:
                raise _too_short(
                    f"Fold {k}'s early-stopping slice ({inner_start}..{train_end}, "
                    f"{inner.rows} rows) leaves {inner.fit_rows} rows to fit on before it "
                    f"({train_start}..{fit_end}); it needs at least {MIN_TRAIN_ROWS} and 1.",
                    settings,
                    {"fold": k, "early_stopping": inner.to_dict()},
                )
        fold = Fold(
            index=k,
            train_start=train_start,
            train_end=train_end,
            test_start=test_start,
            test_end=test_end,
            train_rows=int(train_mask.sum()),
            test_rows=int(test_mask.sum()),
            train_dates=len(np.unique(days[train_mask])),
            test_dates=len(np.unique(days[test_mask])),
            inner=inner,
        )
        if fold.train_rows < MIN_TRAIN_ROWS or fold.test_rows < max(min_test_rows, 1):
            raise _too_short(
                f"Fold {k} has {fold.train_rows} usable training rows ({train_start}..{train_end}) "
                f"and {fold.test_rows} test rows ({test_start}..{test_end}); it needs at least "
                f"{MIN_TRAIN_ROWS} and {min_test_rows} ([validation] min_test_rows): a score on "
                "fewer rows is noise.",
                settings,
                {"fold": k, "min_test_rows": min_test_rows, **fold.to_dict()},
            )
        folds.append(fold)
        train_masks.append(train_mask)
        test_masks.append(test_mask)
        fit_masks.append(fit_mask)
        inner_masks.append(inner_mask)
    plan = FoldPlan(folds, train_masks, test_masks, fit_masks, inner_masks)
    check_invariants(plan, days, settings)
    return plan


def check_invariants(plan: FoldPlan, days: Any, settings: ValidationConfig) -> None:
    """Assert what walk-forward promises, on every run: a violation is a bug, not bad data."""
    import numpy as np

    problems: list[str] = []
    previous_test_end: date | None = None
    for fold, train_mask, test_mask in zip(
        plan.folds, plan.train_masks, plan.test_masks, strict=True
    ):
        if fold.gap_days < settings.gap_days:
            problems.append(f"fold {fold.index}: gap {fold.gap_days} < {settings.gap_days} days")
        if (fold.test_end - fold.test_start).days + 1 != settings.test_days:
            problems.append(f"fold {fold.index}: test window is not {settings.test_days} days")
        if train_mask.any() and test_mask.any():
            latest_train = days[train_mask].max()
            earliest_test = days[test_mask].min()
            if (earliest_test - latest_train) / np.timedelta64(1, "D") <= settings.gap_days:
                problems.append(
                    f"fold {fold.index}: a training row is within the gap of a test row"
                )
        if (train_mask & test_mask).any():
            problems.append(f"fold {fold.index}: a row is both in training and in test")
        if fold.inner is not None:
            if not fold.inner.end < fold.test_start:
                problems.append(f"fold {fold.index}: the early-stopping slice reaches the test")
            if (fold.inner.start - fold.inner.fit_end).days - 1 < settings.gap_days:
                problems.append(f"fold {fold.index}: no gap before the early-stopping slice")
        if previous_test_end is not None and fold.test_start <= previous_test_end:
            problems.append(f"fold {fold.index}: test window overlaps the previous fold's")
        previous_test_end = fold.test_end
    if problems:
        raise FactoryError(
            "walkforward_invariant",
            "Walk-forward invariants broken: " + "; ".join(problems),
            hint="This is a bug in factory's fold planner; please report it with factory.toml.",
            details={"problems": problems},
            exit_code=ExitCode.INTERNAL,
        )


def validation_settings(validation: ValidationConfig) -> dict[str, Any]:
    """The `[validation]` settings a run's folds depend on (all of them go into its id)."""
    return {
        "folds": validation.folds,
        "gap_days": validation.gap_days,
        "test_days": validation.test_days,
        "window": validation.window,
        "train_days": validation.train_days if validation.window == "sliding" else None,
        "min_test_rows": validation.min_test_rows,
        "early_stopping_days": validation.early_stopping_days,
    }
