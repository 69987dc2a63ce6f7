"""Views of what is decided and learned across runs: `adrs` (one row per ADR, with what it
links to) and `effects` (which changes moved a model's primary metric, `factory effects`'
answer for every model), mirrored to JSON lines in `.factory/cache/` because neither lives
in a file DuckDB can read. A mirror is rebuilt when what it is made of changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.foundation.workspace import Workspace
from core.lens.views.sql import ViewSpec, empty_select, sql_paths, workspace_files

ADR_COLUMNS = {
    "number": "BIGINT",
    "title": "VARCHAR",
    "status": "VARCHAR",
    "date": "DATE",
    "supersedes": "BIGINT",
    "superseded_by": "BIGINT",
    "tags": "VARCHAR[]",
    "links": "VARCHAR[]",
    "path": "VARCHAR",
}
EFFECT_COLUMNS = {
    "model": "VARCHAR",
    "metric": "VARCHAR",
    "factor": "VARCHAR",
    "change": "VARCHAR",
    "pairs": "BIGINT",
    "mean_delta": "DOUBLE",
    "improvement": "DOUBLE",
    "low": "DOUBLE",
    "high": "DOUBLE",
    "verdict": "VARCHAR",
    "reason": "VARCHAR",
}


def _stamp(paths: list[Path]) -> list[list[Any]]:
    out = []
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            continue
        out.append([path.name, stat.st_mtime_ns, stat.st_size])
    return out


def _mirror(ws: Workspace, name: str, key: Any, rows: Any) -> Path | None:
    """`.factory/cache/<name>.jsonl`, rewritten only when `key` changed; `rows()` makes it."""
    from core.foundation.atomic import write_text

    folder = ws.state_dir / "cache"
    target = folder / f"{name}.jsonl"
    key_path = folder / f"{name}.key.json"
    try:
        if json.loads(key_path.read_text(encoding="utf-8")) == key and target.is_file():
            return target if target.stat().st_size else None
    except (OSError, ValueError):
        pass
    made = rows()
    write_text(target, "".join(json.dumps(r, default=str) + "\n" for r in made))
    write_text(key_path, json.dumps(key))
    return target if made else None


def _select(ws: Workspace, path: Path | None, columns: dict[str, str]) -> str:
    files = workspace_files(ws, path.parent, path.name) if path is not None else []
    if not files:
        return empty_select(columns)
    spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"
    return (
        f"SELECT * FROM read_json({sql_paths(files)}, format='newline_delimited', columns={spec})"
    )


def adrs_sql(ws: Workspace) -> str:
    from core.records.adrs import list_adrs

    files = sorted(ws.adrs_dir.glob("*.md")) if ws.adrs_dir.is_dir() else []

    def rows() -> list[dict[str, Any]]:
        return [
            {k: v for k, v in adr.to_dict().items() if k in ADR_COLUMNS}
            for adr in list_adrs(ws).adrs
        ]

    return _select(ws, _mirror(ws, "adrs", _stamp(files), rows), ADR_COLUMNS)


def effects_sql(ws: Workspace) -> str:
    from core.insights.effects import component_effects

    reports = sorted(ws.reports_dir.glob("r-*.json")) if ws.reports_dir.is_dir() else []
    key = {"reports": _stamp(reports), "models": sorted(ws.config.models)}

    def rows() -> list[dict[str, Any]]:
        found = []
        for model in ws.config.models:
            result = component_effects(ws, model)
            for effect in result.effects:
                low, high = effect.interval
                found.append(
                    {
                        "model": model,
                        "metric": result.metric,
                        "factor": effect.factor,
                        "change": effect.change,
                        "pairs": effect.pairs,
                        "mean_delta": effect.mean_delta,
                        "improvement": effect.improvement,
                        "low": low,
                        "high": high,
                        "verdict": effect.verdict,
                        "reason": effect.reason,
                    }
                )
        return found

    return _select(ws, _mirror(ws, "effects", key, rows), EFFECT_COLUMNS)


VIEWS = (
    ViewSpec("adrs", "one row per ADR: status, date, what it supersedes and links to", adrs_sql),
    ViewSpec(
        "effects",
        "per model, each one-factor change and what it did to the primary metric (as `factory "
        "effects`)",
        effects_sql,
    ),
)
