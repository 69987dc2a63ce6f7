"""Discovering, hashing and loading component versions.

A component is a kind (features, labels, ...) and a version (the file's stem). The registry
records a hash of each version's source so that a released version edited in place is
detected: a run stores the hash it used, and a later run with the same version and another
hash is flagged.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from core.errors import ExitCode, FactoryError
from core.ids import NAME_PATTERN, validate_name

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
    """Import a component version's module (cached per file content)."""
    if KINDS[info.kind] != ".py":
        raise TypeError(f"{info.ref} is not a Python module")
    name = f"factory_components.{info.kind}.{info.version}_{info.hash}"
    if name in sys.modules:
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
    try:
        return tomllib.loads(Path(info.path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise FactoryError(
            "component_load",
            f"{info.path}: invalid TOML: {exc}",
            details={"path": info.path},
        ) from None
