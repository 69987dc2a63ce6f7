"""Importing the optional parts of the code base by name."""

from __future__ import annotations

import importlib


def import_if_present(module: str) -> bool:
    """Import `module`; False if it (or its package) does not exist, other errors raise."""
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and (module == exc.name or module.startswith(exc.name + ".")):
            return False
        raise
    return True
