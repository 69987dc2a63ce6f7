"""The run report (`reports/<run_id>.json`) as types: what a run wrote, read back the same way
everywhere.

A report is written once by training and read by the index, the verdicts, gates, cards and
faces. Version 2 (`factory.report/2`) adds what verdicts stand on: the out-of-fold
predictions of every test row (so two runs are compared row by row on the same rows), the
naive baselines scored on exactly those rows, each fold's early-stopping slice and flags, and
how many folds each aggregate stands on. `RunReport.from_dict` also reads version 1 reports
(no predictions, no baselines): verdicts on them fall back to fold-level numbers and say so.
Version 3 (`factory.report/3`) speaks the vocabulary of every other answer (docs/schemas): the
paired test under `baselines.versus_best.test` counts its folds as `fold_count` (a `folds` is
always a list). `upgrade` reads a version 1 or 2 report in that vocabulary.

Its JSON forms that `status` and the run index read on every sitting (`upgrade`,
`PrimaryMetricData`, `BaselineBrief`) live in `core.experiments.report_json`, so those do not
pay for creating the report's types; they are imported here under their own names too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, TypedDict, cast

from core.experiments.report_json import READABLE_SCHEMAS as READABLE_SCHEMAS
from core.experiments.report_json import REPORT_SCHEMA as REPORT_SCHEMA
from core.experiments.report_json import BaselineBrief as BaselineBrief
from core.experiments.report_json import PrimaryMetricData as PrimaryMetricData
from core.experiments.report_json import finite as finite
from core.experiments.report_json import primary_metric_json as primary_metric_json
from core.experiments.report_json import upgrade as upgrade
from core.experiments.report_json import versus_best_v3
from core.stats.decide import DecisionData


@dataclass(frozen=True)
class Window:
    start: str
    """First day (ISO date)."""
    end: str
    """Last day (ISO date), inclusive."""
    rows: int
    dates: int
    """Distinct dates holding rows."""

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> Window:
        raw = raw or {}
        return cls(
            str(raw.get("start") or ""),
            str(raw.get("end") or ""),
            int(raw.get("rows") or 0),
            int(raw.get("dates") or 0),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "rows": self.rows, "dates": self.dates}


@dataclass(frozen=True)
class EarlyStopping:
    """The inner slice of a fold's training window that picked the number of trees."""

    fit_end: str
    """Last day of the rows fitted while the stopping point was searched."""
    start: str
    end: str
    rows: int
    fit_rows: int
    best_iteration: int | None
    """Trees kept (the refit on the whole training window grows this many)."""

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> EarlyStopping | None:
        if not isinstance(raw, dict):
            return None
        best = raw.get("best_iteration")
        return cls(
            str(raw.get("fit_end") or ""),
            str(raw.get("start") or ""),
            str(raw.get("end") or ""),
            int(raw.get("rows") or 0),
            int(raw.get("fit_rows") or 0),
            int(best) if isinstance(best, int) else None,
        )

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class FoldResult:
    fold: int
    train: Window
    test: Window
    gap_days: int
    metrics: dict[str, float | None]
    """The run's score on the fold's test rows, per metric (None where undefined)."""
    baselines: dict[str, dict[str, float | None]] = field(default_factory=dict)
    """Naive baseline -> metric -> score on the same test rows."""
    early_stopping: EarlyStopping | None = None
    iterations: int | None = None
    seconds: float | None = None
    flags: list[str] = field(default_factory=list)
    """What makes this fold's numbers weaker: `one_class` (a metric such as AUC is undefined)."""

    @property
    def window(self) -> str:
        """The test window as a comparable key."""
        return f"{self.test.start}..{self.test.end}"

    @classmethod
    def from_dict(cls, raw: dict[str, Any], position: int = 0) -> FoldResult:
        metrics = raw.get("metrics") if isinstance(raw.get("metrics"), dict) else {}
        baselines = raw.get("baselines") if isinstance(raw.get("baselines"), dict) else {}
        iterations = raw.get("iterations")
        return cls(
            fold=int(raw.get("fold", position)),
            train=Window.from_dict(raw.get("train")),
            test=Window.from_dict(raw.get("test")),
            gap_days=int(raw.get("gap_days") or 0),
            metrics={str(k): finite(v) for k, v in (metrics or {}).items()},
            baselines={
                str(name): {str(k): finite(v) for k, v in (values or {}).items()}
                for name, values in (baselines or {}).items()
                if isinstance(values, dict)
            },
            early_stopping=EarlyStopping.from_dict(raw.get("early_stopping")),
            iterations=int(iterations) if isinstance(iterations, int) else None,
            seconds=finite(raw.get("seconds")),
            flags=[str(f) for f in raw.get("flags") or []],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "fold": self.fold,
            "train": self.train.to_dict(),
            "test": self.test.to_dict(),
            "gap_days": self.gap_days,
            "metrics": dict(self.metrics),
            "baselines": {k: dict(v) for k, v in self.baselines.items()},
            "early_stopping": self.early_stopping.to_dict() if self.early_stopping else None,
            "iterations": self.iterations,
            "seconds": self.seconds,
            "flags": list(self.flags),
        }


@dataclass(frozen=True)
class Aggregate:
    """A metric over folds: mean and spread of the folds where it is defined."""

    mean: float | None
    std: float | None
    min: float | None
    max: float | None
    n: int
    """Folds the numbers stand on."""
    of: int
    """Folds the run has (a fold whose metric is undefined counts here, not in `n`)."""

    @classmethod
    def of_values(cls, values: list[float | None]) -> Aggregate:
        defined = [v for v in values if v is not None]
        if not defined:
            return cls(None, None, None, None, 0, len(values))
        mean = sum(defined) / len(defined)
        spread = (
            math.sqrt(sum((v - mean) ** 2 for v in defined) / (len(defined) - 1))
            if len(defined) > 1
            else 0.0
        )
        return cls(mean, spread, min(defined), max(defined), len(defined), len(values))

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> Aggregate:
        raw = raw or {}
        n = int(raw.get("n") or 0)
        return cls(
            finite(raw.get("mean")),
            finite(raw.get("std")),
            finite(raw.get("min")),
            finite(raw.get("max")),
            n,
            int(raw.get("of") or n),
        )

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def says(self) -> str:
        """How many folds it stands on, in words: `4 folds` or `3 of 4 folds`."""
        return f"{self.n} folds" if self.n == self.of else f"{self.n} of {self.of} folds"


@dataclass(frozen=True)
class Predictions:
    """Out-of-fold predictions: one entry per test row of every fold, in fold order.

    Rows are identified by their time and entity values (`key`), so two runs on the same
    snapshot (or a newer one holding the same rows) are paired row by row."""

    fold: list[int]
    row: list[int]
    """Position in the time-sorted snapshot."""
    time: list[str]
    entity: dict[str, list[str]]
    """Entity column -> value per row (empty without entity columns)."""
    y: list[float]
    prediction: list[float]
    baselines: dict[str, list[float]] = field(default_factory=dict)
    """Naive baseline -> its prediction per row."""

    def __len__(self) -> int:
        return len(self.row)

    def keys(self) -> list[tuple[str, ...]]:
        """(time, *entity values) per row: what pairs two runs' rows."""
        columns = [self.time, *(self.entity[c] for c in sorted(self.entity))]
        return [tuple(values) for values in zip(*columns, strict=True)]

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> Predictions | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("row"), list):
            return None
        return cls(
            fold=[int(v) for v in raw.get("fold") or []],
            row=[int(v) for v in raw["row"]],
            time=[str(v) for v in raw.get("time") or []],
            entity={str(k): [str(x) for x in v] for k, v in (raw.get("entity") or {}).items()},
            y=[float(v) for v in raw.get("y") or []],
            prediction=[_nan(v) for v in raw.get("prediction") or []],
            baselines={
                str(k): [_nan(x) for x in v] for k, v in (raw.get("baselines") or {}).items()
            },
        )

    def to_dict(self) -> PredictionsData:
        return {
            "fold": list(self.fold),
            "row": list(self.row),
            "time": list(self.time),
            "entity": {k: list(v) for k, v in self.entity.items()},
            "y": list(self.y),
            "prediction": [finite(v) for v in self.prediction],
            "baselines": {k: [finite(x) for x in v] for k, v in self.baselines.items()},
        }


def _nan(value: Any) -> float:
    number = finite(value)
    return math.nan if number is None else number


@dataclass(frozen=True)
class Baselines:
    """Naive forecasts scored on the run's own folds and rows, and how the run fares."""

    names: list[str]
    aggregate: dict[str, dict[str, Aggregate]]
    """Baseline -> metric -> over folds."""
    best: str | None
    """The baseline with the best mean primary metric."""
    versus_best: dict[str, Any] | None
    """The run against the best baseline on the primary metric: a `core.stats` decision."""
    skill: float | None
    """Skill score on the primary metric against the best baseline: 1 - run/baseline for a
    loss, (run - baseline) / (1 - baseline) for a score bounded by 1 such as AUC."""
    persistence: dict[str, Any] | None = None
    """What persistence meant here: horizon, how it was built, rows it could not cover."""

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> Baselines | None:
        if not isinstance(raw, dict):
            return None
        return cls(
            names=[str(n) for n in raw.get("names") or []],
            aggregate={
                str(name): {str(m): Aggregate.from_dict(a) for m, a in (metrics or {}).items()}
                for name, metrics in (raw.get("aggregate") or {}).items()
            },
            best=raw.get("best"),
            versus_best=versus_best_v3(raw.get("versus_best")),
            skill=finite(raw.get("skill")),
            persistence=raw.get("persistence"),
        )

    def to_dict(self) -> BaselinesData:
        return {
            "names": list(self.names),
            "aggregate": {
                n: {m: a.to_dict() for m, a in metrics.items()}
                for n, metrics in self.aggregate.items()
            },
            "best": self.best,
            "versus_best": cast("VersusBestData | None", self.versus_best),
            "skill": self.skill,
            "persistence": self.persistence,
        }


@dataclass(frozen=True)
class ComponentRef:
    version: str
    hash: str | None
    origin: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "hash": self.hash, "origin": self.origin}


@dataclass(frozen=True)
class PrimaryMetric:
    name: str
    direction: str
    """`maximize` or `minimize`."""
    mean: float | None
    std: float | None
    min: float | None
    max: float | None
    n: int
    of: int

    def to_dict(self) -> PrimaryMetricData:
        return {
            "name": self.name,
            "direction": self.direction,
            "mean": self.mean,
            "std": self.std,
            "min": self.min,
            "max": self.max,
            "n": self.n,
            "of": self.of,
        }


@dataclass(frozen=True)
class Leak:
    """Why a run trained on a features version that failed the point-in-time check."""

    pit_id: str | None
    reason: str
    """The reason given with `--allow-leaky`."""
    changed_columns: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "pit_id": self.pit_id,
            "reason": self.reason,
            "changed_columns": self.changed_columns,
        }


@dataclass(frozen=True)
class RunReport:
    """One training of one model: inputs, folds, predictions, baselines and everything a
    person needs to trust or reproduce it."""

    schema: str
    run_id: str
    model: str
    task: str
    dataset: str | None
    snapshot_id: str
    plan_id: str | None
    created_at: str | None
    """When the run's first training started; a retrain keeps it."""
    finished_at: str | None
    components: dict[str, ComponentRef]
    hparams: dict[str, Any]
    seed: int | None
    validation: dict[str, Any]
    inputs: dict[str, Any]
    """What the run id hashes."""
    labels: dict[str, Any]
    """The labels' horizon and persistence as declared by the labels module."""
    rows: dict[str, Any]
    features: dict[str, Any]
    primary_metric: PrimaryMetric
    metric_directions: dict[str, str]
    aggregate: dict[str, Aggregate]
    folds: list[FoldResult]
    predictions: Predictions | None
    baselines: Baselines | None
    curves: dict[str, Any] = field(default_factory=dict)
    feature_importance: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, Any] = field(default_factory=dict)
    latency: dict[str, Any] = field(default_factory=dict)
    cost: dict[str, Any] = field(default_factory=dict)
    reproducibility: dict[str, Any] = field(default_factory=dict)
    artifact: dict[str, Any] = field(default_factory=dict)
    component_changed: list[dict[str, Any]] = field(default_factory=list)
    leaky: Leak | None = None
    """Set when the run was trained on a features version known to leak (`--allow-leaky`)."""
    retrains: list[dict[str, Any]] = field(default_factory=list)
    """Forced retrains whose results differed: when, and what the metrics were before."""

    @property
    def fold_windows(self) -> list[str]:
        return [f.window for f in self.folds]

    def component_versions(self) -> dict[str, str]:
        return {k: c.version for k, c in self.components.items()}

    def cohort(self) -> dict[str, Any]:
        """What two runs must share to be compared: data, folds and target."""
        return {
            "snapshot_id": self.snapshot_id,
            "validation": self.validation,
            "labels": self.components["labels"].version if "labels" in self.components else None,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RunReport:
        metrics = raw.get("metrics") if isinstance(raw.get("metrics"), dict) else {}
        aggregate_raw = (metrics or {}).get("aggregate") or {}
        folds = [
            FoldResult.from_dict(f, i)
            for i, f in enumerate(raw.get("folds") or [])
            if isinstance(f, dict)
        ]
        aggregate = {str(k): Aggregate.from_dict(v) for k, v in aggregate_raw.items()}
        for name, agg in list(aggregate.items()):
            if agg.n == 0 and agg.mean is not None:  # version 1 did not count folds
                values = [f.metrics.get(name) for f in folds]
                aggregate[name] = Aggregate.of_values(values)
        primary_raw = raw.get("primary_metric") or {}
        primary_name = str(primary_raw.get("name") or "")
        primary_agg = aggregate.get(primary_name) or Aggregate.from_dict(primary_raw)
        components = {}
        for kind, value in (raw.get("components") or {}).items():
            if isinstance(value, dict):
                components[str(kind)] = ComponentRef(
                    str(value.get("version")), value.get("hash"), value.get("origin")
                )
            elif value is not None:
                components[str(kind)] = ComponentRef(str(value), None)
        leak = raw.get("leaky")
        return cls(
            schema=str(raw.get("schema") or "factory.report/1"),
            run_id=str(raw["run_id"]),
            model=str(raw.get("model")),
            task=str(raw.get("task")),
            dataset=raw.get("dataset"),
            snapshot_id=str(raw.get("snapshot_id")),
            plan_id=raw.get("plan_id"),
            created_at=raw.get("created_at"),
            finished_at=raw.get("finished_at"),
            components=components,
            hparams=dict(raw.get("hparams") or {}),
            seed=raw.get("seed"),
            validation=dict(raw.get("validation") or {}),
            inputs=dict(raw.get("inputs") or {}),
            labels=dict(raw.get("labels") or {}),
            rows=dict(raw.get("rows") or {}),
            features=dict(raw.get("features") or {}),
            primary_metric=PrimaryMetric(
                name=primary_name,
                direction=str(primary_raw.get("direction") or "maximize"),
                mean=primary_agg.mean,
                std=primary_agg.std,
                min=primary_agg.min,
                max=primary_agg.max,
                n=primary_agg.n,
                of=primary_agg.of,
            ),
            metric_directions={
                str(k): str(v) for k, v in ((metrics or {}).get("directions") or {}).items()
            },
            aggregate=aggregate,
            folds=folds,
            predictions=Predictions.from_dict(raw.get("predictions")),
            baselines=Baselines.from_dict(raw.get("baselines")),
            curves=dict(raw.get("curves") or {}),
            feature_importance=list(raw.get("feature_importance") or []),
            timings=dict(raw.get("timings") or {}),
            latency=dict(raw.get("latency") or {}),
            cost=dict(raw.get("cost") or {}),
            reproducibility=dict(raw.get("reproducibility") or {}),
            artifact=dict(raw.get("artifact") or {}),
            component_changed=[
                c for c in raw.get("component_changed") or [] if isinstance(c, dict)
            ],
            leaky=Leak(
                leak.get("pit_id"),
                str(leak.get("reason") or ""),
                list(leak.get("changed_columns") or []),
            )
            if isinstance(leak, dict)
            else None,
            retrains=[r for r in raw.get("retrains") or [] if isinstance(r, dict)],
        )

    def to_dict(self) -> ReportData:
        return {
            "schema": self.schema,
            "run_id": self.run_id,
            "model": self.model,
            "task": self.task,
            "dataset": self.dataset,
            "snapshot_id": self.snapshot_id,
            "plan_id": self.plan_id,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "components": {k: c.to_dict() for k, c in self.components.items()},
            "hparams": dict(self.hparams),
            "seed": self.seed,
            "validation": dict(self.validation),
            "inputs": dict(self.inputs),
            "labels": dict(self.labels),
            "rows": dict(self.rows),
            "features": dict(self.features),
            "primary_metric": self.primary_metric.to_dict(),
            "metrics": {
                "directions": dict(self.metric_directions),
                "aggregate": {k: a.to_dict() for k, a in self.aggregate.items()},
            },
            "folds": [f.to_dict() for f in self.folds],
            "predictions": self.predictions.to_dict() if self.predictions else None,
            "baselines": self.baselines.to_dict() if self.baselines else None,
            "curves": dict(self.curves),
            "feature_importance": list(self.feature_importance),
            "timings": dict(self.timings),
            "latency": dict(self.latency),
            "cost": dict(self.cost),
            "reproducibility": dict(self.reproducibility),
            "artifact": dict(self.artifact),
            "component_changed": list(self.component_changed),
            "leaky": self.leaky.to_dict() if self.leaky else None,
            "retrains": list(self.retrains),
        }


class PredictionsData(TypedDict):
    """Out-of-fold predictions, one value per test row of every fold, column by column."""

    fold: list[int]
    row: list[int]
    time: list[str]
    entity: dict[str, list[str]]
    y: list[float]
    prediction: list[float | None]
    baselines: dict[str, list[float | None]]


class VersusBestData(DecisionData):
    """The run (B) against its best naive baseline (A) on the primary metric."""

    baseline: str
    """The naive baseline's name (`persistence`, `prior`, `mean`)."""


class BaselinesData(TypedDict):
    names: list[str]
    aggregate: dict[str, dict[str, dict[str, Any]]]
    """Baseline -> metric -> `{mean, std, min, max, n, of}` over folds."""
    best: str | None
    versus_best: VersusBestData | None
    skill: float | None
    persistence: dict[str, Any] | None
    """What persistence meant here (open: the labels module says)."""


class MetricsData(TypedDict):
    directions: dict[str, str]
    """Metric -> `maximize` or `minimize`."""
    aggregate: dict[str, dict[str, Any]]
    """Metric -> `{mean, std, min, max, n, of}` over folds."""


class ReportCore(TypedDict):
    """A run report without its bulk (curves, predictions, hashed inputs): what `factory
    show` prints as is. Sections whose keys depend on the components or the machine (hparams,
    validation, labels, rows, features, timings, latency, cost, reproducibility, artifact)
    are left open."""

    schema: str
    run_id: str
    model: str
    task: str
    dataset: str | None
    snapshot_id: str
    plan_id: str | None
    created_at: str | None
    finished_at: str | None
    components: dict[str, dict[str, Any]]
    """Kind -> `{version, hash, origin}`."""
    hparams: dict[str, Any]
    seed: int | None
    validation: dict[str, Any]
    """The `[validation]` settings of factory.toml, by their names there (`folds` a count)."""
    labels: dict[str, Any]
    rows: dict[str, Any]
    features: dict[str, Any]
    primary_metric: PrimaryMetricData
    metrics: MetricsData
    folds: list[dict[str, Any]]
    """Per fold: train and test windows, metrics, baselines, early stopping, flags."""
    baselines: BaselinesData | None
    feature_importance: list[dict[str, Any]]
    timings: dict[str, Any]
    latency: dict[str, Any]
    cost: dict[str, Any]
    reproducibility: dict[str, Any]
    artifact: dict[str, Any]
    component_changed: list[dict[str, Any]]
    leaky: dict[str, Any] | None
    retrains: list[dict[str, Any]]


class ReportData(ReportCore):
    """A run report (`reports/<run_id>.json`, `factory show RUN --full`). Curves and
    inputs are left open."""

    inputs: dict[str, Any]
    """What the run id hashes (snapshot, components with their hashes, settings, seed)."""
    curves: dict[str, Any]
    """`{metric, folds: [{fold, learn, validation}], final: {learn}}`: loss per iteration."""
    predictions: PredictionsData | None
