"""A fast accept for request rows: the checks of a schema that `factory serve` can decide in
a few pandas operations, so a valid request does not pay pandera's fixed cost (about 8 ms
for the embedded schema's five columns, whatever the row count; a 1-row request's features
cost about 28 ms).

It only ever says "valid, and here is the frame `validate_source` would return" or "not
sure": every request it is not sure of (a failing value, a null, a time with a UTC offset,
a duplicate, a schema feature it does not model) goes through `validate_source`, so errors,
their codes and their messages are exactly the batch ones. What it models:

- the schema: pandera `DataFrameSchema` with no DataFrame-level checks, parsers, index,
  uniqueness, ordering, schema-wide dtype or coercion, missing-column filling, and not strict;
- columns: `float64` (coerced or not), `int64` (coerced or not), `str` (not coerced), no
  regex names, parsers, defaults or uniqueness; checks: pandera's built-in row checks
  (`in_range`, `isin`, `notin`, comparisons) evaluated with the same pandas expressions as
  pandera's own;
- times: text that `pd.to_datetime(..., format="mixed")` parses to naive times, as
  `validate_source` parses them (a time with an offset goes the slow way, where ADR 0020's
  rules live).

`tests/serve/test_rowcheck.py` pins "same frame as `validate_source`" on valid requests and
"not sure" on each kind of invalid one.
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.foundation.config import DatasetConfig

if TYPE_CHECKING:
    import pandas as pd

    from core.data.validation import Contract

COMPARISONS: dict[str, tuple[Callable[[Any, Any], Any], str]] = {
    "equal_to": (operator.eq, "value"),
    "not_equal_to": (operator.ne, "value"),
    "greater_than": (operator.gt, "min_value"),
    "greater_than_or_equal_to": (operator.ge, "min_value"),
    "less_than": (operator.lt, "max_value"),
    "less_than_or_equal_to": (operator.le, "max_value"),
}
"""pandera's built-in comparison checks: `data OP statistic` (pandas_builtin_checks.py)."""

STATISTICS: dict[str, set[str]] = {
    **{name: {key} for name, (_, key) in COMPARISONS.items()},
    "in_range": {"min_value", "max_value", "include_min", "include_max"},
    "isin": {"allowed_values"},
    "notin": {"forbidden_values"},
}
"""The statistics each modelled check carries; a check with others is not modelled."""

SCHEMA_OFF = (
    "checks", "parsers", "index", "unique", "ordered", "strict", "coerce", "dtype",
    "add_missing_columns", "drop_invalid_rows", "unique_column_names", "on_missing_columns",
)  # fmt: skip
"""Schema attributes that must be off (falsy) for the fast accept to model the schema."""

COLUMN_OFF = ("parsers", "regex", "unique", "drop_invalid_rows", "default", "on_missing")


@dataclass(frozen=True)
class ColumnRule:
    name: str
    dtype: str
    """"float64", "int64" or "str"."""
    coerce: bool
    checks: tuple[tuple[str, dict[str, Any]], ...]


@dataclass(frozen=True)
class RowCheck:
    """The modelled form of one dataset's contract (None from `plan` when not modelled)."""

    dataset: DatasetConfig
    schema_hash: str | None
    time_order: str
    keys: tuple[str, ...]
    required: tuple[str, ...]
    columns: tuple[ColumnRule, ...]

    def accept(self, rows: list[dict[str, Any]], frame: pd.DataFrame) -> pd.DataFrame | None:
        """The normalized frame `validate_source` returns for `frame` (made from `rows`, as
        sent), when the rows are surely valid; None when not sure. The values are checked
        in Python first (a JSON value is a Python scalar, and per-column pandas operations
        cost more than the whole check at a few rows), then the frame gets the parsed time
        and pandera's coercions."""
        import pandas as pd

        names = frame.columns
        if any(c not in names for c in self.required):
            return None
        for row in rows:
            if len(row) != len(names) - 1:  # a key absent from some rows: nulls, slow way
                return None
        time, entity = self.keys[0], self.keys[1:]
        if not all(isinstance(row[time], str) for row in rows):
            return None
        for column in entity:
            if not all(_plain_key(row[column]) for row in rows):
                return None
        coerced: list[str] = []
        for rule in self.columns:
            kinds = _kinds(rule, [row[rule.name] for row in rows])
            if kinds is None:
                return None
            if rule.coerce and kinds != "float":
                coerced.append(rule.name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # as validate_source: mixed offsets go the slow way
            parsed = pd.to_datetime(frame[time], errors="coerce", format="mixed")
        if not pd.api.types.is_datetime64_dtype(parsed) or bool(parsed.isna().any()):
            return None  # an offset (tz-aware or mixed), or a time that does not parse
        if len(rows) > 1:
            keyed = frame[list(entity)].copy() if entity else pd.DataFrame(index=frame.index)
            keyed.insert(0, time, parsed)
            if bool(keyed.duplicated().any()):
                return None
            steps = parsed.diff().iloc[1:] <= pd.Timedelta(0)
            if self.time_order == "increasing" and not entity and bool(steps.any()):
                return None
        normalized = frame.copy()
        normalized[time] = parsed
        for column in coerced:  # float64 from int64 (or from ints and floats: a no-op)
            normalized[column] = normalized[column].astype("float64")
        if len(rows) == 1:
            return normalized
        return normalized.sort_values(list(self.keys), kind="stable").reset_index(drop=True)


INT64 = (-(2**63), 2**63 - 1)


def _plain_key(value: Any) -> bool:
    """A time or entity value that goes into the frame as itself (not a null)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return INT64[0] <= value <= INT64[1]
    return isinstance(value, str)


def _kinds(rule: ColumnRule, values: list[Any]) -> str | None:
    """ "float", "int" or "mixed" (numbers), "str": what the column's values are, when every
    one has pandera's type (after coercion), is not null, and passes every check; else None."""
    if rule.dtype == "str":
        if not all(isinstance(v, str) for v in values):
            return None
        kind = "str"
    else:
        floats = ints = 0
        for value in values:
            if isinstance(value, bool):
                return None
            if isinstance(value, float):
                floats += 1
            elif isinstance(value, int) and INT64[0] <= value <= INT64[1]:
                ints += 1
            else:
                return None
        kind = "float" if not ints else "int" if not floats else "mixed"
        if rule.dtype == "int64" and (kind != "int" or any(abs(v) > 2**53 for v in values)):
            return None  # numpy compares int64 with a float bound as floats: exact below 2**53
        if rule.dtype == "float64" and not rule.coerce and kind != "float":
            return None  # an int64 column (or one pandera would see as such)
        if rule.dtype == "float64":
            values = [float(v) for v in values]  # what astype("float64") makes of them
        if any(v != v for v in values):  # NaN (an overflowed literal becomes inf, not NaN)
            return None
    for name, stats in rule.checks:
        if not all(_check(name, stats, v) for v in values):
            return None
    return kind


def _check(name: str, stats: dict[str, Any], value: Any) -> bool:
    """One value against one of pandera's built-in checks, by its expression."""
    if name == "in_range":
        low = operator.le if stats["include_min"] else operator.lt
        high = operator.ge if stats["include_max"] else operator.gt
        return bool(low(stats["min_value"], value) and high(stats["max_value"], value))
    if name == "isin":
        return value in stats["allowed_values"]
    if name == "notin":
        return value not in stats["forbidden_values"]
    compare, key = COMPARISONS[name]
    return bool(compare(value, stats[key]))


def plan(terms: Contract) -> RowCheck | None:
    """The fast accept for a dataset's contract, or None when it models less than the schema
    asks (then every request goes through `validate_source`)."""
    dataset = terms.dataset
    schema = terms.schema
    rules: list[ColumnRule] = []
    if schema is not None:
        if any(getattr(schema, attribute, None) for attribute in SCHEMA_OFF):
            return None
        for name, column in schema.columns.items():
            rule = _rule(str(name), column)
            if rule is None or rule.name in terms.keys:
                return None  # a schema check on the time or an entity column: slow way
            rules.append(rule)
    return RowCheck(
        dataset=dataset,
        schema_hash=terms.info.hash if terms.info else None,
        time_order=terms.time_order,
        keys=tuple(terms.keys),
        required=tuple(dict.fromkeys([*terms.required, *(r.name for r in rules)])),
        columns=tuple(rules),
    )


def _rule(name: str, column: Any) -> ColumnRule | None:
    if any(getattr(column, attribute, None) for attribute in COLUMN_OFF):
        return None
    dtype = str(getattr(column, "dtype", None))
    coerce = bool(getattr(column, "coerce", False))
    if dtype not in ("float64", "int64", "str") or (dtype == "str" and coerce):
        return None
    checks: list[tuple[str, dict[str, Any]]] = []
    for check in getattr(column, "checks", None) or []:
        check_name = str(getattr(check, "name", ""))
        stats = getattr(check, "statistics", None)
        if (
            check_name not in STATISTICS
            or getattr(check, "native", True)  # a function of the user's named like a built-in
            or getattr(check, "element_wise", False)
            or getattr(check, "groupby", None) is not None
            or getattr(check, "raise_warning", False)
            or not isinstance(stats, dict)
            or set(stats) != STATISTICS[check_name]
        ):
            return None
        if check_name in ("isin", "notin"):
            allowed = next(iter(stats.values()))
            if not isinstance(allowed, list | tuple | set | frozenset) or not all(
                isinstance(v, str | int | float) and not isinstance(v, bool) for v in allowed
            ):
                return None  # a string means its characters to pandas: not modelled
            key = "allowed_values" if check_name == "isin" else "forbidden_values"
            stats = {key: frozenset(allowed)}
        elif not all(
            isinstance(v, int | float) and not isinstance(v, bool)
            for k, v in stats.items()
            if not k.startswith("include_")
        ):
            return None  # a bound that is not a plain number (a date, a string): slow way
        checks.append((check_name, dict(stats)))
    return ColumnRule(name, dtype, coerce, tuple(checks))
