"""`factory check features VERSION`: is a feature set point-in-time correct?

Features computed on history cut at a date must equal, for every row at or before that
date, the features computed on the full history. A feature that peeks at a later row (a
`shift(-1)`, a centred rolling mean, a global normalisation) changes some of those rows.

A cut at date `c` catches a look-ahead on a row dated `d` only when `d <= c` and the value
the row peeks at lies after `c`: a feature reading tomorrow's value on one date is caught by
a cut on that very date and by no other. So a handful of fixed cuts misses a leak that shows
on a minority of dates (only in June and July, say); this check cuts at as many distinct
dates as the time budget allows, in this order:

1. the walk-forward boundaries of the model's validation settings (each fold's train end,
   test start and test end), where a leak would flatter the reported metrics most;
2. a spread: every k-th distinct date, k chosen from the budget so that every stretch of the
   data holds a cut, checked coarse to fine so a spread cut short is still even;
3. seeded random dates, then every other date, until the budget is spent.

The build time of the full history is measured first and sets `cuts_planned`; cuts then run
in that order until every date was a cut or the next one would overrun the budget. On the
embedded weather data (1,461 days, ~10 ms per build of `weather_v2`) every date fits in the
default budget.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

from core.foundation.errors import FactoryError, UsageError
from core.foundation.workspace import Workspace

if TYPE_CHECKING:
    import numpy as np

DEFAULT_BUDGET_S = 20.0
"""Wall-clock seconds one check may spend (loading, the full build and every cut)."""
METHOD = 2
"""Version of the cut strategy (1 was five fixed quantile cuts); part of a check's id."""
SPREAD_SHARE = 0.5
"""Share of the planned cuts (after the fold boundaries) spent on the even spread."""
COVERAGE_WINDOW_DAYS = 7
MAX_VIOLATIONS = 20
VIOLATIONS_PER_CUT = 5
MAX_LEAKY_DATES = 50
MAX_BUILD_ERRORS = 5
TOLERANCE = 1e-9
"""Relative tolerance for numbers; strings must match exactly and NaN equals NaN."""


class CutData(TypedDict):
    cut: str
    """Rows dated on or before this day were recomputed without the later history."""
    rows: int
    changed_rows: int
    changed_columns: list[str]
    kind: str
    """Why this date was cut: `fold`, `spread` or `random`."""


@dataclass(frozen=True)
class CutCheck:
    cut: str
    """Rows dated on or before this day were recomputed without the later history."""
    rows: int
    changed_rows: int
    changed_columns: list[str]
    kind: str = "spread"
    """Why this date was cut: `fold` (a walk-forward boundary), `spread` or `random`."""


@dataclass(frozen=True)
class PitResult:
    features: str
    hash: str
    model: str
    snapshot_id: str
    ok: bool
    """False as soon as one row at or before one cut changed."""
    cuts: list[CutCheck]
    """Every cut checked, in the order checked."""
    violations: list[dict[str, Any]] = field(default_factory=list)
    """The first changed cells: cut, row, time, column, full-history and cut-history value."""
    version: str = ""
    """The features version (`features` is its ref, `features/<version>`)."""
    cuts_planned: int = 0
    """Cuts the measured build time said fit in the budget."""
    cuts_checked: int = 0
    dates: int = 0
    """Distinct dates in the snapshot; every one but the last can be a cut."""
    budget_s: float = DEFAULT_BUDGET_S
    elapsed_s: float = 0.0
    build_s: float = 0.0
    """Seconds of one build of the features on the full history."""
    budget_exhausted: bool = False
    """The budget ran out before every possible cut date was checked."""
    coverage: float = 0.0
    """Share of the possible cut dates (all dates but the last) that were checked as cuts:
    a leak that reads only the next date, on one given date, is caught exactly when that
    date was a cut, so this is the chance such a leak on a random date was tested."""
    coverage_7d: float = 0.0
    """Share of the possible cut dates with a checked cut on them or within the 6 days after:
    a leak reading a week (or more) ahead on that date was tested."""
    changed_columns: list[str] = field(default_factory=list)
    """Every column found to read the future, in the features' column order."""
    leaky_dates: list[str] = field(default_factory=list)
    """The first distinct dates (sorted) of rows that changed at some cut."""
    leaky_date_count: int = 0
    """How many distinct dates held a changed row (`leaky_dates` shows the first 50)."""
    build_errors: list[dict[str, Any]] = field(default_factory=list)
    """Cuts whose history the module failed to build on (cut, rows, error; the first 5).
    They are not counted as checked; when no cut could be built the check raises instead."""
    build_error_count: int = 0
    settings: dict[str, Any] = field(default_factory=dict)
    """What decides which cuts are made: method, budget, seed, validation settings."""
    summary: str = ""

    def to_dict(self) -> dict[str, Any]:
        from core.foundation.plain import to_plain

        return {name: to_plain(getattr(self, name)) for name in self.__dataclass_fields__}


def _model_for(ws: Workspace, version: str, model: str | None) -> str:
    if model is not None:
        return model
    models = ws.config.models
    for name, config in models.items():
        if config.features == version:
            return name
    if not models:
        raise FactoryError(
            "no_model",
            f"{ws.config_path} has no [models.*]: the check needs a model's dataset",
            hint="Add a model to factory.toml, or pass --model.",
        )
    return next(iter(models))


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value if isinstance(value, (int, float, bool, str)) else str(value)


# ---------------------------------------------------------------------------- planning


def _bit_reversed_order(count: int) -> list[int]:
    """0..count-1 ordered coarse to fine (bit-reversal), so any prefix is evenly spread."""
    bits = max(1, (count - 1).bit_length())
    return sorted(range(count), key=lambda i: int(f"{i:0{bits}b}"[::-1], 2))


def plan_cuts(
    candidates: int, boundaries: list[int], planned: int, seed: int
) -> list[tuple[int, str]]:
    """Every candidate cut index (0..candidates-1) once, with its kind, in checking order:
    the fold boundaries, an even spread sized to fill `SPREAD_SHARE` of what `planned` leaves,
    then the rest in a seeded random order. Pure, so the order is reproducible and testable."""
    import numpy as np

    order: list[tuple[int, str]] = []
    taken = np.zeros(candidates, dtype=bool)
    for index in boundaries:
        if 0 <= index < candidates and not taken[index]:
            taken[index] = True
            order.append((index, "fold"))
    left = max(0, planned - len(order))
    spread_count = math.ceil(left * SPREAD_SHARE)
    if spread_count > 0 and candidates > 0:
        stride = max(1, math.ceil(candidates / spread_count))
        positions = np.arange((stride - 1) // 2, candidates, stride)
        for i in _bit_reversed_order(len(positions)):
            index = int(positions[i])
            if not taken[index]:
                taken[index] = True
                order.append((index, "spread"))
    rest = np.flatnonzero(~taken)
    for index in np.random.default_rng(seed).permutation(rest):
        order.append((int(index), "random"))
    return order


def _fold_boundaries(times: Any, settings: Any, unique_days: np.ndarray) -> list[int]:
    """Indices into `unique_days` of the last date at or before each fold's train end, test
    start and test end; none when the data is too short for the folds."""
    import numpy as np

    from core.experiments.walkforward import plan_folds

    try:
        plan = plan_folds(times, settings)
    except FactoryError as exc:
        if exc.code == "data_too_short":
            return []
        raise
    found: list[int] = []
    for fold in plan.folds:
        for day in (fold.train_end, fold.test_start, fold.test_end):
            index = int(np.searchsorted(unique_days, np.datetime64(day, "D"), side="right")) - 1
            if index >= 0 and index not in found:
                found.append(index)
    return found


# ---------------------------------------------------------------------------- comparing


class _Reference:
    """The full-history features, converted once to what every cut compares against."""

    def __init__(self, full: Any) -> None:
        import pandas as pd

        self.columns = [str(c) for c in full.columns]
        self.frame = full
        self.numeric: dict[str, np.ndarray] = {}
        self._text: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name, column in zip(self.columns, full.columns, strict=True):
            values = full[column]
            if pd.api.types.is_numeric_dtype(values.dtype) and not isinstance(
                values.dtype, pd.CategoricalDtype
            ):
                self.numeric[name] = _floats(values)

    def text(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        if name not in self._text:
            self._text[name] = _texts(self.frame[self._label(name)])
        return self._text[name]

    def _label(self, name: str) -> Any:
        return self.frame.columns[self.columns.index(name)]


def _floats(values: Any) -> np.ndarray:
    import numpy as np

    return np.asarray(values.to_numpy(dtype=float, na_value=np.nan), dtype=float)


def _texts(values: Any) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    missing = np.asarray(values.isna().to_numpy(), dtype=bool)
    return missing, np.asarray(values.astype(str).to_numpy(), dtype=object)


def same_cells(
    old_numbers: np.ndarray | None,
    new_numbers: np.ndarray | None,
    old_text: tuple[np.ndarray, np.ndarray] | None = None,
    new_text: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Per row: is the cut-history value the full-history value? Finite numbers within a
    relative `TOLERANCE` (NaN equals NaN, an infinity only the same infinity); otherwise text
    must match exactly and a missing value equals only a missing value."""
    import numpy as np

    if old_numbers is not None and new_numbers is not None:
        a, b = old_numbers, new_numbers
        with np.errstate(invalid="ignore"):
            close = np.abs(a - b) <= TOLERANCE * np.maximum(np.abs(a), np.abs(b))
        # an infinity is within any relative tolerance of anything: only == may match it
        close &= np.isfinite(a) & np.isfinite(b)
        result: np.ndarray = (a == b) | (np.isnan(a) & np.isnan(b)) | close
        return result
    assert old_text is not None and new_text is not None
    (old_missing, old_values), (new_missing, new_values) = old_text, new_text
    equal = (old_missing & new_missing) | (~old_missing & ~new_missing & (old_values == new_values))
    return np.asarray(equal, dtype=bool)


def _aligned(partial: Any, index: Any, ref: str, path: str) -> Any:
    """The cut-history features on exactly the cut's rows, or a contract error."""
    if partial.index.equals(index):
        return partial
    if not partial.index.is_unique:
        raise FactoryError(
            "component_contract",
            f"{path}: {ref}.build returned a repeated index; it must return one row per input "
            "row with the input's index",
            hint="See the features contract in core/components/contracts.py.",
            details={"ref": ref, "path": path},
        )
    return partial.reindex(index)


def _compare(
    reference: _Reference, partial: Any, rows: int
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Changed rows (bool per row of the cut) and, per changed column, its changed rows."""
    import numpy as np
    import pandas as pd

    changed = np.zeros(rows, dtype=bool)
    per_column: dict[str, np.ndarray] = {}
    labels = {str(c): c for c in partial.columns}
    for name in reference.columns:
        if name not in labels:
            per_column[name] = np.ones(rows, dtype=bool)
            continue
        new = partial[labels[name]]
        if isinstance(new, pd.DataFrame):  # a repeated column name
            per_column[name] = np.ones(rows, dtype=bool)
            continue
        old_numbers = reference.numeric.get(name)
        numeric_new = pd.api.types.is_numeric_dtype(new.dtype) and not isinstance(
            new.dtype, pd.CategoricalDtype
        )
        if old_numbers is not None and numeric_new:
            same = same_cells(old_numbers[:rows], _floats(new))
        else:
            missing, values = reference.text(name)
            same = same_cells(None, None, (missing[:rows], values[:rows]), _texts(new))
        if not same.all():
            per_column[name] = ~same
    for name in labels:
        if name not in reference.columns:  # a column only a shorter history produces
            per_column[name] = np.ones(rows, dtype=bool)
    for mask in per_column.values():
        changed |= mask
    return changed, per_column


def violation_cells(per_column: dict[str, np.ndarray], room: int) -> list[tuple[str, int]]:
    """(column, row) of the changed cells one cut reports: at most `room`, column by column
    in the order compared, rows in order within a column."""
    import numpy as np

    cells: list[tuple[str, int]] = []
    for name, mask in per_column.items():
        for position in np.flatnonzero(mask)[: max(0, room - len(cells))]:
            cells.append((name, int(position)))
    return cells


def point_in_time_ok(leaky_rows: np.ndarray, cuts: list[CutCheck]) -> bool:
    """The verdict: no row changed at any cut checked. A single changed cell is a leak."""
    return not leaky_rows.any() and all(c.changed_rows == 0 for c in cuts)


# ---------------------------------------------------------------------------- the check


def _coverage(checked: np.ndarray, candidate_days: np.ndarray, window_days: int) -> float:
    """Share of candidate dates with a checked cut on them or within `window_days - 1` after."""
    import numpy as np

    if len(candidate_days) == 0:
        return 1.0
    cut_days = np.sort(candidate_days[checked])
    if len(cut_days) == 0:
        return 0.0
    position = np.searchsorted(cut_days, candidate_days, side="left")
    has_next = position < len(cut_days)
    following = cut_days[np.minimum(position, len(cut_days) - 1)]
    within = has_next & ((following - candidate_days) < np.timedelta64(window_days, "D"))
    return float(within.mean())


def _summary(result: PitResult) -> str:
    """One sentence a person (or an assistant) can act on, honest about what was covered."""
    candidates = max(0, result.dates - 1)
    if candidates == 0:
        return "no leak possible to test: the snapshot holds a single date"
    checked = result.cuts_checked
    unbuilt = ""
    if result.build_error_count:
        first = result.build_errors[0]
        unbuilt = (
            f"; {result.build_error_count} cut(s) could not be built (the first at "
            f"{first['cut']}, {first['rows']} rows: {first['error']}) and were not checked"
        )
    if not result.ok:
        columns = ", ".join(result.changed_columns[:5])
        more = " ..." if len(result.changed_columns) > 5 else ""
        first_date = result.leaky_dates[0] if result.leaky_dates else "?"
        return (
            f"LEAK: {len(result.changed_columns)} column(s) read the future ({columns}{more}) "
            f"on rows of {result.leaky_date_count} date(s), the first {first_date}; found in "
            f"{checked} of {candidates} cut dates checked in {result.elapsed_s:.1f} s"
        )
    if result.budget_exhausted:
        return (
            f"no leak found, but the {result.budget_s:g} s budget ran out after {checked} of "
            f"{candidates} cut dates: {result.coverage:.1%} of the dates were cuts, "
            f"{result.coverage_7d:.1%} lie within {COVERAGE_WINDOW_DAYS} days before one; a "
            "leak on only some unchecked dates may remain (raise the budget to check more)"
            + unbuilt
        )
    if checked < candidates:
        return (
            f"no leak found in {checked} of {candidates} cut dates "
            f"({result.coverage:.1%} of the dates)" + unbuilt
        )
    return (
        f"no leak: every one of the {candidates} cut dates was checked "
        f"({result.elapsed_s:.1f} s of a {result.budget_s:g} s budget)"
    )


def check_point_in_time(
    ws: Workspace,
    features: str,
    model: str | None = None,
    snapshot: str | None = None,
    *,
    budget_s: float | None = None,
    seed: int = 0,
) -> PitResult:
    """Recompute `features` on history cut at as many dates as `budget_s` seconds allow
    (default `DEFAULT_BUDGET_S`) and compare every row at or before each cut with the
    full-history features. Always checks at least one cut."""
    started = time.perf_counter()
    budget = DEFAULT_BUDGET_S if budget_s is None else float(budget_s)
    if not budget >= 0 or math.isinf(budget):
        raise UsageError(
            f"A point-in-time budget must be a finite number of seconds >= 0, not {budget_s!r}",
            hint=f"Leave it out for the default of {DEFAULT_BUDGET_S:g} s.",
        )

    import numpy as np
    import pandas as pd

    from core.components.contracts import call_component
    from core.components.registry import get_component, load_checked
    from core.data.snapshots import load_snapshot, snapshot_for

    config = ws.model(_model_for(ws, features, model))
    info = get_component(ws, "features", features)
    module = load_checked(info)
    snapshot_id = snapshot_for(ws, config, snapshot)
    dataset = ws.config.datasets[config.dataset]
    time_column, entity = dataset.time_column, tuple(dataset.entity_columns)
    validation = ws.config.validation
    settings = {
        "method": METHOD,
        "budget_s": budget,
        "seed": seed,
        "validation": {
            "folds": validation.folds,
            "gap_days": validation.gap_days,
            "test_days": validation.test_days,
            "window": validation.window,
            "train_days": validation.train_days,
        },
    }
    frame = load_snapshot(ws, snapshot_id)
    frame = frame.sort_values(time_column, kind="mergesort").reset_index(drop=True)

    def build(rows: int) -> Any:
        part = frame.iloc[:rows].copy()
        built = call_component(info.ref, info.path, module.build, part, time_column, entity)
        return _aligned(built, part.index, info.ref, info.path)

    build_started = time.perf_counter()
    full = build(len(frame))
    build_s = time.perf_counter() - build_started
    repeated = sorted({str(c) for c in full.columns[full.columns.duplicated()]})
    if repeated:
        raise FactoryError(
            "component_contract",
            f"{info.path}: {info.ref}.build returned repeated column names: {', '.join(repeated)}",
            hint="Give every feature column its own name.",
            details={"ref": info.ref, "path": info.path, "columns": repeated},
        )
    reference = _Reference(full)

    stamps = pd.to_datetime(frame[time_column])
    if stamps.dt.tz is not None:  # calendar dates in the data's own time zone
        stamps = stamps.dt.tz_localize(None)
    days = stamps.dt.normalize().to_numpy().astype("datetime64[D]")
    unique_days = np.unique(days)
    candidate_days = unique_days[:-1]  # a cut on the last date is the full history
    candidates = len(candidate_days)
    row_ends = np.searchsorted(days, candidate_days, side="right")
    boundaries = _fold_boundaries(frame[time_column], validation, unique_days)

    estimate = build_s * 1.2 + 1e-4
    affordable = int(max(0.0, budget - (time.perf_counter() - started)) // estimate)
    planned = min(candidates, max(1, affordable))
    order = plan_cuts(candidates, boundaries, planned, seed)

    cuts: list[CutCheck] = []
    violations: list[dict[str, Any]] = []
    changed_columns: list[str] = []
    leaky_rows = np.zeros(len(frame), dtype=bool)
    checked = np.zeros(candidates, dtype=bool)
    build_errors: list[dict[str, Any]] = []
    first_error: FactoryError | None = None
    cut_seconds = 0.0
    attempts = 0
    for index, kind in order:
        elapsed = time.perf_counter() - started
        expected = cut_seconds / attempts if attempts else estimate
        if cuts and elapsed + expected > budget:
            break
        cut_started = time.perf_counter()
        rows = int(row_ends[index])
        cut_label = str(candidate_days[index])
        try:
            partial = build(rows)
        except FactoryError as exc:
            if exc.code != "component_failed":
                raise
            # A module may not cope with a short history; that is no leak, but no check.
            if not build_errors:
                first_error = exc
            build_errors.append({"cut": cut_label, "rows": rows, "error": exc.message})
            cut_seconds += time.perf_counter() - cut_started
            attempts += 1
            continue
        changed, per_column = _compare(reference, partial, rows)
        for name in per_column:
            if name not in changed_columns:
                changed_columns.append(name)
        if changed.any():
            leaky_rows[:rows] |= changed
            room = min(VIOLATIONS_PER_CUT, MAX_VIOLATIONS - len(violations))
            for name, position in violation_cells(per_column, room):
                violations.append(
                    {
                        "cut": cut_label,
                        "row": position,
                        "time": str(frame.iloc[position][time_column]),
                        "column": name,
                        "full_history": _cell(full, name, position),
                        "cut_history": _cell(partial, name, position),
                    }
                )
        checked[index] = True
        cuts.append(
            CutCheck(
                cut=cut_label,
                rows=rows,
                changed_rows=int(changed.sum()),
                changed_columns=list(per_column),
                kind=kind,
            )
        )
        cut_seconds += time.perf_counter() - cut_started
        attempts += 1

    if build_errors and not cuts and first_error is not None:
        raise first_error
    order_of = {name: i for i, name in enumerate(reference.columns)}
    changed_columns.sort(key=lambda name: order_of.get(name, len(order_of)))
    leaky = [str(d) for d in np.unique(days[leaky_rows])]
    ok = point_in_time_ok(leaky_rows, cuts)
    coverage = _coverage(checked, candidate_days, 1)
    coverage_7d = _coverage(checked, candidate_days, COVERAGE_WINDOW_DAYS)
    elapsed_s = time.perf_counter() - started
    result = PitResult(
        features=info.ref,
        hash=info.hash,
        model=config.name,
        snapshot_id=snapshot_id,
        ok=ok,
        cuts=cuts,
        violations=violations,
        version=info.version,
        cuts_planned=planned,
        cuts_checked=len(cuts),
        dates=len(unique_days),
        budget_s=budget,
        elapsed_s=round(elapsed_s, 3),
        build_s=round(build_s, 4),
        budget_exhausted=attempts < candidates,
        coverage=coverage,
        coverage_7d=coverage_7d,
        changed_columns=changed_columns,
        leaky_dates=leaky[:MAX_LEAKY_DATES],
        leaky_date_count=len(leaky),
        build_errors=build_errors[:MAX_BUILD_ERRORS],
        build_error_count=len(build_errors),
        settings=settings,
    )
    return dataclasses.replace(result, summary=_summary(result))


def _cell(features: Any, name: str, position: int) -> Any:
    """One cell as plain JSON, None when the column is missing or repeated."""
    labels = [c for c in features.columns if str(c) == name]
    if len(labels) != 1:
        return None
    return _plain(features[labels[0]].iloc[position])


MAX_SHOWN_CUTS = 50


@dataclass(frozen=True)
class FeatureCheck:
    """What `factory check features` answers: the verdict, how much was covered, and the
    cuts that failed (all cuts checked are in the recorded `reports/pit-<id>.json`)."""

    pit_id: str
    features: str
    hash: str
    model: str
    snapshot_id: str
    ok: bool
    summary: str
    cuts_planned: int
    cuts_checked: int
    cuts_by_kind: dict[str, int]
    """Checked cuts per reason: `fold` boundaries, the even `spread`, `random` dates."""
    budget_s: float
    elapsed_s: float
    budget_exhausted: bool
    coverage: float
    coverage_7d: float
    changed_columns: list[str]
    leaky_dates: list[str]
    leaky_date_count: int
    failing_cuts: list[CutData]
    """The first cuts at which rows changed."""
    violations: list[dict[str, Any]]
    report_path: str

    @classmethod
    def of(cls, result: PitResult, pit_id: str) -> FeatureCheck:
        kinds: dict[str, int] = {}
        for cut in result.cuts:
            kinds[cut.kind] = kinds.get(cut.kind, 0) + 1
        failing = [c for c in result.cuts if c.changed_rows][:MAX_SHOWN_CUTS]
        return cls(
            pit_id=pit_id,
            features=result.features,
            hash=result.hash,
            model=result.model,
            snapshot_id=result.snapshot_id,
            ok=result.ok,
            summary=result.summary,
            cuts_planned=result.cuts_planned,
            cuts_checked=result.cuts_checked,
            cuts_by_kind=kinds,
            budget_s=result.budget_s,
            elapsed_s=result.elapsed_s,
            budget_exhausted=result.budget_exhausted,
            coverage=result.coverage,
            coverage_7d=result.coverage_7d,
            changed_columns=list(result.changed_columns),
            leaky_dates=list(result.leaky_dates),
            leaky_date_count=result.leaky_date_count,
            failing_cuts=[
                {
                    "cut": c.cut,
                    "kind": c.kind,
                    "rows": c.rows,
                    "changed_rows": c.changed_rows,
                    "changed_columns": c.changed_columns,
                }
                for c in failing
            ],
            violations=list(result.violations),
            report_path=f"reports/{pit_id}.json",
        )

    def to_dict(self) -> dict[str, Any]:
        from core.foundation.plain import to_plain

        return {name: to_plain(getattr(self, name)) for name in self.__dataclass_fields__}
