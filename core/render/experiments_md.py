"""Markdown views of the experiments commands: runs, compare, check features."""

from __future__ import annotations

from typing import Any

from core.render.markdown import RENDERERS


def _num(value: Any, digits: int = 4) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "-"
    return f"{value:.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def runs_md(data: dict[str, Any]) -> str:
    rows = [
        [
            f"`{r['run_id']}`",
            r.get("model") or "-",
            " ".join(f"{k}/{v}" for k, v in (r.get("components") or {}).items() if k != "metrics"),
            (r.get("primary") or {}).get("name") or "-",
            _num((r.get("primary") or {}).get("mean")),
            _num((r.get("primary") or {}).get("std")),
            (r.get("created_at") or "")[:16],
        ]
        for r in data["runs"]
    ]
    best = ", ".join(f"{m}: `{r}`" for m, r in (data.get("best") or {}).items() if r)
    text = f"{data['count']} run(s). Best: {best or 'none'}\n\n"
    return text + _table(["run", "model", "components", "metric", "mean", "std", "created"], rows)


def compare_md(data: dict[str, Any]) -> str:
    rows = [
        [str(f["fold"]), f["window"], _num(f["a"]), _num(f["b"]), _num(f["delta"]), f["winner"]]
        for f in data["folds"]
    ]
    return f"**{data['verdict']}**: {data['summary']}\n\n" + _table(
        ["fold", "test window", "A", "B", "B - A", "winner"], rows
    )


def check_md(data: dict[str, Any]) -> str:
    verdict = "no leak found" if data["ok"] else "**LEAK**"
    text = f"{data['features']} on `{data['snapshot_id']}`: {verdict}. {data['summary']}\n"
    if not data["failing_cuts"]:
        return text
    rows = [
        [
            c["cut"],
            c["kind"],
            str(c["rows"]),
            str(c["changed_rows"]),
            ", ".join(c["changed_columns"]),
        ]
        for c in data["failing_cuts"]
    ]
    return text + "\n" + _table(["cut", "why cut", "rows", "changed rows", "changed columns"], rows)


RENDERERS["factory.runs/1"] = runs_md
RENDERERS["factory.compare/2"] = compare_md
RENDERERS["factory.check.features/2"] = check_md
