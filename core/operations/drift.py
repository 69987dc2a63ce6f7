"""`factory drift`: is the data still like what the model was trained on?

Evidently (0.7) tests each column: the raw columns and the model's input features. On large
data every test fires on a shift too small to matter, so each column also carries an effect
size, and a column counts as drifted only when its test fires *and* its effect reaches
`[drift] min_effect_size` (adrs/0013-drift-with-effect-sizes.md):

- numeric columns: the Wasserstein distance divided by the reference's standard deviation
  (a shift of 0.1 moves the distribution by a tenth of a standard deviation, Cohen-style);
  when Evidently already used that measure as its test (reference above 1,000 rows) its
  score is reused instead of computed twice;
- categorical columns: the total variation distance between category frequencies (the share
  of rows that would have to change category).

With many columns tested, chance alone makes some p-value tests fire: where Evidently's tests
are p-value tests (references up to 1,000 rows), a column's test fires only when its
Benjamini-Hochberg adjusted p-value is below `[drift] stattest_threshold`, which bounds the
expected share of false alarms among the columns called drifted at that level. Distance
tests (larger references) have no p-value; the effect-size rule is their guard.

Calendar features (day of year, month, week day) always shift between a part-year window and
a whole-years reference: that is the calendar, not drift. List them in
`[drift] ignore_columns`; they are still tested and shown, but never counted.

The verdict: the dataset drifts when the share of drifted columns reaches
`[drift] share_threshold`. `reports/drift-<id>.json` and Evidently's HTML report sit side by
side; the id hashes the inputs, so the same check twice writes nothing new.

One verdict, computed one way: `drift_verdict` is what the gate's `no_drift` criterion and
`status` use: the newest check recorded against the run's training data when it covers the
newest data, else the default check (`factory drift MODEL --reference RUN`: the newest
snapshot's rows after the run's training data).
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any

from core.foundation import clock
from core.foundation.atomic import atomic_path, write_json
from core.foundation.config import DriftConfig
from core.foundation.errors import ExitCode, FactoryError, UsageError
from core.foundation.ids import hash_inputs, validate_name
from core.foundation.workspace import Workspace
from core.operations.common import compute_features, model_config, read_json, validated_file
from core.stats.multiple import benjamini_hochberg

if TYPE_CHECKING:
    import pandas as pd

DRIFT_SCHEMA = "factory.drift/2"
MULTIPLE_TESTS = "benjamini-hochberg"
DRIFT_ID = re.compile(r"^drift-[0-9a-f]{12}$")
_WINDOW = re.compile(r"^\s*(\d+)\s*(d|days?|w|weeks?)\s*$")
P_VALUE_ROWS = 1000
"""Evidently picks p-value tests up to this many reference rows, distances above."""


@dataclass(frozen=True)
class ColumnDrift:
    column: str
    source: str
    """`raw` (a column of the data) or `feature` (computed by the features component)."""
    type: str
    """`num` or `cat`."""
    method: str
    """Evidently's test, e.g. `K-S p_value` or `Wasserstein distance (normed)`."""
    score: float | None
    threshold: float
    test_drifted: bool
    """The test alone fired."""
    effect_measure: str
    effect_size: float | None
    min_effect_size: float
    drifted: bool
    """Test fired and the effect is large enough to matter."""
    p_adjusted: float | None = None
    """Benjamini-Hochberg adjusted p-value over the columns (p-value tests only)."""
    counted: bool = True
    """False for a column in `[drift] ignore_columns` (a calendar feature): shown, not counted."""

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class DriftResult:
    drift_id: str
    model: str
    reference: dict[str, Any]
    """`{kind: snapshot|run, id, snapshot_id, rows, time_range}`."""
    current: dict[str, Any]
    """`{kind: snapshot|file|window, id, rows, time_range, ...}`."""
    features_version: str
    columns: list[ColumnDrift]
    skipped: list[dict[str, str]]
    """Columns not tested and why (e.g. empty in one of the frames)."""
    drifted_count: int
    column_count: int
    share: float
    share_threshold: float
    drift_detected: bool
    report_path: str
    html_path: str
    created_at: str
    reused: bool = False
    """An identical check was already on disk; nothing was written."""
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["columns"] = [c.to_dict() for c in self.columns]
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any], *, reused: bool) -> DriftResult:
        names = cls.__dataclass_fields__
        values = {k: v for k, v in raw.items() if k in names}
        values["columns"] = [ColumnDrift(**c) for c in raw.get("columns") or []]
        values["reused"] = reused
        return cls(**values)


# --------------------------------------------------------------------------- the engine


def _num(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _is_p_value(method: str) -> bool:
    return "p_value" in method


def _numeric_effect(reference: pd.Series, current: pd.Series) -> float | None:
    from scipy.stats import wasserstein_distance

    ref = reference.dropna().to_numpy(dtype=float)
    cur = current.dropna().to_numpy(dtype=float)
    if len(ref) == 0 or len(cur) == 0:
        return None
    distance = float(wasserstein_distance(ref, cur))
    std = float(ref.std())
    # A constant reference: any move is the whole story; scale by the values' magnitude.
    scale = std if std > 0 else max(abs(float(ref.mean())), 1.0)
    return distance / scale


def _categorical_effect(reference: pd.Series, current: pd.Series) -> float | None:
    ref = reference.astype("string").fillna("<missing>").value_counts(normalize=True)
    cur = current.astype("string").fillna("<missing>").value_counts(normalize=True)
    if ref.empty or cur.empty:
        return None
    joined = ref.to_frame("ref").join(cur.to_frame("cur"), how="outer").fillna(0.0)
    return float((joined["ref"] - joined["cur"]).abs().sum() / 2.0)


def column_types(frame: pd.DataFrame, columns: list[str]) -> tuple[list[str], list[str]]:
    """(numerical, categorical) among `columns`; booleans and text count as categorical."""
    import pandas as pd

    numerical, categorical = [], []
    for column in columns:
        dtype = frame[column].dtype
        if pd.api.types.is_bool_dtype(dtype):
            categorical.append(column)
        elif pd.api.types.is_numeric_dtype(dtype):
            numerical.append(column)
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            continue
        else:
            categorical.append(column)
    return numerical, categorical


def column_drifted(fired: bool, effect: float | None, min_effect: float) -> bool:
    """A column drifts when its test fires *and* its effect reaches `min_effect`: a large
    sample makes every test fire on a shift too small to matter (adrs/0013)."""
    return bool(fired) and effect is not None and effect >= min_effect


def dataset_drifted(drifted: int, counted: int, share_threshold: float) -> tuple[float, bool]:
    """(share of counted columns that drifted, whether it reaches the threshold)."""
    if counted <= 0:
        return 0.0, False
    share = drifted / counted
    return share, share >= share_threshold


def compare_frames(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    settings: DriftConfig,
    *,
    sources: dict[str, str] | None = None,
) -> tuple[list[ColumnDrift], list[dict[str, str]], Any]:
    """Test every shared column of two frames: (per-column results, skipped, Evidently's
    snapshot). The frames are handed to Evidently as they are (no copies)."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    sources = sources or {}
    shared = [c for c in reference.columns if c in current.columns]
    skipped: list[dict[str, str]] = []
    usable = []
    for column in shared:
        if reference[column].isna().all() or current[column].isna().all():
            skipped.append({"column": str(column), "reason": "no values in one of the frames"})
        else:
            usable.append(column)
    numerical, categorical = column_types(reference, usable)
    if not numerical and not categorical:
        raise FactoryError(
            "drift_no_columns",
            "The reference and current data share no column with values to compare",
            hint="Check that the current data has the model's raw columns.",
            details={
                "reference": [str(c) for c in reference.columns],
                "current": [str(c) for c in current.columns],
            },
            exit_code=ExitCode.INPUT,
        )
    # Evidently only uses p-value tests on small references; our threshold applies to those.
    threshold = settings.stattest_threshold if len(reference) <= P_VALUE_ROWS else None
    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
    report = Report(
        [
            DataDriftPreset(
                columns=numerical + categorical,
                drift_share=settings.share_threshold,
                threshold=threshold,
            )
        ]
    )
    snapshot = report.run(
        current_data=Dataset.from_pandas(current, data_definition=definition),
        reference_data=Dataset.from_pandas(reference, data_definition=definition),
    )
    by_column: dict[str, tuple[str, float, float | None]] = {}
    ignored = set(settings.ignore_columns)
    no_threshold: set[str] = set()
    for metric in snapshot.dict()["metrics"]:
        config = metric.get("config") or {}
        if config.get("type", "").endswith("ValueDrift"):
            test_threshold = _num(config.get("threshold"))
            if test_threshold is None:
                # Evidently fills in its method's default; without one the test cannot be read.
                no_threshold.add(str(config["column"]))
                continue
            by_column[str(config["column"])] = (
                str(config.get("method")),
                test_threshold,
                _num(metric.get("value")),
            )
    tested = [c for c in numerical + categorical if c in by_column]
    for column in numerical + categorical:
        if column not in by_column:
            reason = (
                "Evidently returned no drift threshold"
                if str(column) in no_threshold
                else "Evidently returned no result"
            )
            skipped.append({"column": str(column), "reason": reason})
    p_columns = [c for c in tested if _is_p_value(by_column[c][0])]
    adjusted = dict(
        zip(
            p_columns,
            benjamini_hochberg([by_column[c][2] for c in p_columns], q=settings.stattest_threshold)[
                1
            ],
            strict=True,
        )
    )
    results = []
    for column in tested:
        method, test_threshold, score = by_column[column]
        kind = "num" if column in numerical else "cat"
        p_adjusted = adjusted.get(column)
        if score is None:
            fired = False
        elif _is_p_value(method):
            fired = p_adjusted is not None and p_adjusted < test_threshold
        else:
            fired = score >= test_threshold
        if kind == "num" and method.startswith("Wasserstein distance (normed)"):
            measure, effect = "wasserstein_normed", score
        elif kind == "num":
            measure, effect = (
                "wasserstein_normed",
                _numeric_effect(reference[column], current[column]),
            )
        else:
            measure, effect = (
                "total_variation",
                _categorical_effect(reference[column], current[column]),
            )
        drifted = column_drifted(fired, effect, settings.min_effect_size)
        results.append(
            ColumnDrift(
                column=str(column),
                source=sources.get(str(column), "raw"),
                type=kind,
                method=method,
                score=score,
                threshold=test_threshold,
                test_drifted=bool(fired),
                effect_measure=measure,
                effect_size=effect,
                min_effect_size=settings.min_effect_size,
                drifted=drifted,
                p_adjusted=p_adjusted,
                counted=str(column) not in ignored,
            )
        )
    return results, skipped, snapshot


# ------------------------------------------------------------------------ inputs


def parse_window(text: str) -> int:
    """`90d` or `12w` -> days."""
    found = _WINDOW.match(text or "")
    if not found:
        raise UsageError(
            f"--last {text!r} is not a window",
            hint="Use days or weeks, for example --last 90d or --last 12w.",
        )
    days = int(found.group(1)) * (7 if found.group(2).startswith("w") else 1)
    if days < 1:
        raise UsageError("--last must be at least 1 day", hint="For example --last 90d.")
    return days


def _time_range(frame: pd.DataFrame, time_column: str) -> list[str] | None:
    if frame.empty:
        return None
    return [frame[time_column].min().isoformat(), frame[time_column].max().isoformat()]


@dataclass
class _Side:
    describe: dict[str, Any]
    frame: Any
    """The rows to compare (features computed with enough history before them)."""
    features: Any
    key: str
    """What identifies these rows for the check's id."""


def _with_features(
    ws: Workspace,
    frame: pd.DataFrame,
    features_version: str,
    time_column: str,
    entity: list[str],
    keep: Any = None,
) -> tuple[Any, Any]:
    frame = frame.sort_values(time_column, kind="mergesort").reset_index(drop=True)
    features = compute_features(ws, frame, features_version, time_column, entity)
    if keep is not None:
        mask = keep(frame)
        frame, features = frame[mask].reset_index(drop=True), features[mask].reset_index(drop=True)
    return frame, features


def _reference(
    ws: Workspace, model: str, ref: str, features_version: str | None
) -> tuple[_Side, str]:
    from core.data.snapshots import get_manifest, load_snapshot

    config = model_config(ws, model)
    if ref.startswith("ds-"):
        manifest = get_manifest(ws, ref)
        snapshot_id, kind, version = ref, "snapshot", features_version or config.features
    else:
        from core.operations.common import load_run

        report = load_run(ws, ref)
        if report.get("model") != model:
            raise FactoryError(
                "model_mismatch",
                f"Run {report['run_id']} is of model {report.get('model')!r}, not {model!r}",
                hint=f"Check {report.get('model')}'s own drift instead (for example "
                f"`factory drift {report.get('model')} --reference {report['run_id']} --last 90d`), "
                f"or give a run of {model}.",
            )
        snapshot_id = str(report["snapshot_id"])
        manifest = get_manifest(ws, snapshot_id)
        kind = "run"
        version = features_version or str(
            ((report.get("components") or {}).get("features") or {}).get("version")
            or config.features
        )
        ref = report["run_id"]
    if manifest.get("dataset") != config.dataset:
        raise FactoryError(
            "snapshot_mismatch",
            f"Snapshot {snapshot_id} is of dataset {manifest.get('dataset')!r}; model {model!r} uses {config.dataset!r}",
            hint=f"List snapshots with `factory data list --dataset {config.dataset}`.",
        )
    time_column = manifest["time_column"]
    entity = list(manifest.get("entity_columns") or [])
    frame, features = _with_features(
        ws, load_snapshot(ws, snapshot_id), version, time_column, entity
    )
    describe = {
        "kind": kind,
        "id": ref,
        "snapshot_id": snapshot_id,
        "rows": len(frame),
        "time_range": _time_range(frame, time_column),
    }
    return _Side(describe, frame, features, f"{kind}:{ref}"), version


def _current(
    ws: Workspace,
    model: str,
    current: str | None,
    last: str | None,
    version: str,
    newer_than: str | None = None,
) -> _Side:
    import pandas as pd

    from core.data.snapshots import get_manifest, load_snapshot
    from core.operations.common import newest_snapshot_id

    config = model_config(ws, model)
    dataset = ws.config.datasets[config.dataset]
    time_column, entity = dataset.time_column, list(dataset.entity_columns)
    days = parse_window(last) if last is not None else None
    if current is None and days is None and newer_than is None:
        raise UsageError(
            "Say what to compare with the reference: --current SNAPSHOT|FILE or --last 90d",
            hint=f"For example `factory drift {model} --last 90d`: the newest 90 days against "
            "the serving run's training data.",
        )
    source_key: str
    if current is None or current.startswith("ds-"):
        snapshot_id = current or newest_snapshot_id(ws, config.dataset)
        if snapshot_id is None:
            raise FactoryError(
                "no_snapshot",
                f"No snapshot of dataset {config.dataset!r} yet",
                hint=f"Run `factory data snapshot --dataset {config.dataset}`.",
            )
        manifest = get_manifest(ws, snapshot_id)
        raw = load_snapshot(ws, snapshot_id)
        describe: dict[str, Any] = {
            "kind": "snapshot",
            "id": snapshot_id,
            "snapshot_id": snapshot_id,
        }
        source_key = f"snapshot:{snapshot_id}"
        if manifest.get("dataset") != config.dataset:
            raise FactoryError(
                "snapshot_mismatch",
                f"Snapshot {snapshot_id} is of dataset {manifest.get('dataset')!r}, not {config.dataset!r}",
                hint=f"List snapshots with `factory data list --dataset {config.dataset}`.",
            )
    else:
        raw, describe, source_key = validated_file(ws, dataset, current)
    keep = None
    if days is not None:
        end = raw[time_column].max()
        start = (end - pd.Timedelta(days=days - 1)).normalize()
        describe = {**describe, "kind": "window", "window_days": days, "base": describe["id"]}
        describe["id"] = f"{describe['base']}:last{days}d"
        source_key += f":last{days}d"

        def keep(frame: Any) -> Any:
            return frame[time_column] >= start

    elif newer_than is not None:
        cutoff = pd.Timestamp(newer_than)
        describe = {**describe, "kind": "window", "newer_than": newer_than, "base": describe["id"]}
        describe["id"] = f"{describe['base']}:after{cutoff.date().isoformat()}"
        source_key += f":after{cutoff.isoformat()}"

        def keep(frame: Any) -> Any:
            return frame[time_column] > cutoff

    frame, features = _with_features(ws, raw, version, time_column, entity, keep)
    if frame.empty:
        raise FactoryError(
            "drift_empty_current",
            f"The current data ({describe['id']}) has no rows",
            hint="Pick a longer --last window or another file.",
        )
    describe.update(rows=len(frame), time_range=_time_range(frame, time_column))
    return _Side(describe, frame, features, source_key)


def _merge(side: _Side, time_column: str) -> tuple[Any, dict[str, str]]:
    """Raw columns plus the features not already among them (same-day copies are dropped)."""
    import pandas as pd

    raw = side.frame.drop(columns=[time_column])
    extra = [c for c in side.features.columns if c not in raw.columns]
    merged = pd.concat([raw, side.features[extra]], axis=1)
    sources = {str(c): "raw" for c in raw.columns} | {str(c): "feature" for c in extra}
    return merged, sources


# ------------------------------------------------------------------------ the command


def drift_report_path(ws: Workspace, drift_id: str) -> Any:
    return ws.reports_dir / f"{drift_id}.json"


def load_drift(ws: Workspace, drift_id: str) -> DriftResult:
    if not DRIFT_ID.match(drift_id or ""):
        raise FactoryError(
            "invalid_verdict_id",
            f"{drift_id!r} is not a drift check id (drift- and 12 hex digits)",
        )
    raw = read_json(drift_report_path(ws, drift_id))
    if not isinstance(raw, dict):
        raise FactoryError("unknown_verdict", f"No drift check {drift_id} in {ws.reports_dir}")
    return DriftResult.from_dict(raw, reused=True)


def check_drift(
    ws: Workspace,
    model: str,
    reference: str,
    *,
    current: str | None = None,
    last: str | None = None,
    features_version: str | None = None,
    newer_than: str | None = None,
    alert: bool = True,
) -> DriftResult:
    """Compare `reference` (a snapshot id or a run id: its training data) with `current` (a
    snapshot id or a CSV/Parquet file, schema-validated) or the `last` window of it (default:
    the newest snapshot). Writes the JSON and HTML reports once per distinct input."""
    validate_name(model, "model")
    config = model_config(ws, model)
    dataset = ws.config.datasets[config.dataset]
    settings = ws.config.drift
    if current is None and last is None and newer_than is None and not reference.startswith("ds-"):
        # The default check, the one the gate uses: the newest data after the run's.
        newer_than, current = _after_training(ws, model, reference)
    ref_side, version = _reference(ws, model, reference, features_version)
    cur_side = _current(ws, model, current, last, version, newer_than)
    from core.components.registry import get_component

    features_hash = get_component(ws, "features", version).hash
    inputs = {
        "model": model,
        "reference": ref_side.key,
        "current": cur_side.key,
        "features": [version, features_hash],
        "settings": [
            settings.share_threshold,
            settings.stattest_threshold,
            settings.min_effect_size,
            sorted(settings.ignore_columns),
        ],
        "multiple_tests": MULTIPLE_TESTS,
        "evidently": _evidently_version(),
    }
    drift_id = "drift-" + hash_inputs(inputs)
    path = drift_report_path(ws, drift_id)
    existing = read_json(path)
    if (
        isinstance(existing, dict)
        and existing.get("drift_id") == drift_id
        and (ws.reports_dir / f"{drift_id}.html").is_file()
    ):
        result = DriftResult.from_dict(existing, reused=True)
        if alert and result.drift_detected:
            _alert(ws, result)  # idempotent: an alert exists once per check
        return result

    reference_frame, sources = _merge(ref_side, dataset.time_column)
    current_frame, _ = _merge(cur_side, dataset.time_column)
    with _quiet():
        columns, skipped, snapshot = compare_frames(
            reference_frame, current_frame, settings, sources=sources
        )
    counted = [c for c in columns if c.counted]
    drifted = sum(1 for c in counted if c.drifted)
    share, detected = dataset_drifted(drifted, len(counted), settings.share_threshold)
    result = DriftResult(
        drift_id=drift_id,
        model=model,
        reference=ref_side.describe,
        current=cur_side.describe,
        features_version=version,
        columns=columns,
        skipped=skipped,
        drifted_count=drifted,
        column_count=len(counted),
        share=share,
        share_threshold=settings.share_threshold,
        drift_detected=detected,
        report_path=f"reports/{drift_id}.json",
        html_path=f"reports/{drift_id}.html",
        created_at=clock.iso(),
        settings={
            "share_threshold": settings.share_threshold,
            "stattest_threshold": settings.stattest_threshold,
            "min_effect_size": settings.min_effect_size,
            "ignore_columns": sorted(settings.ignore_columns),
            "multiple_tests": MULTIPLE_TESTS,
            "evidently": _evidently_version(),
        },
    )
    # HTML first: the JSON's presence is what marks the check as done.
    with atomic_path(ws.reports_dir / f"{drift_id}.html") as tmp, _quiet():
        snapshot.save_html(str(tmp))
    write_json(path, {"schema": DRIFT_SCHEMA, **result.to_dict()})
    from core.foundation.events import emit

    emit(
        ws.events_dir,
        "drift.checked",
        model=model,
        dataset_id=ref_side.describe.get("snapshot_id"),
        drift_id=drift_id,
        drift_detected=result.drift_detected,
        share=share,
        drifted=[c.column for c in columns if c.drifted],
    )
    if alert and result.drift_detected:
        _alert(ws, result)
    return result


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Evidently's correlation widgets divide by zero on constant columns: harmless noise
    on stderr, which is for narration."""
    import warnings

    import numpy as np

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _after_training(ws: Workspace, model: str, run_ref: str) -> tuple[str, str]:
    """(end of the run's training data, newest snapshot) for the default check."""
    from core.data.snapshots import get_manifest
    from core.operations.common import load_run, newest_snapshot_id

    report = load_run(ws, run_ref)
    trained_until = (get_manifest(ws, str(report["snapshot_id"])).get("time_range") or [None])[-1]
    newest = newest_snapshot_id(ws, model_config(ws, model).dataset)
    if newest is None or trained_until is None:
        raise FactoryError(
            "no_snapshot",
            f"No snapshot of {model}'s dataset to compare with {report['run_id']}'s training data",
            hint="Snapshot newer data with `factory data snapshot`, or pass --current or --last.",
        )
    return str(trained_until), newest


@dataclass(frozen=True)
class DriftVerdict:
    """The drift verdict on a run's training data, as the gate and `status` use it."""

    drift_id: str | None
    detected: bool | None
    """None: nothing newer to compare with."""
    source: str
    """`recorded` (the newest check on record covers the newest data), `computed` (the
    default check, run now) or `none`."""
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def recorded_checks(ws: Workspace, model: str, report: dict[str, Any]) -> list[dict[str, Any]]:
    """Drift checks on record whose reference is this run or its training snapshot, oldest
    first."""
    found = []
    for path in ws.reports_dir.glob("drift-*.json"):
        raw = read_json(path)
        if not isinstance(raw, dict) or raw.get("model") != model:
            continue
        reference = raw.get("reference") or {}
        if reference.get("id") in (report["run_id"], report.get("snapshot_id")) or (
            reference.get("kind") == "snapshot"
            and reference.get("snapshot_id") == report.get("snapshot_id")
        ):
            found.append(raw)
    found.sort(key=lambda r: str(r.get("created_at") or ""))
    return found


def drift_verdict(
    ws: Workspace, model: str, report: dict[str, Any], newest: str | None, *, compute: bool = True
) -> DriftVerdict:
    """One drift verdict for a run (module docstring): the newest recorded check on its
    training data when it is at least as new as the newest snapshot, else the default check
    (computed when `compute`)."""
    from core.data.snapshots import get_manifest

    recorded = recorded_checks(ws, model, report)
    last = recorded[-1] if recorded else None
    newest_created = None
    if newest is not None:
        with contextlib.suppress(FactoryError):
            newest_created = get_manifest(ws, newest).get("created_at")
    if last is not None and (
        newest_created is None or str(last.get("created_at")) >= str(newest_created)
    ):
        return DriftVerdict(
            last.get("drift_id"),
            bool(last.get("drift_detected")),
            "recorded",
            _describe_check(last, "the newest check on record"),
        )
    if newest is None or newest == report.get("snapshot_id"):
        return DriftVerdict(None, None, "none", "no data newer than the training snapshot")
    training = get_manifest(ws, str(report["snapshot_id"]))
    trained_until = (training.get("time_range") or [None, None])[1]
    newest_until = (get_manifest(ws, newest).get("time_range") or [None, None])[1]
    if trained_until is None or newest_until is None or newest_until <= trained_until:
        return DriftVerdict(None, None, "none", f"{newest} holds no rows after {trained_until}")
    if not compute:
        return DriftVerdict(
            None,
            None,
            "none",
            f"not checked yet: factory drift {model} --reference {report['run_id']}",
        )
    result = check_drift(ws, model, str(report["run_id"]), current=newest, newer_than=trained_until)
    return DriftVerdict(
        result.drift_id,
        result.drift_detected,
        "computed",
        _describe_check(result.to_dict(), "the default check"),
    )


def _describe_check(raw: dict[str, Any], which: str) -> str:
    current = (raw.get("current") or {}).get("id")
    share = raw.get("share") or 0.0
    return (
        f"{raw.get('drift_id')} ({which}): {raw.get('drifted_count')} of "
        f"{raw.get('column_count')} counted columns drifted in {current} "
        f"({share:.0%} vs {(raw.get('share_threshold') or 0):.0%})"
    )


def _alert(ws: Workspace, result: DriftResult) -> None:
    from core.operations.alerts import raise_alert

    top = sorted((c for c in result.columns if c.drifted), key=lambda c: -(c.effect_size or 0))[:5]
    raise_alert(
        ws,
        "drift",
        result.drift_id,
        f"{result.model}: {result.drifted_count} of {result.column_count} columns drifted "
        f"({result.share:.0%} >= {result.share_threshold:.0%}) between {result.reference['id']} "
        f"and {result.current['id']}: {', '.join(c.column for c in top)}",
        model=result.model,
        details={"drift_id": result.drift_id, "report": result.report_path},
    )


def _evidently_version() -> str | None:
    try:
        return metadata.version("evidently")
    except metadata.PackageNotFoundError:  # pragma: no cover
        return None
