"""Which runs a card keeps, and what the card derives from them (adrs/0023).

A card keeps the best run (as `factory status` picks it: the best non-leaky run of the
cohort the workspace points at, `core.experiments.index`), the `RECENT_RUNS` newest runs,
and every run a plan, a tier, a tier change, a note or an ADR names. Each kept run says why
in `kept_for`. A run that is none of these leaves the card; its report and the run index
still hold it, and it comes back when something names it again. Every write also sets
`best_run`, `run_count` and Hugging Face's `model-index` from the run index.
"""

from __future__ import annotations

import re
from typing import Any

from core.foundation.workspace import Workspace
from core.records.card import CARD_FORMAT
from core.records.entries import ENTRY_KEYS, restored, slim

RECENT_RUNS = 10
"""How many of the newest runs a card keeps whatever else names them."""
_RUN_ID = re.compile(r"(?<![A-Za-z0-9_-])r-[a-z0-9]+(?![A-Za-z0-9_-])")
_ADR_FILE = re.compile(r"^(\d{4})-[a-z0-9-]+\.md$")


def upgrade(meta: dict[str, Any]) -> bool:
    """Bring a version-1 frontmatter (every run under `entries`) to the current layout in
    place: the entries become `runs` in the slim shape, which `settle` then trims. True when
    something changed."""
    if meta.get("card_format") == CARD_FORMAT:
        return False
    legacy = meta.pop("entries", None) or []
    meta["runs"] = [slim(e) for e in legacy if isinstance(e, dict) and e.get("run_id")]
    meta["card_format"] = CARD_FORMAT
    return True


def _name(found: dict[str, list[str]], run_id: Any, why: str) -> None:
    if isinstance(run_id, str) and run_id:
        reasons = found.setdefault(run_id, [])
        if why not in reasons:
            reasons.append(why)


def named_runs(ws: Workspace, meta: dict[str, Any]) -> dict[str, list[str]]:
    """run id -> what names it: `tier prod`, `tier previous staging`, `tier history`,
    `plan p-...`, `note n-...`, `adr 0016` (ids of any model: the caller keeps its own)."""
    found: dict[str, list[str]] = {}
    tiers = meta.get("tiers")
    for tier, held in tiers.items() if isinstance(tiers, dict) else []:
        if isinstance(held, dict):
            for inner, run_id in held.items():
                _name(found, run_id, f"tier {tier} {inner}")
        else:
            _name(found, held, f"tier {tier}")
    for change in meta.get("tier_history") or []:
        if isinstance(change, dict):
            _name(found, change.get("run_id"), "tier history")
            _name(found, change.get("previous_run_id"), "tier history")
    for plan in meta.get("plans") or []:
        if isinstance(plan, dict):
            _name(found, plan.get("run_id"), f"plan {plan.get('plan_id')}")
    for note in meta.get("notes") or []:
        if isinstance(note, dict):
            _name(found, note.get("run_id"), f"note {note.get('note_id')}")
    for number, run_id in adr_mentions(ws):
        _name(found, run_id, f"adr {number:04d}")
    return found


def adr_mentions(ws: Workspace) -> list[tuple[int, str]]:
    """(ADR number, run id) for every run id an ADR's text names."""
    found: list[tuple[int, str]] = []
    if not ws.adrs_dir.is_dir():
        return found
    for path in sorted(ws.adrs_dir.iterdir()):
        match = _ADR_FILE.match(path.name)
        if match is None:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        number = int(match.group(1))
        found.extend((number, run_id) for run_id in dict.fromkeys(_RUN_ID.findall(text)))
    return found


def _ordered_entry(entry: dict[str, Any], kept_for: list[str]) -> dict[str, Any]:
    full = {**entry, "kept_for": kept_for}
    ordered = {k: full[k] for k in ENTRY_KEYS if k in full}
    ordered.update({k: v for k, v in full.items() if k not in ordered})
    return ordered


def _current(
    held: dict[str, Any] | None, summary: dict[str, Any] | None, plans: list[dict[str, Any]]
) -> dict[str, Any]:
    """A kept run's entry: its facts from the run index when the index knows it (the report
    is the truth, and an old entry may lack a field), its plan and expectation from the card;
    keys a person added to the entry are kept."""
    if summary is None:
        assert held is not None
        return held
    fresh = restored(summary, plans)
    if held is not None:
        for key in ("plan_id", "expectation"):
            if fresh.get(key) is None and held.get(key) is not None:
                fresh[key] = held[key]
        fresh.update({k: v for k, v in held.items() if k not in ENTRY_KEYS})
    return fresh


def settle(ws: Workspace, meta: dict[str, Any]) -> None:
    """Choose the runs the card keeps (in place) and set `best_run`, `run_count` and
    `model-index` from the run index and the card's own runs."""
    from core.experiments import index

    model = str(meta.get("model"))
    summaries = [s for s in index.read_summaries(ws) if s.get("model") == model]
    by_id = {str(s["run_id"]): s for s in summaries}
    held = {
        str(e["run_id"]): e
        for e in meta.get("runs") or []
        if isinstance(e, dict) and isinstance(e.get("run_id"), str)
    }
    stats = index.stats_by_model(summaries).get(model) or {}
    best, _cohort = index.preferred_best(stats, index.current_cohort(ws, model))
    best_id = str(best["run_id"]) if best else None

    def created(run_id: str) -> tuple[str, str]:
        source = held.get(run_id) or by_id.get(run_id) or {}
        return str(source.get("created_at") or ""), run_id

    known = set(by_id) | set(held)
    reasons: dict[str, list[str]] = {}
    if best_id is not None:
        reasons[best_id] = ["best"]
    for run_id in sorted(known, key=created)[-RECENT_RUNS:]:
        reasons.setdefault(run_id, []).append("recent")
    for run_id, why in named_runs(ws, meta).items():
        if run_id in known:
            reasons.setdefault(run_id, []).extend(why)
    plans = [p for p in meta.get("plans") or [] if isinstance(p, dict)]
    runs = []
    for run_id in sorted(reasons, key=created):
        entry = _current(held.get(run_id), by_id.get(run_id), plans)
        runs.append(_ordered_entry(entry, reasons[run_id]))
    meta["runs"] = runs
    meta["best_run"] = best_id
    meta["run_count"] = len(known)
    meta["model-index"] = model_index(meta, best)


def model_index(meta: dict[str, Any], best: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Hugging Face `model-index`: the best run's walk-forward means as the model's results
    (`best` is the run index's summary of that run)."""
    if best is None:
        return []
    task = meta.get("task")
    primary = best.get("primary") or {}
    metrics: dict[str, Any] = {
        str(k): round(float(v), 6)
        for k, v in (best.get("metrics") or {}).items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    } or {str(primary.get("name")): primary.get("mean")}
    return [
        {
            "name": meta.get("model"),
            "results": [
                {
                    "task": {"type": f"tabular-{task}", "name": f"tabular {task}"},
                    "dataset": {
                        "type": meta.get("dataset"),
                        "name": meta.get("dataset"),
                        "revision": best.get("snapshot_id"),
                    },
                    "metrics": [
                        {
                            "type": name,
                            "value": value,
                            "name": f"{name} (walk-forward mean, {best['run_id']})",
                            "verified": False,
                        }
                        for name, value in metrics.items()
                    ],
                }
            ],
        }
    ]
