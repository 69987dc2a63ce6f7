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

    JSON_PROPERTIES = ("changed",)

    @property
    def changed(self) -> bool:
        """Whether this call created or updated anything."""
        return bool(self.created or self.updated)

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "changed": self.changed,
            "created": self.created,
            "existing": self.existing,
            "updated": self.updated,
        }


AGENTS_NAME = "AGENTS.md"
AGENTS_MD = """\
# AGENTS.md: driving this factory workspace

For AI assistants (and people) working in this folder. It is a `factory` workspace
(`factory.toml`): versioned components, walk-forward CatBoost runs, model cards (`cards/`),
ADRs (`adrs/`) and one report per run (`reports/`). Change them through `factory`, never by
hand: the commands keep the cards, reports and indexes consistent.

## Start here
- `factory status --json`: every model, its best and live runs, open plans and alerts, when
  the last activity was, and `next`: what to do now.
- `factory history --since 7d --json`: what happened, grouped by work session.
- `factory --help` and `factory COMMAND --help` describe every command and flag.

## The envelope
Every command takes `--json` and then prints exactly one JSON document on stdout (narration
goes to stderr):
`{"ok": true, "command": "status", "schema": "factory.status/2", "data": {...},
"error": null, "next": [...]}`.
- `schema` names the shape of `data`; a breaking change bumps its number.
- On failure `ok` is false and `error` holds `code`, `message`, `hint` and `details`: do
  what the hint says.
- `next` lists the commands that make sense now; prefer them to guessing.
- `--fields KEYS` keeps only those keys of `data` (`--fields count,runs.run_id`: a dot goes
  one level down), to keep an answer small.

## Exit codes
0 done (or the check said yes), 1 a check said no (gate failed, drift found, data invalid:
read `data` for why), 2 usage error, 3 workspace or input error, 4 a bug in factory.

## Naming runs
Wherever a run goes: its id (`r-1a2b3c4d5e6f`), a unique prefix (`r-1a2b`), or a ref: `best`,
`prod`, `staging`, `MODEL:best`, `MODEL:prod`.

## Habits
- Set `FACTORY_SESSION` to one id per conversation (`chat-2026-12-01`), so `history` groups
  your commands into one session.
- Say why before and after: `factory plan MODEL --intent "..." --expect "auc >= 0.7"` before
  training, `factory note RUN "what you learned"` after, `factory adr new "..."` for a
  decision.
- `factory query "SELECT ..." --json` answers anything else over the workspace's views
  (`factory query --tables` lists them); it only reads.

## MCP
`factory mcp` serves these commands as MCP tools over stdio, each returning the same
envelope (every tool also takes `fields`, as `--fields`). It is read-only unless started
with `--allow-writes`; tools that train return a job to poll with the `job` tool. A
client's configuration:
`{"mcpServers": {"factory": {"command": "factory", "args": ["mcp", "--workspace", "/path/to/this/folder"]}}}`
"""
"""Written by `factory init` into a new workspace, only when there is no AGENTS.md yet."""


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
    agents = root / AGENTS_NAME
    if agents.exists():
        existing.append(AGENTS_NAME)  # the user's own file: never overwritten
    else:
        write_text(agents, AGENTS_MD)
        created.append(AGENTS_NAME)
    Workspace(root)
    return InitResult(path=str(root), created=created, existing=existing, updated=updated)
