"""A component sent to a worker as its source, loaded there only if the source hashes to
what the driver's registry recorded: a worker on another machine need not share the
workspace's files, and one that does cannot run an edited copy by mistake."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType

from core.components.registry import ComponentInfo, load_module
from core.foundation.atomic import atomic_path
from core.foundation.errors import FactoryError


@dataclass(frozen=True)
class ShippedComponent:
    info: ComponentInfo
    source: bytes


def ship(info: ComponentInfo) -> ShippedComponent:
    """The component with the bytes its hash was taken of."""
    return ShippedComponent(info, Path(info.path).read_bytes())


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def load_shipped(shipped: ShippedComponent) -> ModuleType:
    """The component's module in this process: from its own path when that file holds the
    same bytes (the driver itself, or a worker sharing its disk), else from the shipped
    source written to this machine's temporary folder under its hash."""
    info = shipped.info
    if _digest(shipped.source) != info.hash:
        raise FactoryError(
            "component_changed",
            f"{info.path}: {info.ref} changed while it was sent to the engine",
            hint="Run the command again once the file is saved.",
            details={"ref": info.ref, "hash": info.hash},
        )
    path = Path(info.path)
    try:
        same = path.is_file() and _digest(path.read_bytes()) == info.hash
    except OSError:
        same = False
    if not same:
        folder = Path(tempfile.gettempdir()) / f"factory-components-{os.getuid()}" / info.hash
        path = folder / f"{info.version}.py"
        if not path.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as tmp:
                tmp.write_bytes(shipped.source)
        info = replace(info, path=str(path))
    return load_module(info)
