"""Checking a dataset against its versioned schema.

Two layers: the time contract factory needs for walk-forward validation (the time column
parses, has no nulls, is unique per entity, and is increasing when the schema asks), and the
schema module's pandera contract for the other columns (types, ranges, nulls, categories).
All failures are collected, not just the first, each pointing at a row and column.

Times written with UTC offsets keep their wall clock unless the dataset's `time_zone` says
to convert (ADR 0020); what was seen and done is reported for the snapshot's manifest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from core.components.registry import ComponentInfo, get_component, load_module
from core.data.sources import SourceFrame
from core.foundation.config import DatasetConfig

if TYPE_CHECKING:
    import pandas as pd

MAX_FAILURES = 50
EXAMINED = MAX_FAILURES * 20
"""At most this many rows of one kind of fault are looked at (per chunk of a source)."""


@dataclass(frozen=True)
class Failure:
    column: str | None
    row: int | None
    """1-based data row (the header is not counted)."""
    line: int | None
    """1-based line in a CSV file, when known."""
    check: str
    value: Any
    message: str


@dataclass(frozen=True)
class ValidationReport:
    dataset: str
    source: str
    path: str
    schema_version: str | None
    schema_hash: str | None
    rows: int
    columns: list[str]
    ok: bool
    failure_count: int
    failures: list[Failure] = field(default_factory=list)
    """The first `MAX_FAILURES` failures."""
    source_time_zone: dict[str, Any] | None = None
    """The UTC offsets seen in the time column (or "naive") and the `time_zone` mode applied;
    None when the time column is missing."""

    JSON_PROPERTIES = ("verdict",)

    @property
    def verdict(self) -> Literal["valid", "invalid"]:
        """`ok` in a word."""
        return "valid" if self.ok else "invalid"

    def to_dict(self) -> dict[str, Any]:
        from core.foundation.plain import to_plain

        return {
            "dataset": self.dataset,
            "source": self.source,
            "path": self.path,
            "schema_version": self.schema_version,
            "schema_hash": self.schema_hash,
            "rows": self.rows,
            "columns": self.columns,
            "ok": self.ok,
            "verdict": self.verdict,
            "failure_count": self.failure_count,
            "failures": to_plain(self.failures),
            "source_time_zone": self.source_time_zone,
        }

    def summary(self) -> str:
        if self.ok:
            return f"{self.path}: valid ({self.rows} rows)"
        first = self.failures[0]
        where = f"line {first.line}" if first.line else (f"row {first.row}" if first.row else "")
        column = f"column {first.column!r}" if first.column else ""
        at = ", ".join(p for p in (where, column) if p)
        return (
            f"{self.path}: {self.failure_count} problem(s); first at {at or 'file level'}: "
            f"{first.message}"
        )


def _failure_key(failure: Failure) -> tuple[bool, int, str]:
    return (failure.row is not None, failure.row or 0, failure.column or "")


class _Collector:
    """Counts every failure and keeps the `MAX_FAILURES` earliest in the file (file-level
    ones first, then by row and column), whichever order the checks find them in: a
    source read in pieces reports the same failures as one read whole."""

    def __init__(self, where: Any) -> None:
        self.where = where
        """`where(row) -> {"row", "line"}` for a 0-based position (the chunk being read)."""
        self.count = 0
        self._kept: list[tuple[tuple[bool, int, str], int, Failure]] = []
        self._seq = 0

    def add(
        self,
        column: str | None,
        row: int | None,
        check: str,
        value: Any,
        message: str,
        *,
        line: int | None = -1,
    ) -> None:
        """Record a failure at 0-based position `row` (None: the whole file); `line` (when
        not -1) when the caller knows it better than `where` (a row of another chunk)."""
        self.count += 1
        where = self.where(row)
        failure = Failure(
            column,
            where["row"],
            where["line"] if line == -1 else line,
            check,
            _plain(value),
            message,
        )
        self._seq += 1
        self._kept.append((_failure_key(failure), self._seq, failure))
        if len(self._kept) > 4 * MAX_FAILURES:
            self._kept = sorted(self._kept)[:MAX_FAILURES]

    def failures(self) -> list[Failure]:
        return [f for _, _, f in sorted(self._kept)[:MAX_FAILURES]]


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


WALL_CLOCK = "wall_clock"
"""The time-zone mode when a dataset sets no `time_zone`: times as written in the source."""


@dataclass(frozen=True)
class _Times:
    """A time column parsed: the values factory keeps and what the source said about zones."""

    values: pd.Series
    """Naive datetime64 per row (NaT where the value is empty or not a date/time)."""
    instants: pd.Series | None
    """The UTC instant per row written with an offset (NaT elsewhere); None when no row has one."""
    offsets: pd.Series | None
    """The UTC offset per row as written (NaT for naive rows); None when no row has one."""
    seen: frozenset[Any]
    """The distinct UTC offsets written (Timedeltas; empty when every row is naive)."""
    has_naive: bool
    """Some parseable value carries no offset."""
    mode: str

    @property
    def source_time_zone(self) -> dict[str, Any]:
        """For the manifest: `{"offsets": [...] | "naive", "mode": ...}` (ADR 0020)."""
        return zone_summary(self.seen, self.has_naive, self.mode)


def zone_summary(seen: Any, has_naive: bool, mode: str) -> dict[str, Any]:
    """`source_time_zone` from the offsets seen (in one piece of a source or in all)."""
    if not seen:
        return {"offsets": "naive", "mode": mode}
    offsets: list[str] = [_offset_text(o) for o in sorted(seen)]
    if has_naive:
        offsets.append("naive")
    return {"offsets": offsets, "mode": mode}


def _offset_text(offset: Any) -> str:
    """`+01:00` for a Timedelta of one hour (seconds only when the offset has them)."""
    seconds = int(offset.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


def _split_offsets(parsed: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(wall clock, offset) per row of an object column of parsed datetimes, which pandas
    returns when the rows carry different UTC offsets (or offsets beside naive values)."""
    from datetime import datetime

    import pandas as pd

    values = parsed.to_numpy(dtype=object)
    valid = [isinstance(v, datetime) and not pd.isna(v) for v in values]
    walls = pd.Series(
        [v.replace(tzinfo=None) if ok else None for v, ok in zip(values, valid, strict=True)],
        index=parsed.index,
        dtype=object,
    )
    zones = pd.Series(
        [v.utcoffset() if ok else None for v, ok in zip(values, valid, strict=True)],
        index=parsed.index,
        dtype=object,
    )
    wall = pd.to_datetime(walls).astype("datetime64[ns]")
    offsets = pd.to_timedelta(zones).astype("timedelta64[ns]")
    return wall, offsets


def naive_in_converting_mode(
    out: _Collector,
    column: str,
    row: int,
    value: Any,
    dataset: DatasetConfig,
    *,
    line: int | None = -1,
) -> None:
    out.add(
        column,
        row,
        "time_zone_naive",
        value,
        f"{column} value {value!r} has no UTC offset while other rows have one, so it "
        f"cannot be converted to {dataset.time_zone} (time_zone of dataset "
        f"{dataset.name!r}): write its offset, or remove time_zone to keep the "
        "wall-clock times as written",
        line=line,
    )


def _parse_time(
    frame: pd.DataFrame, column: str, out: _Collector, dataset: DatasetConfig
) -> _Times:
    """Parse the time column and apply the dataset's `time_zone` (ADR 0020): absent keeps the
    wall clock as written (offsets dropped), "UTC" converts to UTC, a zone name converts to
    that zone's wall clock. Naive values are kept as they are in every mode. Failures are
    recorded at the rows' positions in the source (`frame`'s index)."""
    import warnings

    import pandas as pd

    raw = frame[column]
    base = int(frame.index[0]) if len(frame) else 0
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = raw
    else:
        with warnings.catch_warnings():
            # Rows with different offsets (daylight saving) come back as an object column
            # of datetimes, each with its own offset; that is what is wanted here.
            warnings.filterwarnings(
                "ignore",
                "In a future version of pandas, parsing datetimes with mixed time zones",
                FutureWarning,
            )
            parsed = pd.to_datetime(raw, errors="coerce", format="mixed")
    offsets: pd.Series | None
    if pd.api.types.is_datetime64_any_dtype(parsed) and getattr(parsed.dt, "tz", None) is None:
        wall, offsets = parsed, None  # naive: kept exactly as parsed
    elif pd.api.types.is_datetime64_any_dtype(parsed):
        wall = parsed.dt.tz_localize(None)
        offsets = wall - parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    else:
        wall, offsets = _split_offsets(parsed)
    unparsed = wall.isna()
    for position in unparsed.to_numpy().nonzero()[0][:EXAMINED]:
        value = raw.iloc[int(position)]
        if pd.isna(value):
            out.add(column, base + int(position), "time_not_null", None, f"{column} is empty")
        else:
            out.add(
                column,
                base + int(position),
                "time_parseable",
                value,
                f"{column} value {value!r} is not a date/time",
            )

    mode = dataset.time_zone or WALL_CLOCK
    if offsets is None or not offsets.notna().any():
        return _Times(wall, None, None, frozenset(), bool((~unparsed).any()), mode)
    seen = frozenset(pd.Timedelta(o) for o in offsets.dropna().unique())
    naive = ~unparsed & offsets.isna()
    instants = wall - offsets
    values = wall
    if dataset.time_zone is not None:
        for position in naive.to_numpy().nonzero()[0][:EXAMINED]:
            naive_in_converting_mode(
                out, column, base + int(position), raw.iloc[int(position)], dataset
            )
        converted = instants.where(~naive, wall)
        if dataset.time_zone == "UTC":
            values = converted
        else:
            from zoneinfo import ZoneInfo

            zone = ZoneInfo(dataset.time_zone)
            values = converted.dt.tz_localize("UTC").dt.tz_convert(zone).dt.tz_localize(None)
    return _Times(values, instants, offsets, seen, bool(naive.any()), mode)


def duplicate_cause(
    here: Any, there: Any, here_offset: Any, there_offset: Any, dataset: DatasetConfig
) -> str:
    """Why two rows share a time when they were different moments in the source: the chosen
    wall clock repeats an hour where the UTC offset changes (daylight saving ends). `here`
    and `there` are the rows' UTC instants (NaT/None when written without an offset)."""
    import pandas as pd

    if dataset.time_zone == "UTC":
        return ""
    if here is None or there is None or pd.isna(here) or pd.isna(there) or here == there:
        return ""
    moments = f"{there} and {here} UTC"
    if (
        here_offset is not None
        and there_offset is not None
        and not pd.isna(here_offset)
        and not pd.isna(there_offset)
        and there_offset != here_offset
    ):
        moments += (
            f", written at offsets {_offset_text(there_offset)} and {_offset_text(here_offset)}"
        )
    return (
        f"; these are two different moments ({moments}): the wall clock repeats an hour where "
        'the UTC offset changes (daylight saving ends). Set time_zone = "UTC" in '
        f"[datasets.{dataset.name}] of factory.toml to keep them apart"
    )


def duplicate_message(
    dataset: DatasetConfig, entity_note: str, value: Any, first_row: int, first_line: int | None
) -> str:
    """The `time_unique` message; `first_row` is 1-based."""
    at = f"line {first_line}" if first_line else f"row {first_row}"
    return f"duplicate {dataset.time_column}{entity_note} {value} (first seen at {at})"


def increasing_message(dataset: DatasetConfig, value: Any, previous: Any) -> str:
    return f"{dataset.time_column} {value} is not after the previous row's {previous}"


def schema_info(workspace: Any, dataset: DatasetConfig) -> ComponentInfo | None:
    if dataset.schema is None:
        return None
    return get_component(workspace, "schemas", dataset.schema)


@dataclass(frozen=True)
class Contract:
    """What a dataset's rows are checked against: its schema module (if any) and the
    columns it requires."""

    dataset: DatasetConfig
    info: ComponentInfo | None
    schema: Any
    """The schema module's pandera `SCHEMA`, or None."""
    time_order: str
    required: tuple[str, ...]

    @property
    def keys(self) -> list[str]:
        return [self.dataset.time_column, *self.dataset.entity_columns]

    def missing(self, columns: Any, out: _Collector) -> list[str]:
        """Required columns absent from `columns` (each recorded as a failure)."""
        present = set(columns)
        missing = [c for c in self.required if c not in present]
        for column in missing:
            out.add(
                column,
                None,
                "column_present",
                None,
                f"required column {column!r} is missing; the file has: "
                f"{', '.join(map(str, columns))}",
            )
        return missing

    def whole_table_checks(self) -> list[str]:
        """The schema's checks that look at more than one row at a time (a column's
        `unique`, a DataFrame-level check, a custom check that is not element-wise): they
        cannot be checked one chunk at a time."""
        if self.schema is None:
            return []
        found: list[str] = []
        if getattr(self.schema, "unique", None):
            found.append(f"unique={self.schema.unique}")
        for check in getattr(self.schema, "checks", None) or []:
            found.append(f"DataFrame check {getattr(check, 'name', None) or check!r}")
        for name, column in self.schema.columns.items():
            if getattr(column, "unique", False):
                found.append(f"{name}: unique=True")
            for check in getattr(column, "checks", None) or []:
                check_name = str(getattr(check, "name", "") or "")
                if check_name in ROW_CHECKS or getattr(check, "element_wise", False):
                    continue
                found.append(f"{name}: {check_name or 'custom check'}")
        return found


ROW_CHECKS = frozenset(
    {
        "equal_to", "not_equal_to", "greater_than", "greater_than_or_equal_to", "less_than",
        "less_than_or_equal_to", "in_range", "isin", "notin", "str_matches", "str_contains",
        "str_startswith", "str_endswith", "str_length",
    }
)  # fmt: skip
"""pandera's built-in checks that decide each row on its own."""


def contract(workspace: Any, dataset: DatasetConfig) -> Contract:
    info = schema_info(workspace, dataset)
    module = load_module(info) if info else None
    time_order = getattr(module, "TIME_ORDER", "any") if module else "any"
    schema = getattr(module, "SCHEMA", None) if module else None
    required = [dataset.time_column, *dataset.entity_columns]
    if schema is not None:
        required += [name for name, col in schema.columns.items() if getattr(col, "required", True)]
    return Contract(dataset, info, schema, time_order, tuple(dict.fromkeys(required)))


def apply_schema(contract: Contract, candidate: pd.DataFrame, out: _Collector) -> pd.DataFrame:
    """The schema's pandera checks over `candidate` (coercing as the schema says): the
    validated frame, with every failure recorded at its row (the frame's index)."""
    import pandas as pd
    import pandera.errors as pa_errors

    try:
        validated: pd.DataFrame = contract.schema.validate(candidate, lazy=True)
        return validated
    except pa_errors.SchemaErrors as exc:
        records = exc.failure_cases.to_dict("records")
        # A value that cannot be coerced is reported twice (coerce_dtype and dtype) and
        # then breaks the column's other checks with a TypeError row of its own: keep
        # only the coerce failure, which names the row and the value.
        uncoercible = {
            (r.get("column"), r.get("index"))
            for r in records
            if str(r.get("check")).startswith("coerce_dtype")
        }
        bad_columns = {column for column, _ in uncoercible}
        for record in records:
            column = record.get("column")
            index = record.get("index")
            row = int(index) if index is not None and not pd.isna(index) else None
            check = str(record.get("check"))
            value = record.get("failure_case")
            if check.startswith("dtype(") and (column, index) in uncoercible:
                continue
            if row is None and column in bad_columns and not check.startswith("coerce_dtype"):
                continue
            out.add(
                str(column) if column is not None else None,
                row,
                check,
                value,
                _describe(check, column, value),
            )
    except pa_errors.SchemaError as exc:  # pragma: no cover - lazy=True collects
        out.add(None, None, "schema", None, str(exc))
    return candidate


def _report(
    contract: Contract,
    source: Any,
    rows: int,
    columns: list[str],
    out: _Collector,
    source_time_zone: dict[str, Any] | None,
) -> ValidationReport:
    dataset = contract.dataset
    return ValidationReport(
        dataset=dataset.name,
        source=source.label,
        path=source.path,
        schema_version=dataset.schema,
        schema_hash=contract.info.hash if contract.info else None,
        rows=rows,
        columns=columns,
        ok=out.count == 0,
        failure_count=out.count,
        failures=out.failures(),
        source_time_zone=source_time_zone,
    )


def validate_source(
    workspace: Any, dataset: DatasetConfig, source: SourceFrame
) -> tuple[ValidationReport, pd.DataFrame | None]:
    """Validate `source` (read whole) for `dataset`. Returns the report and, when valid,
    the normalized frame (time column as datetime64, rows ordered by time then entity
    columns). `core.data.streaming` checks a source read in chunks the same way."""
    import pandas as pd

    frame = source.frame
    out = _Collector(source.where)
    terms = contract(workspace, dataset)
    missing = terms.missing(frame.columns, out)
    normalized: pd.DataFrame | None = None
    source_time_zone: dict[str, Any] | None = None
    if dataset.time_column not in missing:
        time_info = _parse_time(frame, dataset.time_column, out, dataset)
        parsed = time_info.values
        source_time_zone = time_info.source_time_zone
        keys = [dataset.time_column, *[c for c in dataset.entity_columns if c in frame.columns]]
        keyed = frame[keys[1:]].copy() if len(keys) > 1 else pd.DataFrame(index=frame.index)
        keyed.insert(0, dataset.time_column, parsed)
        valid_time = parsed.notna()
        duplicated = keyed[valid_time].duplicated(keep="first")
        entity_note = f" and {', '.join(keys[1:])}" if len(keys) > 1 else ""
        instants, offsets = time_info.instants, time_info.offsets
        for position in duplicated[duplicated].index:
            value = keyed.loc[position, dataset.time_column]
            first = keyed[valid_time & (keyed == keyed.loc[position]).all(axis=1)].index[0]
            first_where = source.where(int(first))
            out.add(
                dataset.time_column,
                int(position),
                "time_unique",
                str(value),
                duplicate_message(
                    dataset, entity_note, value, first_where["row"], first_where["line"]
                )
                + duplicate_cause(
                    instants.loc[position] if instants is not None else None,
                    instants.loc[first] if instants is not None else None,
                    offsets.loc[position] if offsets is not None else None,
                    offsets.loc[first] if offsets is not None else None,
                    dataset,
                ),
            )
            if out.count > EXAMINED:
                break
        if terms.time_order == "increasing" and len(keys) == 1:
            times = parsed[valid_time]
            steps = times.diff()
            for position in steps[steps <= pd.Timedelta(0)].index:
                if duplicated.get(position, False):
                    continue
                previous = times.loc[:position].iloc[-2]
                out.add(
                    dataset.time_column,
                    int(position),
                    "time_increasing",
                    str(times.loc[position]),
                    increasing_message(dataset, times.loc[position], previous),
                )
        normalized = frame.copy()
        normalized[dataset.time_column] = parsed

    if terms.schema is not None and not missing:
        candidate = normalized if normalized is not None else frame
        validated = apply_schema(terms, candidate, out)
        if normalized is not None:
            normalized = validated

    ok = out.count == 0
    if ok and normalized is not None:
        normalized = normalized.sort_values(terms.keys, kind="stable").reset_index(drop=True)
    report = _report(
        terms, source, len(frame), [str(c) for c in frame.columns], out, source_time_zone
    )
    return report, (normalized if ok else None)


def _describe(check: str, column: Any, value: Any) -> str:
    if check == "not_nullable":
        return f"{column} is empty but the schema allows no nulls"
    if check.startswith("coerce_dtype") or check.startswith("dtype"):
        wanted = check.split("(", 1)[-1].rstrip(")").strip("'")
        return f"{column} value {value!r} is not of type {wanted}"
    if check.startswith("in_range") or check.startswith("greater") or check.startswith("less"):
        return f"{column} value {value!r} is out of range ({check})"
    if check.startswith("isin"):
        return f"{column} value {value!r} is not an allowed category ({check})"
    if check.startswith("column_in_dataframe"):
        return f"column {value!r} is missing"
    return f"{column}: {check} failed for {value!r}"
