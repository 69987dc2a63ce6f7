"""`factory sunset removal-list MODEL [--apply]`: everything only the model's retired runs used.

The payoff of one module per version: removal is moving files the tool can name. The runs
that go are the model's retired runs, or, once the model holds no tier any more, every run of
it (the model itself has retired, and its `[models.NAME]` table goes too). Listed, each with
its size and the reason it may go:

- component versions of the workspace (`components/<kind>/<version>`; factory's built-in
  versions in `core/components` are never removed) those runs used;
- workspace modules only those versions import (static `ast` analysis, `imports.py`);
- config sections (`[models.NAME]`, a `[datasets.NAME]` no other model uses);
- rollout specs and states that name only runs that go; alerts raised for them;
- artifacts (deleted when their archived copy matches, else moved), inference-log and
  outcome files holding only their predictions, by partition, with sizes: files on disk and
  those `factory compact --prune` left only in the compacted Parquet (written to the archive
  as the JSONL they were), whose compacted lines are then withdrawn from every reader
  (`core.foundation.log_archive.withdraw`, adrs/0036).

Nothing stays listed that a live tier, a running rollout, an open plan, another model (its
table or any run of it) or a run that has not retired still references: such items are
listed as kept, each with the reason. `--apply` first writes a journal
(`archive/removals/<id>/journal.json`), then moves every item under that folder (or deletes
an archived artifact, or cuts a table out of factory.toml), then writes the manifest with
the SHA-256 of everything it moved. Each step can tell whether it happened, so a process
killed half-way is completed by the next `--apply`, and an `--apply` with nothing listed
changes nothing.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.foundation import clock, log_archive
from core.foundation.atomic import atomic_path, write_json, write_text
from core.foundation.errors import FactoryError
from core.foundation.events import emit
from core.foundation.faults import crash_point
from core.foundation.ids import hash_inputs, validate_name
from core.foundation.workspace import Workspace
from core.operations.common import read_json
from core.operations.sunset.archive import (
    ARCHIVE_SCHEMA,
    archive_dir,
    folder_size,
    move_in,
    read_manifest,
    relative,
    removal_dir,
    run_archive,
    sha256_of,
    write_in,
)

REMOVAL_SCHEMA = "factory.sunset.removal_list/1"
JOURNAL_SCHEMA = "factory.removal-journal/1"
COMPONENT_KINDS = ("features", "labels", "metrics", "hparams", "arch", "inference", "schemas")


@dataclass(frozen=True)
class Item:
    """One thing that may go (or must stay), with its reason."""

    kind: str
    """component, module, config, rollout, alert, artifact, log."""
    name: str
    """`features/private_v1`, `[models.b]`, `artifacts/r-...`, `logs/inference/date=...`."""
    paths: list[str]
    """Workspace-relative files (a config section names factory.toml)."""
    bytes: int
    action: str
    """What `--apply` does: move (to archive/), delete (an archived, regenerable copy), edit
    (cut a table out of factory.toml); `keep` for a kept item."""
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class RemovalList:
    model: str
    retired_runs: list[str]
    model_retired: bool
    """The model holds no tier and has retired runs: every run of it goes."""
    runs: list[str]
    """The runs whose things are listed (retired runs, or every run of a retired model)."""
    remove: list[Item]
    keep: list[Item]
    bytes: int
    """Total size of what goes."""
    applied: bool = False
    """`--apply` acted (False on a dry run, and when nothing was listed)."""
    removal_id: str | None = None
    journal: str | None = None
    manifest: str | None = None
    done: list[dict[str, Any]] = field(default_factory=list)
    """With --apply: each step, with what it did."""
    completed: list[str] = field(default_factory=list)
    """Removals a killed earlier `--apply` had left half-done, completed first."""
    pending: list[str] = field(default_factory=list)
    """On a dry run: journals of a killed `--apply` that the next `--apply` completes."""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["remove"] = [i.to_dict() for i in self.remove]
        out["keep"] = [i.to_dict() for i in self.keep]
        return out


# ----------------------------------------------------------------------- references


class References:
    """Who still uses what: component (kind, version) -> reasons, from every model's table,
    every run that stays, open plans and running rollouts."""

    def __init__(self) -> None:
        self.by_component: dict[tuple[str, str], list[str]] = {}

    def add(self, kind: str, version: Any, reason: str) -> None:
        if version:
            reasons = self.by_component.setdefault((kind, str(version)), [])
            if reason not in reasons:
                reasons.append(reason)

    def reasons(self, kind: str, version: str) -> list[str]:
        return self.by_component.get((kind, version), [])


def _config_components(ws: Workspace, name: str) -> dict[str, str]:
    model = ws.config.models[name]
    found = {
        k: str(getattr(model, k)) for k in ("features", "labels", "metrics", "hparams", "arch")
    }
    inference = getattr(model, "inference", None)
    if inference:
        found["inference"] = str(inference)
    return found


def _summarize_runs(runs: list[tuple[str, str]]) -> str:
    """`3 runs of rain (r-a, r-b, r-c)` from (model, run id) pairs."""
    by_model: dict[str, list[str]] = {}
    for model, run_id in runs:
        by_model.setdefault(model, []).append(run_id)
    parts = []
    for model, ids in sorted(by_model.items()):
        shown = ", ".join(ids[:3]) + (f", +{len(ids) - 3} more" if len(ids) > 3 else "")
        parts.append(f"{len(ids)} run{'s' if len(ids) > 1 else ''} of {model} ({shown})")
    return "used by " + "; ".join(parts)


def _references(
    ws: Workspace,
    model: str,
    going: set[str],
    model_retired: bool,
    live: dict[str, str],
    rolling: dict[str, str],
) -> References:
    from core.experiments.index import list_runs
    from core.records.card_store import card_models, card_path, read_card

    refs = References()
    for name, config in ws.config.models.items():
        if name == model and model_retired:
            continue
        for kind, version in _config_components(ws, name).items():
            refs.add(kind, version, f"[models.{name}] names it")
        dataset = ws.config.datasets.get(config.dataset)
        if dataset is not None and dataset.schema:
            refs.add("schemas", dataset.schema, f"[datasets.{dataset.name}] (used by {name})")
    staying: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for run in list_runs(ws):
        if run.run_id in going:
            continue
        for kind, version in (run.components or {}).items():
            if run.run_id in live:
                refs.add(kind, version, f"live tier {live[run.run_id]} ({run.run_id})")
            elif run.run_id in rolling:
                refs.add(kind, version, f"running rollout {rolling[run.run_id]} ({run.run_id})")
            else:
                staying.setdefault((kind, str(version)), []).append((run.model, run.run_id))
    for (kind, version), runs in staying.items():
        refs.add(kind, version, _summarize_runs(runs))
    for name in card_models(ws):
        if not card_path(ws, name).is_file():
            continue
        try:
            card = read_card(ws, name)
        except FactoryError:
            continue
        for plan in card.plans:
            if plan.status == "planned":
                for kind, version in plan.components.items():
                    refs.add(kind, version, f"open plan {plan.plan_id} of {name} pins it")
    return refs


def _live_runs(ws: Workspace) -> dict[str, str]:
    """run id -> `prod of rain`, for every run holding a tier of any model."""
    from core.operations.tier_state import normalize
    from core.records.card_store import card_models, card_path, read_card

    found: dict[str, str] = {}
    for name in card_models(ws):
        if not card_path(ws, name).is_file():
            continue
        try:
            tiers = normalize(read_card(ws, name).meta)
        except FactoryError:
            continue
        for tier in ("staging", "prod"):
            if tiers.get(tier):
                found[str(tiers[tier])] = f"{tier} of {name}"
    return found


# ----------------------------------------------------------------------- the list


def _component_file(ws: Workspace, kind: str, version: str) -> Path | None:
    from core.components.registry import KINDS

    suffix = KINDS.get(kind)
    if suffix is None:
        return None
    path = ws.components_dir / kind / f"{version}{suffix}"
    return path if path.is_file() else None


def _builtin(kind: str, version: str) -> bool:
    from core.components.registry import BUILTIN_ROOT, KINDS

    suffix = KINDS.get(kind)
    return bool(suffix) and (BUILTIN_ROOT / kind / f"{version}{suffix}").is_file()


def _table_present(ws: Workspace, table: str) -> bool:
    section, _, name = table.partition(".")
    holder = ws.config.raw.get(section)
    return isinstance(holder, dict) and name in holder


def _runs_of(ws: Workspace, model: str) -> list[str]:
    from core.experiments.index import list_runs

    return [r.run_id for r in list_runs(ws, model)]


LOGS = (("inference", "predictions"), ("outcomes", "outcomes"))
"""The logs whose files may hold only the predictions (or outcomes) of runs that go: the log's
name (`core.foundation.log_archive`) and what its lines are."""


SHADOWED = "~compacted"
"""Suffix of the listed path of a pruned file whose name a newer file on disk took."""


def _log_folder(ws: Workspace, log: str) -> Path:
    return ws.inference_dir if log == "inference" else ws.logs_dir / log


def _jsonl_items(
    ws: Workspace, log: str, label: str, going: set[str]
) -> tuple[list[Item], list[Item]]:
    """Log files holding only predictions (or outcomes) of runs that go, per partition:
    the files on disk and those `factory compact --prune` left only in the Parquet. A
    compacted day whose digest names none of the runs that go is not read: its compacted
    files hold none of their predictions."""
    from core.operations.feedback.inference_log import file_runs

    remove: list[Item] = []
    keep: list[Item] = []
    folder = _log_folder(ws, log)
    entries = (log_archive.read_manifest(ws, log) or {}).get("partitions") or {}
    quiet = set()
    for day, entry in entries.items():
        digest = entry.get("digest") if isinstance(entry, dict) else None
        if isinstance(digest, dict) and not any(
            going & set(runs) for runs in digest.values() if isinstance(runs, dict)
        ):
            quiet.add(day)
    by_date: dict[str, list[log_archive.LogSource]] = {}
    for source in log_archive.log_sources(ws, log, folder):
        by_date.setdefault(source.date, []).append(source)
    for date, sources in by_date.items():
        part = folder / f"date={date}"
        going_files: list[tuple[str, int]] = []
        on_disk = {s.name for s in sources if s.path is not None}
        for source in sources:
            if source.parquet is not None and date in quiet:
                continue
            # A pruned file whose name a new file took is listed apart from it.
            shadowed = source.path is None and source.name in on_disk
            rel = relative(ws, part / (source.name + (SHADOWED if shadowed else "")))
            runs = file_runs(source)
            if runs and runs <= going:
                going_files.append((rel, _source_size(source, entries)))
            elif runs & going:
                others = sorted(runs - going)
                keep.append(
                    Item(
                        "log",
                        rel,
                        [rel],
                        _source_size(source, entries),
                        "keep",
                        f"also holds {label} of {', '.join(others[:3])}, which stay",
                    )
                )
        if not going_files:
            continue
        whole = len(going_files) == len(sources)
        name = relative(ws, part) + (
            "" if whole else f" ({len(going_files)} of {len(sources)} files)"
        )
        remove.append(
            Item(
                "log",
                name,
                [rel for rel, _ in going_files],
                sum(size for _, size in going_files),
                "move",
                f"{label} of runs that go only",
            )
        )
    return remove, keep


def _source_size(source: log_archive.LogSource, entries: dict[str, Any]) -> int:
    """A listed file's size: on disk, or, pruned, as the manifest recorded it (its lines are
    not read twice)."""
    if source.path is not None:
        with contextlib.suppress(OSError):
            return source.path.stat().st_size
    recorded = ((entries.get(source.date) or {}).get("sources") or {}).get(source.name)
    return int(recorded.get("size") or 0) if isinstance(recorded, dict) else 0


def _artifact_item(ws: Workspace, run_id: str) -> Item | None:
    folder = ws.artifacts_dir / run_id
    if not folder.is_dir():
        return None
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    manifest = read_manifest(run_archive(ws, run_id) / "manifest.json")
    archived = {
        str(f.get("path"))[len("model/") :]: f.get("sha256")
        for f in (manifest or {}).get("files") or []
        if str(f.get("path", "")).startswith("model/")
    }
    same = bool(files) and all(
        archived.get(p.relative_to(folder).as_posix()) == sha256_of(p) for p in files
    )
    return Item(
        "artifact",
        relative(ws, folder),
        [relative(ws, p) for p in files],
        sum(p.stat().st_size for p in files),
        "delete" if same else "move",
        f"the model file of {run_id}"
        + (
            f", archived with matching hashes in {relative(ws, run_archive(ws, run_id))}"
            if same
            else " (no archived copy: moved to the archive)"
        ),
    )


def _rollout_items(
    ws: Workspace, model: str, going: set[str], model_retired: bool
) -> tuple[list[Item], list[Item]]:
    remove: list[Item] = []
    keep: list[Item] = []
    folder = ws.logs_dir / "rollouts" / model
    if not folder.is_dir():
        return remove, keep
    gone_all = True
    for spec_path in sorted(folder.glob("rollout-*/spec.json")):
        spec = read_json(spec_path) or {}
        state = read_json(spec_path.parent / "state.json") or {}
        runs = {str(spec.get(k)) for k in ("stable", "challenger") if spec.get(k)}
        files = sorted(p for p in spec_path.parent.rglob("*") if p.is_file())
        name = relative(ws, spec_path.parent)
        size = sum(p.stat().st_size for p in files)
        paths = [relative(ws, p) for p in files]
        status = str(state.get("status") or "")
        if status in ("running", "paused", "aborting", "promoting"):
            keep.append(Item("rollout", name, paths, size, "keep", f"the rollout is {status}"))
            gone_all = False
        elif not runs & going:
            gone_all = False
        elif runs <= going:
            remove.append(
                Item(
                    "rollout",
                    name,
                    paths,
                    size,
                    "move",
                    f"{status or 'ended'} rollout of {', '.join(sorted(runs))}, which go "
                    "(its verdict stays in reports/)",
                )
            )
        else:
            keep.append(
                Item(
                    "rollout",
                    name,
                    paths,
                    size,
                    "keep",
                    f"names {', '.join(sorted(runs - going))}, which stays",
                )
            )
            gone_all = False
    current = folder / "current.json"
    if model_retired and gone_all and current.is_file():
        remove.append(
            Item(
                "rollout",
                relative(ws, current),
                [relative(ws, current)],
                current.stat().st_size,
                "move",
                "the model's pointer to its newest rollout; the model has retired",
            )
        )
    return remove, keep


def _alert_items(ws: Workspace, model: str, going: set[str], model_retired: bool) -> list[Item]:
    from core.operations.alerts import alerts_dir

    found: list[Item] = []
    folder = alerts_dir(ws)
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("al-*.json")):
        raw = read_json(path)
        if not isinstance(raw, dict) or raw.get("model") != model:
            continue
        details = raw["details"] if isinstance(raw.get("details"), dict) else {}
        run_id = details.get("run_id")
        if model_retired or (run_id in going):
            found.append(
                Item(
                    "alert",
                    relative(ws, path),
                    [relative(ws, path)],
                    path.stat().st_size,
                    "move",
                    f"{raw.get('kind')} alert ({raw.get('state')}) raised for "
                    + (
                        f"{run_id}, which goes"
                        if run_id in going
                        else f"{model}, which has retired"
                    ),
                )
            )
    return found


def removal_list(ws: Workspace, model: str, *, apply: bool = False) -> RemovalList:
    """See the module docstring."""
    from core.operations.sunset.imports import only_imported_by, python_files
    from core.operations.sunset.retire import retired_runs
    from core.operations.sunset.succession import running_rollout_runs

    validate_name(model, "model")
    completed: list[str] = []
    if apply:
        completed = [_complete(ws, j) for j in _pending_journals(ws, model)]
    runs_of_model = _runs_of(ws, model)
    known = model in ws.config.models or runs_of_model
    if not known:
        from core.records.card_store import card_path

        if not card_path(ws, model).is_file():
            ws.model(model)  # raises unknown_model with the models there are
    retired = retired_runs(ws, model)
    live = _live_runs(ws)
    rolling = running_rollout_runs(ws)
    holds_tier = any(v.endswith(f" of {model}") for v in live.values())
    # A run of the model that succeeded a retired one serves on: the model has not retired.
    successors = {
        str(info.successor)
        for info in retired.values()
        if info.successor and info.successor_model == model and info.successor not in retired
    }
    model_retired = bool(retired) and not holds_tier and not successors
    going = set(retired)
    if model_retired:
        going |= {r for r in runs_of_model if r not in rolling}
    going -= set(live) | set(rolling) | successors
    notes: list[str] = []
    if not retired:
        notes.append(f"{model} has no retired run: nothing is used only by retired runs")
    remove: list[Item] = []
    keep: list[Item] = []
    if going:
        refs = _references(ws, model, going, model_retired, live, rolling)
        wanted: dict[tuple[str, str], None] = {}
        from core.experiments.index import list_runs

        for run in list_runs(ws, model):
            if run.run_id in going:
                for kind, version in (run.components or {}).items():
                    wanted[(kind, str(version))] = None
        dataset_goes: str | None = None
        if model_retired and model in ws.config.models:
            for kind, version in _config_components(ws, model).items():
                wanted[(kind, version)] = None
            dataset = ws.config.models[model].dataset
            users = [n for n, m in ws.config.models.items() if m.dataset == dataset and n != model]
            table = f"datasets.{dataset}"
            if not users:
                dataset_goes = dataset
                schema = ws.config.datasets[dataset].schema
                if schema:
                    wanted[("schemas", schema)] = None
            else:
                keep.append(
                    Item(
                        "config",
                        f"[{table}]",
                        ["factory.toml"],
                        0,
                        "keep",
                        f"used by {', '.join(users)}",
                    )
                )
        removed_files: list[Path] = []
        for kind, version in sorted(wanted):
            name = f"{kind}/{version}"
            path = _component_file(ws, kind, version)
            if path is None:
                if _builtin(kind, version):
                    keep.append(
                        Item(
                            "component",
                            name,
                            [],
                            0,
                            "keep",
                            "built-in (core/components): never removed",
                        )
                    )
                continue
            size = path.stat().st_size
            rel = relative(ws, path)
            reasons = refs.reasons(kind, version)
            if reasons:
                keep.append(Item("component", name, [rel], size, "keep", "; ".join(reasons)))
            else:
                removed_files.append(path)
                remove.append(
                    Item("component", name, [rel], size, "move", "used only by runs that go")
                )
        if removed_files:
            import core

            package = Path(core.__file__).resolve().parent
            roots = [ws.components_dir.resolve(), ws.root.resolve()]
            universe = python_files(ws.root)
            helpers, importers = only_imported_by(removed_files, universe, roots, [package])
            for helper in helpers:
                remove.append(
                    Item(
                        "module",
                        relative(ws, helper),
                        [relative(ws, helper)],
                        helper.stat().st_size,
                        "move",
                        "imported only by component versions that go",
                    )
                )
            for helper, by in sorted(importers.items()):
                shown = ", ".join(relative(ws, p) for p in by[:3])
                keep.append(
                    Item(
                        "module",
                        relative(ws, helper),
                        [relative(ws, helper)],
                        helper.stat().st_size,
                        "keep",
                        f"also imported by {shown}, which stays",
                    )
                )
        if model_retired and _table_present(ws, f"models.{model}"):
            remove.append(
                Item(
                    "config",
                    f"[models.{model}]",
                    ["factory.toml"],
                    0,
                    "edit",
                    f"{model} has retired",
                )
            )
        if dataset_goes and _table_present(ws, f"datasets.{dataset_goes}"):
            remove.append(
                Item(
                    "config",
                    f"[datasets.{dataset_goes}]",
                    ["factory.toml"],
                    0,
                    "edit",
                    f"no model but {model}, which has retired, uses it",
                )
            )
        gone, kept = _rollout_items(ws, model, going, model_retired)
        remove += gone
        keep += kept
        remove += _alert_items(ws, model, going, model_retired)
        for run_id in sorted(going):
            item = _artifact_item(ws, run_id)
            if item is not None:
                remove.append(item)
        for log, label in LOGS:
            gone, kept = _jsonl_items(ws, log, label, going)
            remove += gone
            keep += kept
    else:
        if retired:
            notes.append("every retired run is still named by a live tier or a running rollout")
    if not model_retired and retired:
        reason = (
            "the model still holds a tier"
            if holds_tier
            else f"the model serves on through {', '.join(sorted(successors))}"
            if successors
            else "the model serves on"
        )
        keep.append(Item("config", f"[models.{model}]", ["factory.toml"], 0, "keep", reason))
    size = sum(i.bytes for i in remove)
    result = RemovalList(
        model=model,
        retired_runs=sorted(retired),
        model_retired=model_retired,
        runs=sorted(going),
        remove=remove,
        keep=keep,
        bytes=size,
        completed=completed,
        pending=[] if apply else [str(j.get("removal_id")) for j in _pending_journals(ws, model)],
        notes=notes,
    )
    if not apply or not remove:
        return result
    return _apply(ws, result)


# ----------------------------------------------------------------------- applying


def _journals(ws: Workspace) -> list[tuple[Path, dict[str, Any]]]:
    folder = archive_dir(ws) / "removals"
    found = []
    if folder.is_dir():
        for path in sorted(folder.glob("rm-*/journal.json")):
            raw = read_json(path)
            if isinstance(raw, dict) and raw.get("schema") == JOURNAL_SCHEMA:
                found.append((path, raw))
    return found


def _pending_journals(ws: Workspace, model: str) -> list[dict[str, Any]]:
    return [j for _, j in _journals(ws) if j.get("model") == model and j.get("status") != "done"]


def _apply(ws: Workspace, listed: RemovalList) -> RemovalList:
    items = [i.to_dict() for i in listed.remove]
    for raw in items:
        log = _log_of(ws, raw)
        if log is not None:
            raw["withdraw"] = _compacted_sources(ws, log, [str(p) for p in raw["paths"]])
    removal_id = "rm-" + hash_inputs({"model": listed.model, "items": items})
    journal = {
        "schema": JOURNAL_SCHEMA,
        "removal_id": removal_id,
        "model": listed.model,
        "created_at": clock.iso(),
        "status": "applying",
        "runs": listed.runs,
        "items": items,
    }
    folder = removal_dir(ws, removal_id)
    if not (folder / "journal.json").is_file():
        write_json(folder / "journal.json", journal)
    crash_point("removal.after_journal", removal_id)
    done = _run_journal(ws, read_json(folder / "journal.json") or journal)
    return RemovalList(
        **{
            **{k: getattr(listed, k) for k in listed.__dataclass_fields__},
            "applied": True,
            "removal_id": removal_id,
            "journal": relative(ws, folder / "journal.json"),
            "manifest": relative(ws, folder / "manifest.json"),
            "done": done,
        }
    )


def _complete(ws: Workspace, journal: dict[str, Any]) -> str:
    _run_journal(ws, journal)
    return str(journal.get("removal_id"))


def _run_journal(ws: Workspace, journal: dict[str, Any]) -> list[dict[str, Any]]:
    """Do (or finish) every step of a journal, then write its manifest and mark it done."""
    removal_id = str(journal["removal_id"])
    folder = removal_dir(ws, removal_id)
    done: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []
    for raw in journal.get("items") or []:
        action = raw.get("action")
        if action == "edit":
            step = _cut_table(ws, folder, str(raw["name"]).strip("[]"))
            done.append({"item": raw["name"], "action": "edit", **step})
            if step.get("archived"):
                files.append(step["archived"])
            continue
        log = _log_of(ws, raw)
        for rel in raw.get("paths") or []:
            source = ws.root / rel
            if action == "delete":
                step = _delete_archived(ws, source, str(raw["name"]))
            else:
                target = folder / "files" / rel
                if log is not None:
                    moved = _move_log_file(ws, log, rel, target)
                else:
                    moved = move_in(ws, source, target)
                step = {
                    "moved": moved.get("moved"),
                    "sha256": moved["sha256"],
                    "bytes": moved["bytes"],
                }
                files.append(
                    {
                        "path": relative(ws, target)[len(relative(ws, folder)) + 1 :],
                        "source": rel,
                        "sha256": moved["sha256"],
                        "bytes": moved["bytes"],
                    }
                )
            done.append({"item": raw["name"], "path": rel, "action": action, **step})
            crash_point("removal.after_step", rel)
        if action == "delete":
            _prune(ws, ws.root / str(raw["name"]))
        if log is not None and action == "move":
            _withdraw(ws, log, [str(p) for p in raw.get("withdraw") or []], removal_id)
    manifest = {
        "schema": ARCHIVE_SCHEMA,
        "kind": "removal",
        "removal_id": removal_id,
        "model": journal.get("model"),
        "runs": journal.get("runs"),
        "applied_at": clock.iso(),
        "files": files,
        "steps": done,
    }
    write_in(folder / "manifest.json", manifest)
    crash_point("removal.after_manifest", removal_id)
    write_json(folder / "journal.json", {**journal, "status": "done"})
    emit(
        ws.events_dir,
        "sunset.removed",
        model=journal.get("model"),
        removal_id=removal_id,
        items=len(journal.get("items") or []),
        manifest=relative(ws, folder / "manifest.json"),
    )
    return done


def _log_of(ws: Workspace, raw: dict[str, Any]) -> str | None:
    """The log (`LOGS`) a journal item's files belong to, for a log item."""
    if raw.get("kind") != "log":
        return None
    for log, _label in LOGS:
        prefix = relative(ws, _log_folder(ws, log)) + "/"
        if all(str(p).startswith(prefix) for p in raw.get("paths") or []):
            return log
    return None


def _move_log_file(ws: Workspace, log: str, rel: str, target: Path) -> dict[str, Any]:
    """Move one log file into the archive: from disk, or, pruned, its lines from the
    compacted Parquet (written to the archive as the JSONL it was)."""
    source = ws.root / rel
    shadowed = rel.endswith(SHADOWED)
    if not shadowed and (source.exists() or target.is_file()):
        return move_in(ws, source, target)
    if target.is_file():
        return {"sha256": sha256_of(target), "bytes": target.stat().st_size, "moved": False}
    date = source.parent.name.removeprefix("date=")
    name = source.name.removesuffix(SHADOWED)
    folder = _log_folder(ws, log)
    found = [
        s
        for s in log_archive.log_sources(ws, log, folder, date, date)
        if s.name == name and s.path is None
    ]
    if not found:
        raise FactoryError(
            "archive_conflict",
            f"{rel} is neither on disk nor in the compacted log, and "
            f"{relative(ws, target)} does not hold it",
            hint="Something else removed the file during the removal; run "
            "`factory sunset removal-list MODEL` again to see what is left.",
            details={"source": rel, "target": str(target)},
        )
    with atomic_path(target) as tmp:
        tmp.write_bytes(found[0].data())
    return {"sha256": sha256_of(target), "bytes": target.stat().st_size, "moved": True}


def _compacted_sources(ws: Workspace, log: str, paths: list[str]) -> list[str]:
    """The compacted sources (`date=D/<file>`) whose lines are those of the files `paths`
    (read before anything moves, kept in the journal): a pruned file's, and a file's on disk
    that the manifest records as it is or was before it grew. Not the record of a pruned
    file whose name a newer file took: that one is listed apart (`SHADOWED`)."""
    entries = (log_archive.read_manifest(ws, log) or {}).get("partitions") or {}
    found = []
    for rel in paths:
        path = ws.root / rel
        date = path.parent.name.removeprefix("date=")
        name = path.name.removesuffix(SHADOWED)
        recorded = ((entries.get(date) or {}).get("sources") or {}).get(name)
        if not isinstance(recorded, dict):
            continue
        try:
            size: int | None = path.stat().st_size
        except OSError:
            size = None
        same = size is not None and not recorded.get("pruned")
        if (
            rel.endswith(SHADOWED)
            or size is None
            or (same and size >= int(recorded.get("size") or 0))
        ):
            found.append(f"date={date}/{name}")
    return found


def _withdraw(ws: Workspace, log: str, sources: list[str], removal_id: str) -> None:
    """The compacted lines of the moved files, out of every reader's sight."""
    digest = None
    if log == "inference":
        from core.operations.perf import last_logged_sql

        digest = last_logged_sql
    log_archive.withdraw(ws, log, sources, removal_id, digest)
    crash_point("removal.after_withdraw", log)


def _prune(ws: Workspace, folder: Path) -> None:
    """Remove a folder left empty by deletions (an artifact folder)."""
    if folder.is_dir() and not any(folder.rglob("*")):
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


def _delete_archived(ws: Workspace, source: Path, name: str) -> dict[str, Any]:
    """Delete an artifact file whose archived copy has the same bytes (checked now)."""
    run_id = Path(name).name
    if not source.exists():
        return {"deleted": False, "note": "already gone"}
    manifest = read_manifest(run_archive(ws, run_id) / "manifest.json") or {}
    inner = source.relative_to(ws.artifacts_dir / run_id).as_posix()
    entry = next(
        (f for f in manifest.get("files") or [] if f.get("path") == f"model/{inner}"), None
    )
    copy = run_archive(ws, run_id) / f"model/{inner}"
    digest = sha256_of(source)
    if (
        entry is None
        or entry.get("sha256") != digest
        or not copy.is_file()
        or sha256_of(copy) != digest
    ):
        raise FactoryError(
            "archive_conflict",
            f"{relative(ws, source)} no longer matches its archived copy in "
            f"{relative(ws, run_archive(ws, run_id))}: not deleted",
            hint=f"Run `factory sunset retire {run_id} ...` again to archive it, then --apply.",
            details={"path": relative(ws, source)},
        )
    source.unlink()
    return {"deleted": True, "sha256": digest}


_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-\s\"']+?)\s*\]\s*(#.*)?$")


def _cut_table(ws: Workspace, folder: Path, table: str) -> dict[str, Any]:
    """Cut `[table]` (and its sub-tables, with the comment lines just above it) out of
    factory.toml: the text goes to the archive first, factory.toml is rewritten whole and
    checked to parse to the same configuration less that table."""
    import tomllib

    path = ws.config_path
    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    section, _, name = table.partition(".")
    if not (isinstance(data.get(section), dict) and name in data[section]):
        return {"edited": False, "note": "already cut"}
    lines = text.splitlines(keepends=True)
    keep = [True] * len(lines)
    inside = False
    for index, line in enumerate(lines):
        match = _HEADER.match(line)
        if match and not line.lstrip().startswith("[["):
            header = re.sub(r"\s+", "", match.group(1))
            inside = header == table or header.startswith(table + ".")
            if inside:
                back = index - 1
                while back >= 0 and lines[back].lstrip().startswith("#") and keep[back]:
                    keep[back] = False
                    back -= 1
        if inside:
            keep[index] = False
    new_text = "".join(line for line, k in zip(lines, keep, strict=True) if k)
    cut = "".join(line for line, k in zip(lines, keep, strict=True) if not k)
    expected = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    expected[section] = {k: v for k, v in data[section].items() if k != name}
    try:
        parsed = tomllib.loads(new_text)
    except tomllib.TOMLDecodeError:
        parsed = None
    if parsed is not None and not parsed.get(section) and not expected[section]:
        parsed.pop(section, None)
        expected.pop(section, None)
    if parsed != expected:
        raise FactoryError(
            "config_invalid",
            f"{path}: [{table}] cannot be cut out safely (it is written inline or with dotted "
            "keys elsewhere)",
            hint=f"Remove [{table}] from {path.name} by hand, then run --apply again.",
            details={"file": str(path), "table": table},
        )
    target = folder / "files" / "factory.toml.removed" / f"{table}.toml"
    write_text(target, cut)
    crash_point("removal.before_config", table)
    write_text(path, new_text)
    return {
        "edited": True,
        "archived": {
            "path": relative(ws, target)[len(relative(ws, folder)) + 1 :],
            "source": f"factory.toml [{table}]",
            "sha256": sha256_of(target),
            "bytes": target.stat().st_size,
        },
    }


def archived_size(ws: Workspace) -> int:
    """Bytes held under archive/ (for the status line)."""
    return folder_size(archive_dir(ws))
