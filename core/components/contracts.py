"""The contract each component kind follows, so users can write their own versions.

A version is one file: `components/<kind>/<version>.py` in the workspace (or `.toml` for
hyperparameters). A released version is never edited in place: the registry hashes every
file and a run whose component changed since an earlier run of the same version is flagged.
Every function receives plain pandas objects and must not read files or the clock.

Every module is checked against its kind's contract when it is loaded (`check_module`, called
by `core.components.registry.load_module`): a missing name, a name of the wrong type or value,
or a function that cannot take the arguments factory passes is refused with the file, the line
and what is expected. Names are case-sensitive: `schema` is not `SCHEMA`. Durations are pandas
Timedelta strings: "1D", "24h", "30D", "90min" ("1M" and "1Y" are refused by pandas: a month
has no fixed length).

schemas (`schemas/<version>.py`)
    `SCHEMA` (required): a pandera `DataFrameSchema` over the raw columns, e.g.
    `pandera.pandas.DataFrameSchema({...}, strict=False)` (a `DataFrameModel` class: give
    `MyModel.to_schema()`). The time column is checked by factory itself: parseable, no nulls,
    unique per entity, time zones per the dataset's `time_zone` (ADR 0020).
    `TIME_ORDER` (optional, default "any"): "increasing" requires rows in strictly increasing
    time order in the source; "any" lets factory sort them.

features (`features/<version>.py`)
    `build(frame, time_column, entity_columns) -> DataFrame` (required): one row per input
    row, with the same index, features only. `frame` holds the snapshot's rows ordered by time
    (the time column is datetime64); `entity_columns` (a tuple, possibly empty) name the
    columns that, with the time, identify a row, e.g. a city or a store when one date holds
    several rows. Compute lags and rolling windows per entity
    (`frame.groupby(list(entity_columns))`) and only from rows at or before each row's time:
    `factory check features VERSION` recomputes the features on history cut at several dates
    and fails if any row before the cut changes. Raise `core.foundation.errors.FactoryError` (see
    `require_columns`) when a column you need is missing, so the user learns which column and
    which file.
    `CATEGORICAL: list[str]` (optional) names output columns CatBoost treats as categorical;
    any non-numeric output column (text, category, bool) is categorical as well.
    `HISTORY` (optional): how much history before a row its features need, a positive
    duration such as "30D" (the longest window or lag), so a prediction is given enough rows.

labels (`labels/<version>.py`)
    `TASK` (required): "classification" or "regression".
    `build(frame, time_column, entity_columns) -> Series` (required) aligned to `frame.index`:
    the target for each row, NaN where it is unknown (the last date has no "tomorrow").
    Classification labels are 0/1. Rows with a NaN label are left out of training and
    evaluation. Look ahead by time, not by rows (a row count is wrong across a missing day
    or a clock change): merge on the time plus `HORIZON` per entity.
    `HORIZON` (required to train; a version without it still loads, so old runs stay
    readable): how far ahead the label looks, a positive duration such as "1D" or "24h".
    Validation refuses a walk-forward gap shorter than it (a shorter gap leaks test labels
    into training). The training path checks it with `check_module(..., for_training=True)`.
    `PERSISTENCE: bool` (optional, default True): the label at time t - HORIZON of the same
    entity is a naive forecast of the label at t, scored beside the model; False turns that
    baseline off for labels where it means nothing.
    `persistence(frame, time_column, entity_columns) -> Series` (optional): the naive
    forecast per row, replacing the default one.

hparams (`hparams/<version>.toml`)
    CatBoost parameters as top-level keys (`iterations`, `learning_rate`, `depth`, ...),
    checked by `core.components.registry.load_hparams` against CatBoost's own parameter names
    and types. `early_stopping_rounds` (factory's training loop, an integer >= 1) turns on
    early stopping on a slice of each fold's training window; without it every fold trains
    all iterations. Keys factory sets itself (`random_seed`, `thread_count`, `verbose`, ...)
    are refused.

arch (`arch/<version>.py`)
    Required functions: `make_model(task, params, seed, thread_count)` -> an unfitted model
    with CatBoost's `fit(X, y, cat_features=, eval_set=)` interface; `predict(model, X, task)
    -> ndarray` (probability of the positive class for classification); `save(model, path)`;
    `curves(model) -> {"metric": str, "learn": [...], "validation": [...]}` and
    `importance(model) -> list[(feature, value)]`. Optional: `load(path, task)` -> a saved
    model; `LOOP_KEYS: tuple[str, ...]`, hyperparameters meant for the training loop, not
    the model.

metrics (`metrics/<version>.py`)
    `METRICS: dict[str, "maximize" | "minimize"]` (required): each metric's name and
    direction. `compute(y_true, prediction) -> dict[str, float]` (required), one value per
    name in `METRICS` (NaN when undefined, e.g. AUC on a window with one class).
    `ROW_LOSSES: dict[str, callable]` (optional): for a metric in `METRICS` that is a mean
    over rows, `loss(y_true, prediction) -> ndarray` of one loss per row (lower is better),
    so two models are compared row by row on the same test rows (Diebold-Mariano); metrics
    without one (AUC) are compared fold by fold.

inference (`inference/<version>.py`)
    The one mechanism that turns rows into predictions, for `factory predict` (batch) and
    `factory serve` (online) alike, so online equals batch by construction.
    `predict(frame, scored, time_column, entity_columns, run) -> ndarray` (required): one
    float per row of `frame` where the boolean array `scored` is True, in frame order.
    `frame` holds the rows to score and the history before them (earlier rows of a batch
    file; online, the server's recent rows of the same entities), ordered by time (the time
    column is datetime64), indexed 0..n-1. `run` is a dict describing the run that scores:
    `build(frame, time_column, entity_columns)`, the run's features module's build (an
    exception in it names the features file and line), `categorical` (its CATEGORICAL
    names), `feature_names` (the columns the run trained on, in order), `predict(matrix)`
    (the run's arch on a feature matrix, probabilities of the positive class for
    classification), `task`, `run_id`, `features_ref` and `features_path` for messages.
    Non-numeric and declared categorical columns are given to the arch as text, empty as
    "<missing>", as in training. Raise `FactoryError("features_mismatch", ...)` when the
    features lack a column the run trained on.
    `HISTORY` (optional): how much history per entity an online server keeps for a run
    whose features module declares no `HISTORY`, a positive duration such as "90D".
    Which version scores is recorded with every batch (hash included) in the inference log.
"""

from __future__ import annotations

import ast
import difflib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from types import ModuleType
from typing import Any

from core.foundation.errors import FactoryError

Check = Callable[[Any], str | None]
"""A value check: None when the value is fine, else what is wrong with it."""


@dataclass(frozen=True)
class Name:
    """One name a component module defines (or may define)."""

    name: str
    required: bool
    expected: str
    """What the contract expects, for the message: 'a pandera DataFrameSchema'."""
    check: Check


def _one_of(*choices: str) -> Check:
    def check(value: Any) -> str | None:
        if isinstance(value, str) and value in choices:
            return None
        close = (
            difflib.get_close_matches(str(value), choices, n=1) if isinstance(value, str) else []
        )
        return f"is {value!r}" + (f" (did you mean {close[0]!r}?)" if close else "")

    return check


def _function(*arguments: str) -> Check:
    """A callable that accepts the positional arguments factory passes."""

    def check(value: Any) -> str | None:
        if not callable(value):
            return f"is {type(value).__name__} {value!r}, not a function"
        try:
            signature = inspect.signature(value)
        except (TypeError, ValueError):  # a builtin without a signature: trust it
            return None
        try:
            signature.bind(*arguments)
        except TypeError as exc:
            return f"cannot be called as {_call(value, arguments)}: {exc}"
        return None

    return check


def _call(value: Any, arguments: tuple[str, ...]) -> str:
    return f"{getattr(value, '__name__', 'function')}({', '.join(arguments)})"


def _list_of_str(value: Any) -> str | None:
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return None
    if isinstance(value, str):
        return f"is the string {value!r}; write a list: [{value!r}]"
    return f"is {type(value).__name__} {value!r}"


def _bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else f"is {type(value).__name__} {value!r}"


def parse_duration(value: Any) -> timedelta | None:
    """A positive pandas Timedelta string as a timedelta; None when it is not one."""
    if not isinstance(value, str):
        return None
    import pandas as pd

    try:
        parsed = pd.Timedelta(value)
    except (ValueError, TypeError):
        return None
    if pd.isna(parsed) or parsed <= pd.Timedelta(0):
        return None
    return parsed.to_pytimedelta()


def _duration(value: Any) -> str | None:
    if parse_duration(value) is not None:
        return None
    if not isinstance(value, str):
        return f"is {type(value).__name__} {value!r}, not a string"
    return f"is {value!r}"


def _schema(value: Any) -> str | None:
    from pandera.api.pandas.container import DataFrameSchema

    if isinstance(value, DataFrameSchema):
        return None
    if isinstance(value, type) and hasattr(value, "to_schema"):
        return f"is the DataFrameModel class {value.__name__}; write SCHEMA = {value.__name__}.to_schema()"
    return f"is {type(value).__name__}"


def _metrics(value: Any) -> str | None:
    if not isinstance(value, dict) or not value:
        return f"is {type(value).__name__} {value!r}"
    for name, direction in value.items():
        if not isinstance(name, str) or direction not in ("maximize", "minimize"):
            return f"has {name!r}: {direction!r}"
    return None


def _row_losses(value: Any) -> str | None:
    if not isinstance(value, dict):
        return f"is {type(value).__name__} {value!r}"
    for name, loss in value.items():
        problem = _function("y_true", "prediction")(loss)
        if problem:
            return f"has {name!r}, which {problem}"
    return None


FRAME_ARGS = ("frame", "time_column", "entity_columns")

CONTRACTS: dict[str, tuple[Name, ...]] = {
    "schemas": (
        Name("SCHEMA", True, "a pandera DataFrameSchema", _schema),
        Name("TIME_ORDER", False, '"increasing" or "any"', _one_of("increasing", "any")),
    ),
    "features": (
        Name(
            "build",
            True,
            "a function build(frame, time_column, entity_columns)",
            _function(*FRAME_ARGS),
        ),
        Name("CATEGORICAL", False, "a list of column names", _list_of_str),
        Name("HISTORY", False, 'a positive duration such as "30D"', _duration),
    ),
    "labels": (
        Name(
            "TASK",
            True,
            '"classification" or "regression"',
            _one_of("classification", "regression"),
        ),
        Name(
            "build",
            True,
            "a function build(frame, time_column, entity_columns)",
            _function(*FRAME_ARGS),
        ),
        Name("HORIZON", False, 'a positive duration such as "1D" or "24h"', _duration),
        Name("PERSISTENCE", False, "True or False", _bool),
        Name(
            "persistence",
            False,
            "a function persistence(frame, time_column, entity_columns)",
            _function(*FRAME_ARGS),
        ),
    ),
    "arch": (
        Name(
            "make_model",
            True,
            "a function make_model(task, params, seed, thread_count)",
            _function("task", "params", "seed", "thread_count"),
        ),
        Name(
            "predict",
            True,
            "a function predict(model, features, task)",
            _function("model", "features", "task"),
        ),
        Name("save", True, "a function save(model, path)", _function("model", "path")),
        Name("curves", True, "a function curves(model)", _function("model")),
        Name("importance", True, "a function importance(model)", _function("model")),
        Name("load", False, "a function load(path, task)", _function("path", "task")),
        Name("LOOP_KEYS", False, "a tuple of hyperparameter names", _list_of_str),
    ),
    "metrics": (
        Name("METRICS", True, 'a dict of metric name -> "maximize" or "minimize"', _metrics),
        Name(
            "compute",
            True,
            "a function compute(y_true, prediction)",
            _function("y_true", "prediction"),
        ),
        Name("ROW_LOSSES", False, "a dict of metric name -> loss(y_true, prediction)", _row_losses),
    ),
    "inference": (
        Name(
            "predict",
            True,
            "a function predict(frame, scored, time_column, entity_columns, run)",
            _function("frame", "scored", "time_column", "entity_columns", "run"),
        ),
        Name("HISTORY", False, 'a positive duration such as "90D"', _duration),
    ),
}
"""Per kind, the names its modules define. `hparams` (TOML) has none here."""

REQUIRED: dict[str, tuple[str, ...]] = {
    kind: tuple(n.name for n in names if n.required) for kind, names in CONTRACTS.items()
}
"""Per kind, the names a module must define to be loaded."""

TRAINING_REQUIRED: dict[str, tuple[str, ...]] = {"labels": ("HORIZON",)}
"""Names a module must also define to train (not to read an old run)."""


def _definition_lines(path: str) -> dict[str, int]:
    """Line of each top-level name's definition in the module's source (best effort)."""
    try:
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), filename=path)
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return {}
    lines: dict[str, int] = {}
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            lines.setdefault(node.name, node.lineno)
            continue
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Name):
                lines.setdefault(target.id, node.lineno)
    return lines


def _near_miss(name: str, module: ModuleType) -> str | None:
    """A name the module does define that was probably meant as `name` (`schema`, `Task`)."""
    defined = [n for n in vars(module) if not n.startswith("__")]
    for candidate in defined:
        if candidate.lower() == name.lower() and candidate != name:
            return candidate
    close = difflib.get_close_matches(name, defined, n=1, cutoff=0.8)
    return close[0] if close else None


def check_module(
    kind: str, ref: str, path: str, module: ModuleType, *, for_training: bool = False
) -> None:
    """Refuse a component module that breaks its kind's contract: a required name missing,
    or any contract name of the wrong type or value. With `for_training`, also the names
    training needs (a labels module's `HORIZON`). Every problem is listed in `details`; the
    message names the first with its file and line."""
    contract = CONTRACTS.get(kind, ())
    needed = set(TRAINING_REQUIRED.get(kind, ())) if for_training else set()
    lines: dict[str, int] | None = None
    problems: list[dict[str, Any]] = []
    for spec in contract:
        if not hasattr(module, spec.name):
            if not (spec.required or spec.name in needed):
                continue
            if lines is None:
                lines = _definition_lines(path)
            near = _near_miss(spec.name, module)
            problem = f"does not define {spec.name} ({spec.expected})"
            if near is not None:
                where = f" (line {lines[near]})" if near in lines else ""
                problem += f"; it defines `{near}`{where}: names are case-sensitive, rename it to {spec.name}"
            problems.append({"name": spec.name, "problem": problem, "line": None, "missing": True})
            continue
        wrong = spec.check(getattr(module, spec.name))
        if wrong is not None:
            if lines is None:
                lines = _definition_lines(path)
            problems.append(
                {
                    "name": spec.name,
                    "problem": f"{spec.name} {wrong}; expected {spec.expected}",
                    "line": lines.get(spec.name),
                    "missing": False,
                }
            )
    if not problems:
        return
    first = problems[0]
    where = f"{path}:{first['line']}" if first["line"] else path
    more = f" (and {len(problems) - 1} more problem(s), see details)" if len(problems) > 1 else ""
    missing = [p["name"] for p in problems if p["missing"]]
    hint = "See the contract of each kind in core/components/contracts.py."
    if first["name"] in needed and first["missing"]:
        hint = (
            f"{ref} loads for reading old runs, but training needs {first['name']}: add a new "
            f"version of the module that declares it (a released version is never edited). " + hint
        )
    raise FactoryError(
        "component_contract",
        f"{where}: {ref} {first['problem']}{more}",
        hint=hint,
        details={"ref": ref, "path": path, "missing": missing, "problems": problems},
    )


def label_horizon(module: ModuleType) -> timedelta | None:
    """A labels module's `HORIZON` as a timedelta; None when it declares none (or a wrong
    one, which `check_module` refuses)."""
    return parse_duration(getattr(module, "HORIZON", None))


def feature_history(module: ModuleType) -> timedelta | None:
    """A features module's `HISTORY` as a timedelta; None when it declares none."""
    return parse_duration(getattr(module, "HISTORY", None))


def categorical_columns(module: ModuleType, features: Any) -> list[str]:
    """Categorical columns of a built feature frame: declared ones plus every non-numeric."""
    import pandas as pd

    declared = {str(c) for c in getattr(module, "CATEGORICAL", [])}
    found = []
    for column in features.columns:
        dtype = features[column].dtype
        numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        if str(column) in declared or not numeric:
            found.append(str(column))
    return found


def require_columns(frame: Any, columns: list[str], who: str) -> None:
    """Fail clearly when the data lacks a column a component reads."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise FactoryError(
            "component_input",
            f"{who} needs column(s) {', '.join(missing)}, which the data does not have "
            f"(columns: {', '.join(map(str, frame.columns))})",
            hint=f"Use a dataset with those columns, or write your own version of {who} "
            "(see core/components/contracts.py).",
            details={
                "component": who,
                "missing": missing,
                "columns": [str(c) for c in frame.columns],
            },
        )


def call_component(ref: str, path: str, function: Any, *args: Any) -> Any:
    """Call a component's function; an exception in it (a user's module meeting data it did
    not expect) becomes a clear error naming the component, its file and line, instead of an
    internal error of factory."""
    try:
        return function(*args)
    except FactoryError:
        raise
    except Exception as exc:
        import traceback

        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
        where = f"{path}:{frames[-1].lineno}" if frames else path
        detail = f"{type(exc).__name__}: {exc}"
        hint = "Fix the component, or add a new version of it."
        if isinstance(exc, KeyError):
            hint = (
                f"The data lacks a column {ref} reads ({exc}); check the input's columns, or "
                "use `require_columns` from core/components/contracts.py for a clearer message."
            )
        raise FactoryError(
            "component_failed",
            f"{ref} failed in {where}: {detail}",
            hint=hint,
            details={
                "ref": ref,
                "path": path,
                "line": frames[-1].lineno if frames else None,
                "error": detail,
            },
        ) from exc
