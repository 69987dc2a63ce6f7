"""`factory.toml`: the typed workspace configuration.

Read with `tomllib`; every value is checked here once, so the rest of the code can trust
it. A wrong value is reported with the file, the line it sits on and what is expected. An
unknown key in a known table (a typo such as `gap_day`) is refused the same way, with the
known keys listed; an unknown top-level table is only warned about on stderr, so a file
written for a newer factory still loads.
"""

from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from core.foundation.errors import ExitCode, FactoryError
from core.foundation.ids import NAME_PATTERN

CONFIG_NAME = "factory.toml"

Task = Literal["classification", "regression"]
Direction = Literal["maximize", "minimize"]


@dataclass(frozen=True)
class DatasetConfig:
    name: str
    source: str
    """A CSV or Parquet path (relative to the workspace) or `vega:<name>` for embedded data."""
    time_column: str
    schema: str | None
    """Schema version (module name), or None to check only the time column."""
    entity_columns: tuple[str, ...] = ()
    """Columns that, with the time column, identify a row (several rows per date)."""
    time_zone: str | None = None
    """How times written with UTC offsets are read (ADR 0020): None keeps the wall-clock time
    as written (offsets dropped), "UTC" converts to UTC, an IANA name such as "Europe/Paris"
    converts to that zone's wall clock. Naive times are kept as they are in every mode."""


@dataclass(frozen=True)
class ModelConfig:
    name: str
    dataset: str
    task: Task
    labels: str
    metrics: str
    primary_metric: str
    direction: Direction
    features: str
    hparams: str
    arch: str


@dataclass(frozen=True)
class ValidationConfig:
    folds: int = 4
    gap_days: int = 7
    test_days: int = 90
    window: Literal["expanding", "sliding"] = "expanding"
    train_days: int | None = None
    """Sliding window length; None with `expanding`."""
    seed: int = 42
    min_test_rows: int = 30
    """A fold with fewer labelled test rows is refused: its score would be noise."""
    early_stopping_days: int | None = None
    """With `early_stopping_rounds` in the hparams: the inner slice at the end of each fold's
    training window that picks the number of trees (default: `test_days`)."""
    leak_check_budget_s: float = 5.0
    """Seconds the point-in-time check may spend when `train` checks a features version it
    has never checked (`factory check features` takes its own budget)."""


@dataclass(frozen=True)
class CostConfig:
    price_per_cpu_hour: float = 0.05
    currency: str = "USD"


@dataclass(frozen=True)
class GateConfig:
    min_delta: float = 0.0
    """The challenger's mean paired delta must exceed this (in the metric's good direction)."""
    min_fold_wins: int = 3
    latency_ratio_max: float = 1.10
    cost_per_1000_max: float = 0.01
    require_no_drift: bool = True
    require_beats_baseline: bool = True
    """The run must be `better` than its best naive baseline on its own rows."""


@dataclass(frozen=True)
class DriftConfig:
    share_threshold: float = 0.5
    """The dataset drifts when at least this share of columns drifts."""
    stattest_threshold: float = 0.05
    min_effect_size: float = 0.1
    """A column drifts only when its test fires and its effect size reaches this."""
    ignore_columns: tuple[str, ...] = ()
    """Columns tested and shown but never counted, e.g. calendar features (day of year,
    month), which always shift between a part-year window and a whole-years reference."""


@dataclass(frozen=True)
class AlertsConfig:
    command: str | None = None
    """A shell command that receives each alert as JSON on stdin."""


@dataclass(frozen=True)
class FeedbackConfig:
    """`[feedback]`: how outcomes join to logged predictions and when live loss degrades."""

    lookback_days: int = 90
    """`feedback join` joins predictions whose time lies at most this many days before the
    newest time of the snapshot it reads; older ones stay unjoined."""
    alpha: float = 0.05
    """Error rate of `check degrading`, valid however often it is checked."""
    min_labelled: int = 30
    """Labelled predictions of a run before `check degrading` or `live` gives a verdict."""
    degrading_min_effect: float = 0.0
    """Live mean loss must exceed the backtest's by more than this (the loss's units)."""


@dataclass(frozen=True)
class RetrainConfig:
    command: str | None = None
    """Shell code run in the workspace when `check degrading` finds degradation (a failure
    only warns); the alert arrives as JSON on stdin."""
    timeout_s: float = 1800.0
    """Seconds the retrain command may run before it is stopped (and warned about)."""


@dataclass(frozen=True)
class SunsetConfig:
    """`[sunset]`: when a run becomes a sunset candidate."""

    below_worst_fold_days: int = 14
    """Live metric worse than the worst walk-forward fold over at least this many days."""
    idle_days: int = 30
    """No logged prediction for this many days."""
    min_labelled: int = 30
    """Labelled predictions before a live-metric or champion comparison counts."""


ENGINES = ("local", "dask", "ray")
"""Where folds and scoring partitions run (`[compute] engine`, adrs/0033)."""

_DASK_ADDRESS = re.compile(r"^(?:(?:tcp|tls|ws|wss|ucx)://)?[A-Za-z0-9_.\-\[\]:]+:\d{1,5}$")


@dataclass(frozen=True)
class ComputeConfig:
    """`[compute]`: the engine that runs walk-forward folds and batch-scoring partitions as
    tasks (adrs/0033). Results are the same on every engine; only where the work runs moves."""

    engine: Literal["local", "dask", "ray"] = "local"
    address: str = ""
    """The scheduler to connect to (`tcp://host:8786` for Dask); empty starts a cluster of
    `workers` processes on this machine for the command's duration."""
    workers: int | None = None
    """Processes of the cluster started here (default: one per core); only without address."""
    connect_timeout_s: float = 5.0
    """Seconds to reach the scheduler and see a worker before giving up (never a hang)."""
    engine_at: str | None = None
    """Where `engine` is written (`factory.toml:12`), for the errors of opening the engine."""
    address_at: str | None = None


COMPUTE_KEYS = ("engine", "address", "workers", "connect_timeout_s")


@dataclass(frozen=True)
class Config:
    path: Path
    name: str
    datasets: dict[str, DatasetConfig]
    models: dict[str, ModelConfig]
    validation: ValidationConfig
    cost: CostConfig
    gates: dict[str, GateConfig]
    drift: DriftConfig
    alerts: AlertsConfig
    components_dir: str = "components"
    feedback: FeedbackConfig = field(default_factory=FeedbackConfig)
    retrain: RetrainConfig = field(default_factory=RetrainConfig)
    sunset: SunsetConfig = field(default_factory=SunsetConfig)
    compute: ComputeConfig = field(default_factory=ComputeConfig)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    warnings: tuple[str, ...] = ()
    """What was accepted but looks wrong (an unknown top-level table), file and line first."""


def _keys(config_class: type) -> tuple[str, ...]:
    """The TOML keys of a table read into `config_class`: its fields (a new field is a new
    known key), except `name`, which is the table's own name."""
    return tuple(f.name for f in fields(config_class) if f.name != "name")


KNOWN_KEYS: dict[str, tuple[str, ...]] = {
    "workspace": ("name", "components"),
    "datasets.*": _keys(DatasetConfig),
    "models.*": _keys(ModelConfig),
    "validation": _keys(ValidationConfig),
    "cost": _keys(CostConfig),
    "gates": ("staging", "prod"),
    "gates.*": _keys(GateConfig),
    "drift": _keys(DriftConfig),
    "alerts": _keys(AlertsConfig),
    "remote": ("url",),
    "feedback": _keys(FeedbackConfig),
    "retrain": _keys(RetrainConfig),
    "sunset": _keys(SunsetConfig),
    "compute": COMPUTE_KEYS,
}
"""The keys of every table factory reads (`*` stands for a dataset, model or tier name)."""

TOP_LEVEL = (
    "workspace", "datasets", "models", "validation", "cost", "gates", "drift", "alerts", "remote",
    "feedback", "retrain", "sunset", "compute",
)  # fmt: skip


class _Reader:
    """Typed access to the parsed TOML that knows where each key is written."""

    def __init__(self, path: Path, text: str, data: dict[str, Any]) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.data = data

    def line_of(self, table: str, key: str | None) -> int | None:
        """Best-effort line number of `key` inside `[table]` (1-based), for error messages."""
        header = re.compile(r"^\s*\[\s*" + re.escape(table).replace(r"\.", r"\s*\.\s*") + r"\s*\]")
        start = None
        for number, line in enumerate(self.lines, 1):
            if header.match(line):
                start = number
                break
        if start is None:
            return None
        if key is None:
            return start
        key_re = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
        for number in range(start, len(self.lines)):
            line = self.lines[number]
            if line.lstrip().startswith("["):
                break
            if key_re.match(line):
                return number + 1
        return start

    def line_of_top(self, name: str) -> int | None:
        """Line of a top-level name: its `[name]` / `[name.x]` / `[[name]]` header, or a
        `name = ...` key before the first table."""
        header = re.compile(r"^\s*\[\[?\s*" + re.escape(name) + r"\s*[\].]")
        key_re = re.compile(r"^\s*" + re.escape(name) + r"\s*[=.]")
        in_tables = False
        for number, line in enumerate(self.lines, 1):
            if header.match(line):
                return number
            if line.lstrip().startswith("["):
                in_tables = True
            elif not in_tables and key_re.match(line):
                return number
        return None

    def fail(
        self,
        table: str,
        key: str | None,
        message: str,
        hint: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        line = self.line_of(table, key)
        where = f"{self.path}:{line}" if line else str(self.path)
        location = f"[{table}]" + (f" {key}" if key else "")
        raise FactoryError(
            "config_invalid",
            f"{where}: {location}: {message}",
            hint=hint or f"Edit {self.path.name} and run the command again.",
            details={
                "file": str(self.path),
                "line": line,
                "table": table,
                "key": key,
                **(extra or {}),
            },
            exit_code=ExitCode.INPUT,
        )

    def known(self, table_data: dict[str, Any], table: str, pattern: str) -> None:
        """Refuse a key of `[table]` that factory does not read (a typo would be ignored)."""
        known = KNOWN_KEYS[pattern]
        for key in table_data:
            if key in known:
                continue
            import difflib

            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            suggestion = f"; did you mean '{close[0]}'?" if close else ""
            self.fail(
                table,
                key,
                f"unknown key {key!r}{suggestion}",
                hint=f"Keys of [{table}]: {', '.join(known)}. Fix or remove the key.",
                extra={"known": list(known)},
            )

    def time_zone(self, table: str, value: str | None) -> str | None:
        """None, "UTC" or an IANA time zone name this machine knows."""
        if value is None or value == "UTC":
            return value
        import zoneinfo

        names = zoneinfo.available_timezones()
        if value not in names or value == "localtime":
            import difflib

            close = difflib.get_close_matches(value, sorted(names - {"localtime"}), n=3)
            self.fail(
                table,
                "time_zone",
                f"{value!r} is not a time zone name",
                hint=(f"Did you mean {' or '.join(repr(c) for c in close)}? " if close else "")
                + 'Leave time_zone out to keep the wall-clock times as written, "UTC" to '
                'convert them to UTC, or give an IANA zone name such as "Europe/Paris".',
            )
        return value

    def table(self, parent: dict[str, Any], name: str, where: str) -> dict[str, Any]:
        value = parent.get(name, {})
        if not isinstance(value, dict):
            self.fail(where, None, f"'{name}' must be a table")
        table: dict[str, Any] = value
        return table

    def get(
        self,
        table_data: dict[str, Any],
        table: str,
        key: str,
        kind: type | tuple[type, ...],
        default: Any = ...,
        choices: tuple[str, ...] | None = None,
    ) -> Any:
        if key not in table_data:
            if default is ...:
                self.fail(table, None, f"missing required key '{key}'")
            return default
        value = table_data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # bool is an int in Python; `true` where a number belongs is still a mistake.
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if not ok:
            names = " or ".join(k.__name__ for k in kinds)
            self.fail(table, key, f"expected {names}, got {type(value).__name__} {value!r}")
        if choices is not None and value not in choices:
            self.fail(table, key, f"{value!r} is not one of {', '.join(choices)}")
        return value

    def name(self, table: str, key: str, value: str) -> str:
        if not NAME_PATTERN.match(value) or ".." in value:
            self.fail(table, key, f"{value!r} is not a valid name ([a-z0-9][a-z0-9._-]*)")
        return value


def load_config(path: Path) -> Config:
    """Parse and check `factory.toml` at `path`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FactoryError(
            "config_missing",
            f"{path}: file not found",
            hint="Run `factory init` to create a workspace.",
            details={"file": str(path)},
        ) from None
    except UnicodeDecodeError as exc:
        raise FactoryError(
            "config_invalid",
            f"{path}: not UTF-8 text (byte {exc.start})",
            details={"file": str(path)},
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        if line is None:  # Python < 3.14 only says it in the message
            found = re.search(r"line (\d+)", str(exc))
            line = int(found.group(1)) if found else None
        raise FactoryError(
            "config_invalid",
            f"{path}{':' + str(line) if line else ''}: invalid TOML: {exc}",
            hint="Fix the TOML syntax at that line.",
            details={"file": str(path), "line": line},
        ) from None
    config = parse_config(path, text, data)
    for warning in config.warnings:
        # Narration, not data: stdout stays one JSON document under --json.
        print(f"factory: warning: {warning}", file=sys.stderr, flush=True)
    return config


def _top_level_warnings(r: _Reader, data: dict[str, Any]) -> tuple[str, ...]:
    found = []
    for name in data:
        if name in TOP_LEVEL:
            continue
        line = r.line_of_top(name)
        where = f"{r.path}:{line}" if line else str(r.path)
        import difflib

        close = difflib.get_close_matches(name, TOP_LEVEL, n=1, cutoff=0.6)
        suggestion = f"did you mean [{close[0]}]? " if close else ""
        found.append(
            f"{where}: unknown table [{name}] is ignored; {suggestion}"
            f"factory reads: {', '.join(f'[{t}]' for t in TOP_LEVEL)}"
        )
    return tuple(found)


def parse_config(path: Path, text: str, data: dict[str, Any]) -> Config:
    r = _Reader(path, text, data)
    warnings = _top_level_warnings(r, data)
    ws = r.table(data, "workspace", "workspace")
    r.known(ws, "workspace", "workspace")
    name = r.get(ws, "workspace", "name", str, default=path.parent.name or "factory")
    components_dir = r.get(ws, "workspace", "components", str, default="components")

    datasets: dict[str, DatasetConfig] = {}
    for ds_name, ds in r.table(data, "datasets", "datasets").items():
        table = f"datasets.{ds_name}"
        if not isinstance(ds, dict):
            r.fail("datasets", ds_name, "each dataset must be a table [datasets.NAME]")
        if not NAME_PATTERN.match(ds_name) or ".." in ds_name:
            r.fail(table, None, f"dataset name {ds_name!r} is not a valid name")
        r.known(ds, table, "datasets.*")
        entity = r.get(ds, table, "entity_columns", list, default=[])
        if not all(isinstance(c, str) for c in entity):
            r.fail(table, "entity_columns", "expected a list of column names")
        datasets[ds_name] = DatasetConfig(
            name=ds_name,
            source=r.get(ds, table, "source", str),
            time_column=r.get(ds, table, "time_column", str),
            schema=r.get(ds, table, "schema", str, default=None),
            entity_columns=tuple(entity),
            time_zone=r.time_zone(table, r.get(ds, table, "time_zone", str, default=None)),
        )

    models: dict[str, ModelConfig] = {}
    for model_name, m in r.table(data, "models", "models").items():
        table = f"models.{model_name}"
        if not isinstance(m, dict):
            r.fail("models", model_name, "each model must be a table [models.NAME]")
        if not NAME_PATTERN.match(model_name) or ".." in model_name:
            r.fail(table, None, f"model name {model_name!r} is not a valid name")
        r.known(m, table, "models.*")
        dataset = r.get(m, table, "dataset", str)
        if dataset not in datasets:
            r.fail(
                table,
                "dataset",
                f"unknown dataset {dataset!r}; known: {', '.join(sorted(datasets)) or 'none'}",
            )
        task = r.get(m, table, "task", str, choices=("classification", "regression"))
        models[model_name] = ModelConfig(
            name=model_name,
            dataset=dataset,
            task=task,
            labels=r.name(table, "labels", r.get(m, table, "labels", str)),
            metrics=r.name(table, "metrics", r.get(m, table, "metrics", str)),
            primary_metric=r.get(m, table, "primary_metric", str),
            direction=r.get(m, table, "direction", str, choices=("maximize", "minimize")),
            features=r.name(table, "features", r.get(m, table, "features", str)),
            hparams=r.name(table, "hparams", r.get(m, table, "hparams", str)),
            arch=r.name(table, "arch", r.get(m, table, "arch", str, default="catboost_v1")),
        )

    v = r.table(data, "validation", "validation")
    r.known(v, "validation", "validation")
    window = r.get(
        v, "validation", "window", str, default="expanding", choices=("expanding", "sliding")
    )
    validation = ValidationConfig(
        folds=r.get(v, "validation", "folds", int, default=4),
        gap_days=r.get(v, "validation", "gap_days", int, default=7),
        test_days=r.get(v, "validation", "test_days", int, default=90),
        window=window,
        train_days=r.get(v, "validation", "train_days", int, default=None),
        seed=r.get(v, "validation", "seed", int, default=42),
        min_test_rows=r.get(v, "validation", "min_test_rows", int, default=30),
        early_stopping_days=r.get(v, "validation", "early_stopping_days", int, default=None),
        leak_check_budget_s=float(
            r.get(v, "validation", "leak_check_budget_s", (int, float), default=5.0)
        ),
    )
    if validation.min_test_rows < 1:
        r.fail("validation", "min_test_rows", "must be at least 1")
    if validation.early_stopping_days is not None and validation.early_stopping_days < 1:
        r.fail("validation", "early_stopping_days", "must be at least 1 day")
    if validation.leak_check_budget_s <= 0:
        r.fail("validation", "leak_check_budget_s", "must be more than 0 seconds")
    if validation.folds < 1:
        r.fail("validation", "folds", "must be at least 1")
    if validation.gap_days < 0:
        r.fail("validation", "gap_days", "must be 0 or more")
    if validation.test_days < 1:
        r.fail("validation", "test_days", "must be at least 1")
    if window == "sliding" and (validation.train_days is None or validation.train_days < 1):
        r.fail("validation", "train_days", "a sliding window needs train_days >= 1")

    c = r.table(data, "cost", "cost")
    r.known(c, "cost", "cost")
    cost = CostConfig(
        price_per_cpu_hour=float(
            r.get(c, "cost", "price_per_cpu_hour", (int, float), default=0.05)
        ),
        currency=r.get(c, "cost", "currency", str, default="USD"),
    )

    gates: dict[str, GateConfig] = {}
    gates_data = r.table(data, "gates", "gates")
    for tier in gates_data:
        if tier not in ("staging", "prod"):
            r.fail(f"gates.{tier}", None, "gates exist only for tiers 'staging' and 'prod'")
    for tier in ("staging", "prod"):
        g = r.table(gates_data, tier, f"gates.{tier}")
        table = f"gates.{tier}"
        r.known(g, table, "gates.*")
        defaults = GateConfig()
        gates[tier] = GateConfig(
            min_delta=float(r.get(g, table, "min_delta", (int, float), default=defaults.min_delta)),
            min_fold_wins=r.get(g, table, "min_fold_wins", int, default=defaults.min_fold_wins),
            latency_ratio_max=float(
                r.get(
                    g, table, "latency_ratio_max", (int, float), default=defaults.latency_ratio_max
                )
            ),
            cost_per_1000_max=float(
                r.get(
                    g, table, "cost_per_1000_max", (int, float), default=defaults.cost_per_1000_max
                )
            ),
            require_no_drift=r.get(g, table, "require_no_drift", bool, default=True),
            require_beats_baseline=r.get(g, table, "require_beats_baseline", bool, default=True),
        )

    d = r.table(data, "drift", "drift")
    r.known(d, "drift", "drift")
    drift = DriftConfig(
        share_threshold=float(r.get(d, "drift", "share_threshold", (int, float), default=0.5)),
        stattest_threshold=float(
            r.get(d, "drift", "stattest_threshold", (int, float), default=0.05)
        ),
        min_effect_size=float(r.get(d, "drift", "min_effect_size", (int, float), default=0.1)),
        ignore_columns=tuple(r.get(d, "drift", "ignore_columns", list, default=[])),
    )
    if not all(isinstance(c, str) for c in drift.ignore_columns):
        r.fail("drift", "ignore_columns", "expected a list of column names")
    a = r.table(data, "alerts", "alerts")
    r.known(a, "alerts", "alerts")
    alerts = AlertsConfig(command=r.get(a, "alerts", "command", str, default=None) or None)
    remote = r.table(data, "remote", "remote")
    r.known(remote, "remote", "remote")
    r.get(remote, "remote", "url", str, default=None)
    return Config(
        path=path,
        name=name,
        datasets=datasets,
        models=models,
        validation=validation,
        cost=cost,
        gates=gates,
        drift=drift,
        alerts=alerts,
        components_dir=components_dir,
        feedback=_feedback(r, data),
        retrain=_retrain(r, data),
        sunset=_sunset(r, data),
        compute=_compute(r, data),
        raw=data,
        warnings=warnings,
    )


def _feedback(r: _Reader, data: dict[str, Any]) -> FeedbackConfig:
    t = r.table(data, "feedback", "feedback")
    r.known(t, "feedback", "feedback")
    d = FeedbackConfig()
    feedback = FeedbackConfig(
        lookback_days=r.get(t, "feedback", "lookback_days", int, default=d.lookback_days),
        alpha=float(r.get(t, "feedback", "alpha", (int, float), default=d.alpha)),
        min_labelled=r.get(t, "feedback", "min_labelled", int, default=d.min_labelled),
        degrading_min_effect=float(
            r.get(t, "feedback", "degrading_min_effect", (int, float), default=0.0)
        ),
    )
    if feedback.lookback_days < 1:
        r.fail("feedback", "lookback_days", "must be at least 1 day")
    if not 0.0 < feedback.alpha < 0.5:
        r.fail("feedback", "alpha", "must lie between 0 and 0.5, e.g. 0.05")
    if feedback.min_labelled < 2:
        r.fail("feedback", "min_labelled", "must be at least 2 (a variance needs two values)")
    if not feedback.degrading_min_effect >= 0.0:
        r.fail("feedback", "degrading_min_effect", "must be 0 or more")
    return feedback


def _retrain(r: _Reader, data: dict[str, Any]) -> RetrainConfig:
    t = r.table(data, "retrain", "retrain")
    r.known(t, "retrain", "retrain")
    retrain = RetrainConfig(
        command=r.get(t, "retrain", "command", str, default=None) or None,
        timeout_s=float(r.get(t, "retrain", "timeout_s", (int, float), default=1800.0)),
    )
    if not retrain.timeout_s > 0:
        r.fail("retrain", "timeout_s", "must be more than 0 seconds")
    return retrain


def _sunset(r: _Reader, data: dict[str, Any]) -> SunsetConfig:
    t = r.table(data, "sunset", "sunset")
    r.known(t, "sunset", "sunset")
    d = SunsetConfig()
    sunset = SunsetConfig(
        below_worst_fold_days=r.get(
            t, "sunset", "below_worst_fold_days", int, default=d.below_worst_fold_days
        ),
        idle_days=r.get(t, "sunset", "idle_days", int, default=d.idle_days),
        min_labelled=r.get(t, "sunset", "min_labelled", int, default=d.min_labelled),
    )
    for key in ("below_worst_fold_days", "idle_days"):
        if getattr(sunset, key) < 1:
            r.fail("sunset", key, "must be at least 1 day")
    if sunset.min_labelled < 2:
        r.fail("sunset", "min_labelled", "must be at least 2")
    return sunset


def _compute(r: _Reader, data: dict[str, Any]) -> ComputeConfig:
    t = r.table(data, "compute", "compute")
    r.known(t, "compute", "compute")
    engine = r.get(t, "compute", "engine", str, default="local", choices=ENGINES)
    address = r.get(t, "compute", "address", str, default="").strip()
    workers = r.get(t, "compute", "workers", int, default=None)
    timeout = float(r.get(t, "compute", "connect_timeout_s", (int, float), default=5.0))
    if workers is not None and workers < 1:
        r.fail("compute", "workers", "must be at least 1")
    if workers is not None and address:
        r.fail(
            "compute",
            "workers",
            "sizes only the cluster started on this machine (address empty); the cluster at "
            f"{address!r} has the workers it has",
            hint="Remove workers, or empty address to start a local cluster.",
        )
    if not 0 < timeout <= 600:
        r.fail("compute", "connect_timeout_s", "must lie between 0 and 600 seconds")
    if address and engine == "local":
        r.fail(
            "compute",
            "address",
            'the local engine connects to nothing; set engine = "dask" (or "ray") to use it',
        )
    if address and engine == "dask" and not _DASK_ADDRESS.match(address):
        r.fail(
            "compute",
            "address",
            f"{address!r} is not a Dask scheduler address",
            hint='For example address = "tcp://10.0.0.5:8786", or "" to start a local cluster.',
        )

    def at(key: str) -> str:
        line = r.line_of("compute", key) if key in t else None
        return f"{r.path}:{line}" if line else str(r.path)

    return ComputeConfig(
        engine=engine,
        address=address,
        workers=workers,
        connect_timeout_s=timeout,
        engine_at=at("engine"),
        address_at=at("address"),
    )
