"""`factory init`: create a workspace, never touching what already exists."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from core.foundation.atomic import write_text
from core.foundation.config import CONFIG_NAME, load_config
from core.foundation.errors import FactoryError
from core.foundation.ids import NAME_PATTERN
from core.foundation.workspace import DEFAULT_CONFIG, GITIGNORE_LINES, Workspace


@dataclass(frozen=True)
class InitResult:
    path: str
    created: list[str] = field(default_factory=list)
    """Files and folders this call created."""
    existing: list[str] = field(default_factory=list)
    """Files and folders that were already there and were left as they were."""
    updated: list[str] = field(default_factory=list)
    """Files this call added lines to (only `.gitignore`, never removing a line)."""

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "changed": self.changed,
            "created": self.created,
            "existing": self.existing,
            "updated": self.updated,
        }


def _default_name(root: Path) -> str:
    name = "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in root.name.lower())
    name = name.strip(".-_") or "factory"
    return name if NAME_PATTERN.match(name) else "factory"


def init_workspace(root: Path) -> InitResult:
    root = root.expanduser().resolve()
    if root.exists() and not root.is_dir():
        raise FactoryError(
            "not_a_directory",
            f"{root}: exists and is not a folder",
            hint="Pass a folder path to `factory init`.",
            details={"path": str(root)},
        )
    created: list[str] = []
    existing: list[str] = []
    updated: list[str] = []
    if not root.exists():
        root.mkdir(parents=True)
        created.append(".")
    config = root / CONFIG_NAME
    if config.exists():
        existing.append(CONFIG_NAME)
        load_config(config)  # an existing broken config is reported, not overwritten
    else:
        write_text(config, DEFAULT_CONFIG.format(name=_default_name(root)))
        created.append(CONFIG_NAME)
    for folder in ("cards", "adrs", "reports", "components"):
        path = root / folder
        if path.is_dir():
            existing.append(folder + "/")
        else:
            path.mkdir(parents=True)
            created.append(folder + "/")
    gitignore = root / ".gitignore"
    if gitignore.exists():
        lines = gitignore.read_text(encoding="utf-8").splitlines()
        missing = [line for line in GITIGNORE_LINES if line not in lines]
        if missing:
            text = "\n".join([*lines, *missing]) + "\n"
            write_text(gitignore, text)
            updated.append(".gitignore")
        else:
            existing.append(".gitignore")
    else:
        write_text(gitignore, "\n".join(GITIGNORE_LINES) + "\n")
        created.append(".gitignore")
    Workspace(root)
    return InitResult(path=str(root), created=created, existing=existing, updated=updated)
