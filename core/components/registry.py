"""Discovering, hashing and loading component versions.

A component is a kind (features, labels, ...) and a version (the file's stem). The registry
records a hash of each version's source so that a released version edited in place is
detected: a run stores the hash it used, and a later run with the same version and another
hash is flagged.

Every module is checked against its kind's contract as it is loaded (`load_module`, see
`core.components.contracts`), and hyperparameter files against CatBoost's own parameters
(`load_hparams`), so a mistake is refused with its file and line before anything runs.
"""

from __future__ import annotations

import copy
import difflib
import functools
import hashlib
import importlib.util
import inspect
import re
import sys
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from core.foundation.errors import ExitCode, FactoryError
from core.foundation.ids import NAME_PATTERN, validate_name

BUILTIN_ROOT = Path(__file__).resolve().parent

KINDS: dict[str, str] = {
    "schemas": ".py",
    "features": ".py",
    "labels": ".py",
    "hparams": ".toml",
    "arch": ".py",
    "metrics": ".py",
    "inference": ".py",
}
"""Kind -> file suffix of its versions."""

KIND_ALIASES = {
    "schema": "schemas",
    "feature": "features",
    "label": "labels",
    "hyperparameters": "hparams",
    "architecture": "arch",
    "metric": "metrics",
}


@dataclass(frozen=True)
class ComponentInfo:
    kind: str
    version: str
    origin: str
    """'builtin' (shipped in core) or 'workspace' (the workspace's components/ folder)."""
    path: str
    hash: str
    """SHA-256 prefix of the file's bytes."""
    description: str

    @property
    def ref(self) -> str:
        """`kind/version`, how commands name a component (e.g. `features/weather_v2`)."""
        return f"{self.kind}/{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "kind": self.kind,
            "version": self.version,
            "origin": self.origin,
            "path": self.path,
            "hash": self.hash,
            "description": self.description,
        }


def normalize_kind(kind: str) -> str:
    kind = KIND_ALIASES.get(kind, kind)
    if kind not in KINDS:
        raise FactoryError(
            "unknown_kind",
            f"Unknown component kind {kind!r}; kinds: {', '.join(KINDS)}",
            exit_code=ExitCode.USAGE,
        )
    return kind


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _description(path: Path) -> str:
    """First line of the module docstring (or of the TOML's leading comments)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
    if path.suffix == ".toml":
        for line in text.splitlines():
            if line.startswith("#"):
                return line.lstrip("# ").strip()
            if line.strip():
                break
        return ""
    stripped = text.lstrip()
    for quote in ('"""', "'''"):
        if stripped.startswith(quote):
            body = stripped[3:].split(quote, 1)[0]
            return body.strip().splitlines()[0] if body.strip() else ""
    return ""


def _scan(folder: Path, kind: str, origin: str) -> list[ComponentInfo]:
    suffix = KINDS[kind]
    found: list[ComponentInfo] = []
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob(f"*{suffix}")):
        stem = path.stem
        if stem.startswith("_") or not NAME_PATTERN.match(stem):
            continue
        found.append(
            ComponentInfo(kind, stem, origin, str(path), _file_hash(path), _description(path))
        )
    return found


def workspace_components_dir(workspace: Any | None) -> Path | None:
    if workspace is None:
        return None
    return Path(workspace.components_dir)


def list_components(workspace: Any | None = None, kind: str | None = None) -> list[ComponentInfo]:
    """Every version of `kind` (or of every kind): built-in first, then the workspace's."""
    kinds = [normalize_kind(kind)] if kind else list(KINDS)
    own_root = workspace_components_dir(workspace)
    result: list[ComponentInfo] = []
    for k in kinds:
        builtin = _scan(BUILTIN_ROOT / k, k, "builtin")
        own: list[ComponentInfo] = []
        if own_root is not None:
            own = _scan(own_root / k, k, "workspace")
            clash = {c.version for c in builtin} & {c.version for c in own}
            if clash:
                version = sorted(clash)[0]
                raise FactoryError(
                    "component_clash",
                    f"{k}/{version} is defined both in factory and in {own_root / k}",
                    hint="A version names one implementation forever: rename your file to a new "
                    f"version, e.g. {version}_custom{KINDS[k]}.",
                    details={"kind": k, "version": version},
                )
        result.extend(builtin)
        result.extend(own)
    return result


def get_component(workspace: Any | None, kind: str, version: str) -> ComponentInfo:
    kind = normalize_kind(kind)
    validate_name(version, f"{kind} version")
    available = list_components(workspace, kind)
    for info in available:
        if info.version == version:
            return info
    raise FactoryError(
        "unknown_component",
        f"No {kind} version {version!r}",
        hint=f"Available {kind}: {', '.join(c.version for c in available) or 'none'}. "
        f"Add your own as components/{kind}/{version}{KINDS[kind]} in the workspace.",
        details={"kind": kind, "version": version, "available": [c.version for c in available]},
    )


def parse_ref(ref: str) -> tuple[str, str]:
    """`features/weather_v2` -> ('features', 'weather_v2')."""
    if "/" not in ref:
        raise FactoryError(
            "invalid_component_ref",
            f"{ref!r} is not KIND/VERSION",
            hint="For example features/weather_v2 or hparams/h1.",
            exit_code=ExitCode.USAGE,
        )
    kind, version = ref.split("/", 1)
    return normalize_kind(kind), validate_name(version, "version")


def load_module(info: ComponentInfo) -> ModuleType:
    """Import a component version's module (cached per file content) and check it against
    its kind's contract (`contracts.check_module`): a module that does not meet it is refused
    with its file, the name at fault and its line, never half-used. The training path checks
    again with `for_training=True` for the names only training needs (HORIZON)."""
    from core.components.contracts import check_module

    module = _import_module(info)
    check_module(info.kind, info.ref, info.path, module)
    return module


def load_checked(info: ComponentInfo, *, for_training: bool = False) -> ModuleType:
    """`load_module`, plus the names training needs when `for_training` (a labels module's
    HORIZON): the one loader the training path calls."""
    from core.components.contracts import check_module

    module = load_module(info)
    if for_training:
        check_module(info.kind, info.ref, info.path, module, for_training=True)
    return module


_IMPORTING = threading.RLock()
"""Held while a component module executes: a server's concurrent requests would otherwise
get the module from `sys.modules` before its body has run (no SCHEMA yet)."""
_IMPORTED: dict[str, ModuleType] = {}
"""Modules whose body has run."""


def _import_module(info: ComponentInfo) -> ModuleType:
    if KINDS[info.kind] != ".py":
        raise TypeError(f"{info.ref} is not a Python module")
    name = f"factory_components.{info.kind}.{info.version}_{info.hash}"
    found = _IMPORTED.get(name)
    if found is not None:
        return found
    with _IMPORTING:
        module = _execute(info, name)
        _IMPORTED[name] = module
        return module


def _execute(info: ComponentInfo, name: str) -> ModuleType:
    if name in sys.modules:  # imported by another thread while this one waited
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, info.path)
    if spec is None or spec.loader is None:  # pragma: no cover
        raise FactoryError("component_load", f"Cannot load {info.path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise FactoryError(
            "component_load",
            f"{info.path}: failed to import {info.ref}: {type(exc).__name__}: {exc}",
            hint="Fix the module and run again.",
            details={"path": info.path},
        ) from exc
    return module


def load_toml(info: ComponentInfo) -> dict[str, Any]:
    """A TOML component as written, unchecked (for reading what an old run used)."""
    try:
        return tomllib.loads(Path(info.path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise FactoryError(
            "component_load",
            f"{info.path}: invalid TOML: {exc}",
            details={"path": info.path},
        ) from None


# ------------------------------------------------------------------ hyperparameters

LOOP_KEYS = ("early_stopping_rounds",)
"""Hyperparameters of factory's training loop, not of the CatBoost constructor."""

MANAGED_KEYS: dict[str, str] = {
    "random_seed": "factory sets it from [validation] seed in factory.toml",
    "random_state": "factory sets random_seed from [validation] seed in factory.toml",
    "thread_count": "factory sets it from --threads (or FACTORY_THREADS)",
    "allow_writing_files": "factory sets it to false: training writes nothing to disk",
    "train_dir": "factory sets allow_writing_files = false: training writes nothing to disk",
    "verbose": "factory sets verbose = false and reports progress itself",
    "silent": "factory sets verbose = false and reports progress itself",
    "logging_level": "factory sets verbose = false and reports progress itself",
    "verbose_eval": "factory sets verbose = false and reports progress itself",
    "cat_features": "factory passes the features module's categorical columns",
    "text_features": "factory passes the features module's columns",
    "embedding_features": "factory passes the features module's columns",
}
"""CatBoost parameters factory sets itself: a value in a hparams file would be overridden."""

_SIMPLE_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "number": (int, float),
    "bool": (bool,),
    "string": (str,),
    "str": (str,),
}


@functools.lru_cache(maxsize=1)
def catboost_parameters() -> dict[str, str]:
    """CatBoost's own parameter names (the constructor arguments of CatBoostClassifier and
    CatBoostRegressor, aliases included), each with the type its docstring documents
    (`depth : int, [default=6 ...]` -> "int"; "" when undocumented)."""
    from catboost import CatBoostClassifier, CatBoostRegressor

    documented: dict[str, str] = {}
    names: set[str] = set()
    for estimator in (CatBoostClassifier, CatBoostRegressor):
        names.update(p for p in inspect.signature(estimator.__init__).parameters if p != "self")
        for name, text in re.findall(r"^ {4}(\w+) : ([^\n]+)$", estimator.__doc__ or "", re.M):
            documented.setdefault(name, re.split(r"[,[]", text)[0].strip())
    return {name: documented.get(name, "") for name in sorted(names)}


def _documented_types(text: str) -> tuple[type, ...] | None:
    """Python types for a documented CatBoost type ("int", "string or number"); None when
    the documentation names something else (lists, objects) and CatBoost's parser decides."""
    found: list[type] = []
    for word in re.split(r"\s+or\s+", text.strip()):
        kinds = _SIMPLE_TYPES.get(word.strip())
        if kinds is None:
            return None
        found.extend(kinds)
    return tuple(found) or None


def _hparam_line(lines: list[str], key: str) -> int | None:
    pattern = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
    for number, line in enumerate(lines, 1):
        if pattern.match(line):
            return number
    return None


def _catboost_verdict(params: dict[str, Any], task: str | None) -> tuple[str, str | None] | None:
    """CatBoost's own option parser on the parameters (what `fit` runs first): None when it
    accepts them, else (its message, the parameter it names). Without a task the parameters
    pass if either task's default loss accepts them."""
    try:
        from catboost import CatBoostError
        from catboost.core import _check_train_params, _process_synonyms
    except ImportError:  # pragma: no cover - CatBoost's private helpers moved: skip this layer
        return None
    losses = {"classification": ["Logloss"], "regression": ["RMSE"]}.get(
        task or "", ["Logloss", "RMSE"]
    )
    first: tuple[str, str | None] | None = None
    for loss in losses:
        candidate = copy.deepcopy({k: v for k, v in params.items() if k not in LOOP_KEYS})
        if "loss_function" not in candidate and "objective" not in candidate:
            candidate["loss_function"] = loss
        try:
            _process_synonyms(candidate)
            _check_train_params(candidate)
            return None
        except (CatBoostError, TypeError, ValueError) as exc:
            message = re.sub(r"^[\w/.\-]+\.(?:h|cpp|pyx):\d+:\s*", "", str(exc)).strip()
            named = re.search(
                r'parameter "(\w+)"|option \{(\w+)\}|parameters ([\w, ]+) should', message
            )
            key = None
            if named:
                key = next(g for g in named.groups() if g).split(",")[-1].strip()
            first = first or (message, key)
    return first


def _key_of_value(values: dict[str, Any], message: str) -> str | None:
    """The key whose value CatBoost's message quotes (`Key 'Minn' not found in enum`)."""
    for key, value in values.items():
        if isinstance(value, (str, int, float)) and (
            f"'{value}'" in message or f'"{value}"' in message
        ):
            return key
    return None


def load_hparams(info: ComponentInfo, task: str | None = None) -> dict[str, Any]:
    """A hyperparameters file, checked before anything trains: every key must be one of
    CatBoost's own parameters (or `early_stopping_rounds`, factory's loop), of the type
    CatBoost documents for it, not one factory sets itself, and accepted by CatBoost's option
    parser (for `task`'s default loss function when given). A problem is refused with the
    file, the key's line, and what is expected (a "did you mean" for an unknown key)."""
    if info.kind != "hparams":
        raise TypeError(f"{info.ref} is not a hyperparameters file")
    values = load_toml(info)
    lines = Path(info.path).read_text(encoding="utf-8").splitlines()
    known = catboost_parameters()
    problems: list[dict[str, Any]] = []

    def problem(key: str, message: str, expected: str) -> None:
        problems.append(
            {"key": key, "line": _hparam_line(lines, key), "message": message, "expected": expected}
        )

    for key, value in values.items():
        if key in LOOP_KEYS:
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problem(key, f"{key} = {value!r}: expected an integer, at least 1", "int >= 1")
            continue
        if key in MANAGED_KEYS:
            problem(key, f"{key} = {value!r}: {MANAGED_KEYS[key]}; remove it", "not set")
            continue
        if key not in known:
            close = difflib.get_close_matches(key, [*known, *LOOP_KEYS], n=1, cutoff=0.6)
            suggestion = f"; did you mean {close[0]!r}?" if close else ""
            problem(key, f"unknown hyperparameter {key!r}{suggestion}", "a CatBoost parameter")
            continue
        documented = known[key]
        kinds = _documented_types(documented)
        if kinds is not None and (
            not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)
        ):
            problem(
                key,
                f"{key} = {value!r}: expected {documented} (CatBoost documents "
                f"`{key} : {documented}`), got {type(value).__name__}",
                documented,
            )
    if not problems:
        verdict = _catboost_verdict(values, task)
        if verdict is not None:
            message, named = verdict
            at = named if named in values else _key_of_value(values, message)
            shown = f"{at} = {values[at]!r}" if at else "these hyperparameters"
            problems.append(
                {
                    "key": at,
                    "line": _hparam_line(lines, at) if at else None,
                    "message": f"CatBoost refuses {shown}: {message}",
                    "expected": "a value CatBoost accepts",
                }
            )
    if problems:
        first = problems[0]
        where = f"{info.path}:{first['line']}" if first["line"] else info.path
        more = f" (and {len(problems) - 1} more, see details)" if len(problems) > 1 else ""
        raise FactoryError(
            "hparams_invalid",
            f"{where}: {info.ref}: {first['message']}{more}",
            hint="Fix the file, or better add a new hparams version (a released one is never "
            "edited). Keys are CatBoost's parameters: "
            "https://catboost.ai/docs/en/references/training-parameters/ ; "
            "early_stopping_rounds is factory's.",
            details={"ref": info.ref, "path": info.path, "problems": problems},
        )
    return values
