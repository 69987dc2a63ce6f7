"""The model card API other modules call: plans, runs, notes, and card read/update.

Every write is a read-modify-write of `cards/<model>.md` under a per-card file lock,
landed atomically, touching only the frontmatter keys the caller owns and the generated
body sections; a human's words elsewhere in the body survive every write (adrs/0010).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from core.foundation import clock
from core.foundation.atomic import file_lock, write_bytes, write_json, write_text
from core.foundation.errors import ExitCode, FactoryError
from core.foundation.ids import hash_inputs, validate_name
from core.foundation.workspace import Workspace
from core.records import fileformat, sections

PLAN_KINDS = ("features", "labels", "hparams", "arch")
"""The component kinds a plan pins (metrics come with the model)."""
SUMMARY_NEXT_IDEAS = 5
KEY_ORDER = (
    "model", "task", "primary_metric", "direction", "dataset", "model-index", "tiers",
    "tier_history", "plans", "entries", "notes",
)  # fmt: skip


@dataclass(frozen=True)
class Plan:
    plan_id: str
    model: str
    components: dict[str, str]
    intent: str
    expect: str
    status: str
    """`planned` until a run carries it out, then `trained`."""
    run_id: str | None = None
    created_at: str | None = None
    verdict: dict[str, Any] | None = None
    """The expectation check once trained: `{held, reason, checks}`."""

    @classmethod
    def from_dict(cls, model: str, raw: dict[str, Any]) -> Plan:
        return cls(
            plan_id=str(raw.get("plan_id")),
            model=model,
            components={str(k): str(v) for k, v in (raw.get("components") or {}).items()},
            intent=str(raw.get("intent") or ""),
            expect=str(raw.get("expect") or ""),
            status=str(raw.get("status") or "planned"),
            run_id=raw.get("run_id"),
            created_at=raw.get("created_at"),
            verdict=raw.get("verdict"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id,
            "model": self.model,
            "components": dict(self.components),
            "intent": self.intent,
            "expect": self.expect,
            "status": self.status,
            "run_id": self.run_id,
            "created_at": self.created_at,
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class Note:
    note_id: str
    run_id: str
    model: str
    text: str
    next: str | None
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "note_id": self.note_id,
            "run_id": self.run_id,
            "model": self.model,
            "text": self.text,
            "next": self.next,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class Card:
    model: str
    path: Path
    exists: bool
    meta: dict[str, Any]
    body: str

    @property
    def entries(self) -> list[dict[str, Any]]:
        return [e for e in self.meta.get("entries") or [] if isinstance(e, dict)]

    @property
    def plans(self) -> list[Plan]:
        return [
            Plan.from_dict(self.model, p)
            for p in self.meta.get("plans") or []
            if isinstance(p, dict)
        ]

    @property
    def notes(self) -> list[dict[str, Any]]:
        return [n for n in self.meta.get("notes") or [] if isinstance(n, dict)]

    def to_dict(self) -> dict[str, Any]:
        best = sections.best_entry(self.meta)
        return {
            "model": self.model,
            "path": str(self.path),
            "exists": self.exists,
            "task": self.meta.get("task"),
            "primary_metric": self.meta.get("primary_metric"),
            "direction": self.meta.get("direction"),
            "entries": len(self.entries),
            "best": best,
            "tiers": self.meta.get("tiers") or {},
            "plans": [p.to_dict() for p in self.plans],
            "notes": self.notes,
            "latest_entries": self.entries[-10:],
            "body": self.body,
        }


def card_path(ws: Workspace, model: str) -> Path:
    return ws.cards_dir / f"{validate_name(model, 'model')}.md"


def _lock_path(ws: Workspace, model: str) -> Path:
    return ws.state_dir / "locks" / f"card-{model}.lock"


def _fresh_meta(ws: Workspace, model: str) -> dict[str, Any]:
    config = ws.config.models.get(model)
    if config is None:
        known = ", ".join(ws.config.models) or "none"
        raise FactoryError(
            "unknown_model",
            f"No model {model!r} in {ws.config_path}",
            hint=f"Models: {known}. Add a [models.{model}] table to factory.toml.",
            details={"model": model, "models": list(ws.config.models)},
        )
    return {
        "model": model,
        "task": config.task,
        "primary_metric": config.primary_metric,
        "direction": config.direction,
        "dataset": config.dataset,
        "tiers": {},
        "tier_history": [],
        "plans": [],
        "entries": [],
        "notes": [],
    }


def _key_line(text: str, key: str) -> int | None:
    """The 1-based line where a top-level frontmatter key is written."""
    import re

    match = re.search(rf"^{re.escape(key)}\s*:", text, re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _check_shape(path: Path, meta: dict[str, Any], text: str = "") -> None:
    for key in ("plans", "entries", "notes", "tier_history"):
        if key in meta and meta[key] is not None and not isinstance(meta[key], list):
            raise fileformat.broken(
                path,
                _key_line(text, key),
                f"frontmatter key '{key}' must be a list, not {type(meta[key]).__name__}",
                f"Restore '{key}' as a YAML list (or `git checkout` the card).",
            )
    if "tiers" in meta and meta["tiers"] is not None and not isinstance(meta["tiers"], dict):
        raise fileformat.broken(
            path,
            _key_line(text, "tiers"),
            "frontmatter key 'tiers' must be a mapping",
            "Restore 'tiers' as 'tier: run_id' lines.",
        )


def _parsed_cache(ws: Workspace, model: str) -> Path:
    return ws.state_dir / "cache" / "cards" / f"{model}.parsed.json"


def _stat_key(path: Path) -> list[int]:
    stat = os.stat(path)
    return [stat.st_mtime_ns, stat.st_size]


def _read_cached(ws: Workspace, model: str) -> tuple[Card, dict[str, str]]:
    """The card and the YAML text of each entry. Parsing 10,000 entries of YAML takes
    seconds, so the parsed card is kept as JSON in `.factory/cache/cards/<model>.parsed.json`
    and used while the card's mtime and size match. JSON, never pickle: whoever can write a
    file in the workspace must not be able to make the next command run code."""
    path = card_path(ws, model)
    try:
        key = _stat_key(path)
    except FileNotFoundError:
        return Card(model, path, False, _fresh_meta(ws, model), sections.initial_body(model)), {}
    try:
        cached = json.loads(_parsed_cache(ws, model).read_bytes())
        if (
            isinstance(cached, dict)
            and cached.get("key") == key
            and isinstance(cached.get("meta"), dict)
            and isinstance(cached.get("body"), str)
            and isinstance(cached.get("entry_texts"), dict)
        ):
            return Card(model, path, True, cached["meta"], cached["body"]), cached["entry_texts"]
    except (OSError, ValueError):
        pass
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise fileformat.broken(
            path, None, "the card is not UTF-8 text", "Save it as UTF-8."
        ) from exc
    meta, body = fileformat.split(path, text)
    _check_shape(path, meta, text)
    body_line = text[: len(text) - len(body)].count("\n") + 1
    fileformat.check_markers(path, body, body_line)
    return Card(model, path, True, meta, body), {}


def _save_cache(ws: Workspace, card: Card, entry_texts: dict[str, str]) -> None:
    with contextlib.suppress(OSError, TypeError, ValueError):
        payload = {
            "key": _stat_key(card.path),
            "meta": card.meta,
            "body": card.body,
            "entry_texts": entry_texts,
        }
        write_bytes(
            _parsed_cache(ws, card.model),
            json.dumps(payload, default=str, separators=(",", ":")).encode("utf-8"),
        )


def _read(ws: Workspace, model: str) -> Card:
    return _read_cached(ws, model)[0]


def read_card(ws: Workspace, model: str) -> Card:
    """The card of `model` (a fresh, unsaved one when the file does not exist yet)."""
    return _read(ws, model)


def _model_index(meta: dict[str, Any]) -> list[dict[str, Any]]:
    """Hugging Face `model-index`: the best run's walk-forward means as the model's results."""
    best = sections.best_entry(meta)
    if best is None:
        return []
    task = meta.get("task")
    metrics = best.get("metrics") or {best["metric"]["name"]: best["metric"]["mean"]}
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


def _yaml_safe(value: Any) -> Any:
    """What a mutate callback stored, in types YAML's safe dumper writes and its loader reads
    back the same (tuples and sets become lists, other objects their text)."""
    if isinstance(value, dict):
        return {str(k): _yaml_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_yaml_safe(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_yaml_safe(v) for v in value), key=str)
    if value is None or isinstance(value, (str, int, float, bool, date)):
        return value
    return str(value)


def _ordered(meta: dict[str, Any]) -> dict[str, Any]:
    ordered = {k: meta[k] for k in KEY_ORDER if k in meta}
    ordered.update({k: v for k, v in meta.items() if k not in ordered})
    return ordered


def update_card(ws: Workspace, model: str, mutate: Callable[[dict[str, Any]], None]) -> None:
    """Read-modify-write the card's frontmatter under its lock; `mutate` edits the dict in
    place. Generated body sections are re-rendered; the rest of the body is kept as is."""
    validate_name(model, "model")
    with file_lock(_lock_path(ws, model)):
        card, entry_texts = _read_cached(ws, model)
        meta = card.meta
        mutate(meta)
        meta["model-index"] = _model_index(meta)
        meta = _ordered(_yaml_safe(meta))
        body = fileformat.replace_sections(card.body, sections.render(meta))
        write_text(card.path, fileformat.join(meta, body, entry_texts))
        _save_cache(ws, Card(model, card.path, True, meta, body), entry_texts)


# ---------------------------------------------------------------------------- plans


def _plan_components(ws: Workspace, model: str, components: dict[str, str]) -> dict[str, str]:
    from core.components.registry import get_component

    config = ws.config.models.get(model)
    if config is None:
        _fresh_meta(ws, model)  # raises unknown_model
    assert config is not None
    unknown = set(components) - set(PLAN_KINDS)
    if unknown:
        raise FactoryError(
            "unknown_kind",
            f"A plan pins {', '.join(PLAN_KINDS)}; not {', '.join(sorted(unknown))}",
            exit_code=ExitCode.USAGE,
        )
    filled = {kind: components.get(kind) or getattr(config, kind) for kind in PLAN_KINDS}
    for kind, version in filled.items():
        get_component(ws, kind, version)
    return filled


def record_plan(
    ws: Workspace, model: str, components: dict[str, str], intent: str, expect: str
) -> Plan:
    """Write down a planned experiment before training it. Idempotent: the same model,
    components and intent give the same `p-<hash>` plan and no duplicate."""
    validate_name(model, "model")
    if not intent.strip():
        raise FactoryError(
            "plan_intent_missing",
            "A plan needs an intent: why are you trying this?",
            hint='Pass --intent "what you want to learn".',
            exit_code=ExitCode.USAGE,
        )
    filled = _plan_components(ws, model, components)
    _check_expectation(ws, model, expect)
    plan_id = "p-" + hash_inputs({"model": model, "components": filled, "intent": intent.strip()})
    created: dict[str, Any] = {}

    def add(meta: dict[str, Any]) -> None:
        plans = meta.setdefault("plans", [])
        for plan in plans:
            if isinstance(plan, dict) and plan.get("plan_id") == plan_id:
                if (plan.get("expect") or "") != expect.strip():
                    if plan.get("status", "planned") != "planned":
                        raise FactoryError(
                            "plan_already_trained",
                            f"Plan {plan_id} (same components and intent) was already trained "
                            f"by {plan.get('run_id')} with the expectation {plan.get('expect')!r}",
                            hint="Its verdict stands; to test another expectation, state a new "
                            "intent.",
                            details={"plan_id": plan_id, "run_id": plan.get("run_id")},
                            exit_code=ExitCode.USAGE,
                        )
                    # Still untrained: the newest wording of the expectation wins.
                    plan["expect"] = expect.strip()
                created.update(plan)
                return
        plan = {
            "plan_id": plan_id,
            "created_at": clock.iso(),
            "components": filled,
            "intent": intent.strip(),
            "expect": expect.strip(),
            "status": "planned",
            "run_id": None,
            "verdict": None,
        }
        plans.append(plan)
        created.update(plan)

    update_card(ws, model, add)
    return Plan.from_dict(model, created)


def _check_expectation(ws: Workspace, model: str, expect: str) -> None:
    """Refuse an expectation that looks like a check but is not one, or that names a metric
    or run that does not exist: found now, not after an hour of training."""
    import re

    from core.records.expect import parse

    text = expect.strip()
    if not text:
        return
    clauses = parse(text)
    forms = "'auc >= 0.72', 'mae < 2.5', 'beats best', 'beats r-abc123', joined with 'and'"
    if clauses is None:
        if re.search(r"(>=|<=|==|<|>)|\bbeats\b", text, re.IGNORECASE):
            raise FactoryError(
                "expectation_unreadable",
                f"Expectation {text!r} mixes a check with other words, so it cannot be checked",
                hint=f"Write the check alone ({forms}), or say it without operators to leave "
                "the verdict to a person.",
                details={"expect": text},
                exit_code=ExitCode.USAGE,
            )
        return
    known = _metric_names(ws, model)
    for kind, match in clauses:
        if kind == "threshold" and known and match["metric"].lower() not in known:
            raise FactoryError(
                "unknown_metric",
                f"Expectation {text!r} names metric {match['metric']!r}, which model {model} "
                "does not compute",
                hint=f"Metrics of {model}: {', '.join(sorted(known))}.",
                details={"metric": match["metric"], "metrics": sorted(known)},
                exit_code=ExitCode.USAGE,
            )
        if kind == "beats" and match["target"].lower() != "best":
            from core.experiments.readers import load_report

            target = match["target"].lower()
            if load_report(ws, target) is None:
                raise FactoryError(
                    "unknown_run",
                    f"Expectation {text!r} names run {target}, which has no report",
                    hint="List runs with `factory runs`, or write 'beats best'.",
                    details={"run_id": target},
                )


def _metric_names(ws: Workspace, model: str) -> set[str]:
    """The metrics the model's metrics component computes (empty when it cannot be read)."""
    from core.components.registry import get_component, load_module

    config = ws.config.models.get(model)
    if config is None:
        return set()
    try:
        module = load_module(get_component(ws, "metrics", config.metrics))
    except FactoryError:
        return set()
    names = getattr(module, "METRICS", None)
    return {str(n).lower() for n in names} if names else set()


def _card_models(ws: Workspace) -> list[str]:
    names = set(ws.config.models)
    if ws.cards_dir.is_dir():
        names.update(p.stem for p in ws.cards_dir.glob("*.md"))
    return sorted(n for n in names if _valid(n))


def _valid(name: str) -> bool:
    try:
        validate_name(name)
    except FactoryError:
        return False
    return True


def get_plan(ws: Workspace, plan_id: str) -> Plan:
    """The plan `plan_id`, from whichever card holds it."""
    validate_name(plan_id, "plan id")
    for model in _card_models(ws):
        if not card_path(ws, model).is_file():
            continue
        for plan in read_card(ws, model).plans:
            if plan.plan_id == plan_id:
                return plan
    raise FactoryError(
        "unknown_plan",
        f"No plan {plan_id!r} in any card under {ws.cards_dir}",
        hint="List plans with `factory card MODEL`; record one with `factory plan MODEL`.",
        details={"plan_id": plan_id},
    )


# ---------------------------------------------------------------------------- runs


def _entry(report: dict[str, Any]) -> dict[str, Any]:
    from core.experiments.readers import component_versions, primary

    metric = primary(report)
    metrics: dict[str, Any] = {}
    raw_metrics = report.get("metrics") or {}
    holder = (
        raw_metrics.get("aggregate")
        if isinstance(raw_metrics.get("aggregate"), dict)
        else raw_metrics
    )
    for name, value in holder.items() if isinstance(holder, dict) else []:
        if isinstance(value, dict) and isinstance(value.get("mean"), (int, float)):
            metrics[str(name)] = round(float(value["mean"]), 6)
    changed = report.get("component_changed") or []
    if isinstance(changed, dict):
        changed = [str(k) for k, v in changed.items() if v]
    elif isinstance(changed, list):
        changed = [
            str(c.get("ref") or c.get("kind") or c) if isinstance(c, dict) else str(c)
            for c in changed
        ]
    return {
        "run_id": report["run_id"],
        "plan_id": report.get("plan_id"),
        "created_at": report.get("created_at"),
        "snapshot_id": report.get("snapshot_id"),
        "components": component_versions(report),
        "metric": {
            "name": metric.get("name"),
            "direction": metric.get("direction"),
            "mean": _round(metric.get("mean")),
            "std": _round(metric.get("std")),
        },
        "metrics": metrics,
        "component_changed": changed,
        "reproducibility": _repro_summary(report.get("reproducibility") or {}),
        "expectation": None,
        "cohort": _cohort(report),
        "leaky": isinstance(report.get("leaky"), dict),
        "baseline": _baseline_brief(report),
    }


def _cohort(report: dict[str, Any]) -> str:
    from core.experiments.index import cohort_key

    labels = (report.get("components") or {}).get("labels")
    version = labels.get("version") if isinstance(labels, dict) else labels
    return cohort_key(report.get("snapshot_id"), report.get("validation"), version)


def _baseline_brief(report: dict[str, Any]) -> dict[str, Any] | None:
    baselines = report.get("baselines")
    if not isinstance(baselines, dict):
        return None
    versus = baselines.get("versus_best") or {}
    return {
        "best": baselines.get("best"),
        "skill": _round(baselines.get("skill")),
        "verdict": versus.get("verdict"),
    }


def _round(value: Any) -> float | None:
    return round(float(value), 6) if isinstance(value, (int, float)) else None


def _repro_summary(repro: dict[str, Any]) -> dict[str, Any]:
    """The scalar facts of a run's reproducibility block (seed, versions, commit, dirty)."""
    summary = {k: v for k, v in repro.items() if isinstance(v, (str, int, float, bool))}
    for nested in ("git", "libraries"):
        value = repro.get(nested)
        if isinstance(value, dict):
            for key, inner in value.items():
                if isinstance(inner, (str, int, float, bool)):
                    summary[f"{nested}.{key}"] = inner
    return summary


def _matching_plan(meta: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any] | None:
    plans = [p for p in meta.get("plans") or [] if isinstance(p, dict)]
    if entry.get("plan_id"):
        for plan in plans:
            if plan.get("plan_id") == entry["plan_id"]:
                return plan
        return None
    # Training with the same component flags carries out the newest open plan for them.
    for plan in reversed(plans):
        if plan.get("status", "planned") != "planned":
            continue
        wanted = plan.get("components") or {}
        if wanted and all(entry["components"].get(k) == v for k, v in wanted.items()):
            return plan
    return None


def _baseline_finder(
    ws: Workspace, meta: dict[str, Any], entry: dict[str, Any]
) -> Callable[[str], dict[str, Any] | None]:
    """`beats best`: the best run of the model trained before this one, in its cohort (rows
    that pair), never a leaky run; `beats r-x`: that run."""
    from core.experiments import index
    from core.experiments.readers import load_report

    def find(target: str) -> dict[str, Any] | None:
        if target != "best":
            return load_report(ws, target)
        created = str(entry.get("created_at") or "")
        summaries = [s for s in index.read_summaries(ws) if s.get("model") == meta.get("model")]
        own = next((s for s in summaries if s["run_id"] == entry["run_id"]), None)
        earlier = [
            s
            for s in summaries
            if s["run_id"] != entry["run_id"]
            and str(s.get("created_at") or "") <= created
            and not s.get("leaky")
            and (own is None or s.get("cohort") == own.get("cohort"))
        ]
        stats = index.stats_by_model(earlier).get(str(meta.get("model"))) or {}
        best = (stats.get("best_by_cohort") or {}).get(str(own.get("cohort")) if own else "")
        if best is None and own is None:
            best = stats.get("best")
        return load_report(ws, best["run_id"]) if best else None

    return find


def _apply_run(ws: Workspace, meta: dict[str, Any], report: dict[str, Any]) -> None:
    from core.records.expect import evaluate

    entry = _entry(report)
    entries = meta.setdefault("entries", [])
    previous = next(
        (
            i
            for i, e in enumerate(entries)
            if isinstance(e, dict) and e.get("run_id") == entry["run_id"]
        ),
        None,
    )
    if previous is not None and not entry.get("plan_id"):
        # Recording the same run again keeps the plan it carried out.
        entry["plan_id"] = entries[previous].get("plan_id")
    plan = _matching_plan(meta, entry)
    if plan is not None:
        entry["plan_id"] = plan["plan_id"]
        verdict = evaluate(
            str(plan.get("expect") or ""),
            report,
            primary_metric=str(meta.get("primary_metric") or entry["metric"]["name"]),
            direction=str(meta.get("direction") or "maximize"),
            baseline_for=_baseline_finder(ws, meta, entry),
        )
        entry["expectation"] = {"expect": plan.get("expect"), **verdict.to_dict()}
        plan["status"] = "trained"
        plan["run_id"] = entry["run_id"]
        plan["verdict"] = verdict.to_dict()
    if previous is None:
        entries.append(entry)
    else:
        # A forced retrain of the same inputs replaces its entry: one entry per run id.
        entries[previous] = entry


def _check_report(report: dict[str, Any]) -> str:
    for key in ("run_id", "model"):
        if not isinstance(report.get(key), str):
            raise FactoryError(
                "report_invalid",
                f"A run report needs a string {key!r} to go on a card",
                details={"run_id": report.get("run_id")},
                exit_code=ExitCode.INTERNAL,
            )
    return validate_name(report["model"], "model")


def record_run(ws: Workspace, report: dict[str, Any]) -> None:
    """Add (or replace) the run's entry on its model's card, mark its plan trained and
    check the plan's expectation. Idempotent by run id."""
    model = _check_report(report)
    update_card(ws, model, lambda meta: _apply_run(ws, meta, report))


def record_runs(ws: Workspace, reports: list[dict[str, Any]]) -> None:
    """`record_run` for many reports with one card write per model (bulk imports)."""
    by_model: dict[str, list[dict[str, Any]]] = {}
    for report in reports:
        by_model.setdefault(_check_report(report), []).append(report)

    for model, own in by_model.items():

        def apply_all(meta: dict[str, Any], own: list[dict[str, Any]] = own) -> None:
            for report in own:
                _apply_run(ws, meta, report)

        update_card(ws, model, apply_all)


# ---------------------------------------------------------------------------- notes


def _model_of_run(ws: Workspace, run_id: str) -> str:
    from core.experiments.readers import load_report

    report = load_report(ws, run_id)
    if report and isinstance(report.get("model"), str):
        return str(report["model"])
    for model in _card_models(ws):
        if card_path(ws, model).is_file() and any(
            e.get("run_id") == run_id for e in read_card(ws, model).entries
        ):
            return model
    raise FactoryError(
        "unknown_run",
        f"No run {run_id!r}: no report in {ws.reports_dir} and no card entry",
        hint="List runs with `factory runs`.",
        details={"run_id": run_id},
    )


def add_note(ws: Workspace, run_id: str, text: str, next_idea: str | None = None) -> Note:
    """Add a finding (and an optional next idea) about a run to its model's card.
    The same note twice is recorded once."""
    validate_name(run_id, "run id")
    if not text.strip():
        raise FactoryError(
            "note_empty", "A note needs text: what did you learn?", exit_code=ExitCode.USAGE
        )
    model = _model_of_run(ws, run_id)
    idea = next_idea.strip() if next_idea and next_idea.strip() else None
    note_id = "n-" + hash_inputs({"run_id": run_id, "text": text.strip(), "next": idea})
    stored: dict[str, Any] = {}

    def add(meta: dict[str, Any]) -> None:
        notes = meta.setdefault("notes", [])
        for note in notes:
            if isinstance(note, dict) and note.get("note_id") == note_id:
                stored.update(note)
                return
        note = {
            "note_id": note_id,
            "run_id": run_id,
            "created_at": clock.iso(),
            "text": text.strip(),
            "next": idea,
        }
        notes.append(note)
        stored.update(note)

    update_card(ws, model, add)
    return Note(note_id, run_id, model, stored["text"], stored.get("next"), stored["created_at"])


# ---------------------------------------------------------------------------- summary


@dataclass(frozen=True)
class CardSummary:
    """What `factory status` shows from a card, cached by the card's mtime and size."""

    model: str
    exists: bool
    entries: int = 0
    open_plans: list[dict[str, Any]] = field(default_factory=list)
    next_ideas: list[dict[str, Any]] = field(default_factory=list)
    tiers: dict[str, Any] = field(default_factory=dict)
    best: dict[str, Any] | None = None
    error: str | None = None
    """Why the card could not be read (a broken frontmatter), else None."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "exists": self.exists,
            "entries": self.entries,
            "open_plans": self.open_plans,
            "next_ideas": self.next_ideas,
            "tiers": self.tiers,
            "best": self.best,
            "error": self.error,
        }


def _summarize(card: Card) -> CardSummary:
    open_plans = [
        {"plan_id": p.plan_id, "intent": p.intent, "expect": p.expect, "components": p.components}
        for p in card.plans
        if p.status == "planned"
    ]
    ideas = [
        {"idea": n["next"], "run_id": n.get("run_id"), "created_at": n.get("created_at")}
        for n in reversed(card.notes)
        if n.get("next")
    ][:SUMMARY_NEXT_IDEAS]
    best = sections.best_entry(card.meta)
    tiers = card.meta.get("tiers") or {}
    return CardSummary(
        model=card.model,
        exists=True,
        entries=len(card.entries),
        open_plans=open_plans,
        next_ideas=ideas,
        tiers=dict(tiers) if isinstance(tiers, dict) else {},
        best={"run_id": best["run_id"], **best["metric"]} if best else None,
    )


def card_summary(ws: Workspace, model: str) -> CardSummary:
    """The card's summary, parsed once per change of the file (mtime_ns and size) and
    cached in `.factory/cache/cards/<model>.json`, so `status` stays fast on huge cards."""
    path = card_path(ws, model)
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return CardSummary(model, False)
    key = {"mtime_ns": stat.st_mtime_ns, "size": stat.st_size}
    cache = ws.state_dir / "cache" / "cards" / f"{model}.json"
    try:
        cached = json.loads(cache.read_text(encoding="utf-8"))
        if cached.get("key") == key:
            return CardSummary(**cached["summary"])
    except (OSError, ValueError, TypeError, KeyError):
        pass
    try:
        summary = _summarize(read_card(ws, model))
    except FactoryError as exc:
        # A broken card must not break `status`; it is shown, and never cached.
        return CardSummary(model, True, error=exc.message)
    with contextlib.suppress(OSError):
        write_json(cache, {"key": key, "summary": summary.to_dict()})
    return summary


def list_cards(ws: Workspace) -> list[CardSummary]:
    """A summary of every model's card (models in factory.toml and card files)."""
    return [card_summary(ws, model) for model in _card_models(ws)]
