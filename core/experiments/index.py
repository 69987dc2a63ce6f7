"""The run index: small per-run summaries, compacted, so `status` and `runs` stay fast.

Reports (`reports/<run_id>.json`) are the truth and hold bulky curves. Each run also gets a
summary (`.factory/index/runs/<run_id>.json`, a few hundred bytes) written right after its
report; a missing or stale summary is rebuilt from the report. Reading 10,000 loose files
costs more than a cold process may spend, so readers fold the summaries into one compacted
file per generation (`.factory/index/compact/runs-<gen>.json`) and publish it by atomically
replacing a small manifest naming the generation; a reader follows the manifest, so it never
sees half a compaction and never counts a run twice (adrs/0009-run-index.md). Plain `json`
only: this module is imported by `factory status`.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.experiments.report_json import upgrade
from core.foundation import stamps
from core.foundation.atomic import write_json, write_text
from core.foundation.errors import FactoryError
from core.foundation.ids import validate_name
from core.foundation.log_archive import manifest_at
from core.foundation.workspace import Workspace

SUMMARY_VERSION = 2
COMPACT_FORMAT = 2
KEEP_GENERATIONS = 2
"""Older generations are deleted; the previous one stays for readers that just read the
manifest pointing at it."""


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    model: str
    created_at: str | None
    """When the run's training started."""
    finished_at: str | None
    snapshot_id: str | None
    plan_id: str | None
    components: dict[str, str]
    """kind -> version (features, labels, hparams, arch, metrics)."""
    component_hashes: dict[str, str]
    primary: dict[str, Any]
    """`{name, direction, mean, std, min, max}` of the model's primary metric."""
    metrics: dict[str, float | None]
    """Mean over folds of every metric."""
    seed: int | None = None
    duration_s: float | None = None
    cpu_seconds: float | None = None
    cost: float | None = None
    latency_p50_ms: float | None = None
    component_changed: list[str] = field(default_factory=list)
    cohort: str | None = None
    """Runs with the same cohort share snapshot, validation settings and labels: only they
    are compared, ranked or paired (`cohort_key`)."""
    leaky: bool = False
    """Trained on a features version that failed the point-in-time check (never best)."""
    baselines: dict[str, Any] | None = None
    """`{best, skill, verdict, estimate}` of the run against its best naive baseline."""

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RunSummary:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in raw.items() if k in names})

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def index_dir(ws: Workspace) -> Path:
    return ws.state_dir / "index"


def summaries_dir(ws: Workspace) -> Path:
    return index_dir(ws) / "runs"


def markers_dir(ws: Workspace) -> Path:
    return ws.state_dir / "runs"


def report_path(ws: Workspace, run_id: str) -> Path:
    return ws.reports_dir / f"{validate_name(run_id, 'run id')}.json"


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if value == value and abs(value) != float("inf") else None


def cohort_key(snapshot_id: Any, validation: Any, labels: Any) -> str:
    """What two runs must share to be compared: the same rows, folds and target."""
    from core.foundation.ids import hash_inputs

    return (
        "c-"
        + hash_inputs(
            {"snapshot_id": snapshot_id, "validation": validation or {}, "labels": labels}
        )[:8]
    )


def _baseline_brief(report: dict[str, Any]) -> dict[str, Any] | None:
    baselines = report.get("baselines")
    if not isinstance(baselines, dict):
        return None
    versus = baselines.get("versus_best") or {}
    return {
        "best": baselines.get("best"),
        "skill": _num(baselines.get("skill")),
        "verdict": versus.get("verdict"),
        "improvement": _num(versus.get("improvement")),
        "method": versus.get("method"),
    }


def summarize(report: dict[str, Any]) -> dict[str, Any]:
    """The summary of a full report: what `runs`, `status` and the views need."""
    components = report.get("components") or {}
    aggregate = (report.get("metrics") or {}).get("aggregate") or {}
    folds = []
    for fold in report.get("folds") or []:
        train = fold.get("train") or {}
        test = fold.get("test") or {}
        folds.append(
            {
                "fold": fold.get("fold"),
                "train_start": train.get("start"),
                "train_end": train.get("end"),
                "train_rows": train.get("rows"),
                "test_start": test.get("start"),
                "test_end": test.get("end"),
                "test_rows": test.get("rows"),
                "metrics": {k: _num(v) for k, v in (fold.get("metrics") or {}).items()},
                "flags": [str(f) for f in fold.get("flags") or []],
            }
        )
    cost = report.get("cost") or {}
    latency = report.get("latency") or {}
    return {
        "summary_version": SUMMARY_VERSION,
        "run_id": report["run_id"],
        "model": report.get("model"),
        "created_at": report.get("created_at"),
        "finished_at": report.get("finished_at"),
        "snapshot_id": report.get("snapshot_id"),
        "plan_id": report.get("plan_id"),
        "components": {
            k: (v.get("version") if isinstance(v, dict) else v) for k, v in components.items()
        },
        "component_hashes": {
            k: v.get("hash") for k, v in components.items() if isinstance(v, dict)
        },
        "primary": dict(report.get("primary_metric") or {}),
        "metrics": {k: _num((v or {}).get("mean")) for k, v in aggregate.items()},
        "folds": folds,
        "params": dict(report.get("hparams") or {}),
        "seed": report.get("seed"),
        "duration_s": _num((report.get("timings") or {}).get("total_s")),
        "cpu_seconds": _num(cost.get("cpu_seconds")),
        "cost": _num(cost.get("cost")),
        "latency_p50_ms": _num(latency.get("p50_ms")),
        "component_changed": [
            str(c.get("ref")) if isinstance(c, dict) else str(c)
            for c in report.get("component_changed") or []
        ],
        "schema": report.get("schema"),
        "cohort": cohort_key(
            report.get("snapshot_id"),
            report.get("validation"),
            (components.get("labels") or {}).get("version")
            if isinstance(components.get("labels"), dict)
            else components.get("labels"),
        ),
        "leaky": isinstance(report.get("leaky"), dict),
        "baselines": _baseline_brief(report),
    }


SLIM_KEYS = (
    "run_id", "model", "created_at", "finished_at", "snapshot_id", "plan_id", "components",
    "component_hashes", "primary", "metrics", "seed", "duration_s", "cpu_seconds", "cost",
    "latency_p50_ms", "component_changed", "cohort", "leaky", "baselines",
)  # fmt: skip
"""What `runs` and `status` need; the loose summaries also hold folds and params for the SQL
views, which the compacted file leaves out to stay small."""


def slim(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: summary.get(k) for k in SLIM_KEYS}


def write_summary(ws: Workspace, report: dict[str, Any]) -> dict[str, Any]:
    summary = summarize(report)
    write_json(summaries_dir(ws) / f"{summary['run_id']}.json", summary)
    _CACHE.pop(ws.root, None)
    return summary


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def _scan(folder: Path, suffix: str) -> dict[str, os.DirEntry[str]]:
    if not folder.is_dir():
        return {}
    with os.scandir(folder) as entries:
        return {
            e.name[: -len(suffix)]: e
            for e in entries
            if e.name.endswith(suffix) and e.name.startswith("r-")
        }


def _read_manifest(ws: Workspace) -> dict[str, Any] | None:
    return manifest_at(index_dir(ws) / "manifest.json", COMPACT_FORMAT)


def _read_compact(ws: Workspace) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
    """(manifest, run_id -> {"mtime": ns, "summary": {...}}) of the published compaction."""
    for _attempt in range(3):
        manifest = _read_manifest(ws)
        if manifest is None:
            return None, {}
        data = _read_json(index_dir(ws) / "compact" / f"runs-{manifest['generation']}.json")
        if (
            isinstance(data, dict)
            and data.get("format") == COMPACT_FORMAT
            and isinstance(data.get("runs"), dict)
        ):
            return manifest, data["runs"]
        # A compaction replaced the manifest and removed this generation between our reads.
    return None, {}


def stats_by_model(ordered: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per model: run count, the last run, and per cohort the best run by mean primary metric
    (a leaky run is never best). `best` is the best of the newest run's cohort, so a
    comparison never mixes runs on other data, folds or labels; `preferred_best` picks the
    cohort the workspace's settings point at."""
    stats: dict[str, dict[str, Any]] = {}
    for summary in ordered:
        model = str(summary.get("model"))
        entry = stats.setdefault(
            model, {"runs": 0, "best": None, "last": None, "best_by_cohort": {}, "leaky": 0}
        )
        entry["runs"] += 1
        entry["last"] = summary
        if summary.get("leaky"):
            entry["leaky"] += 1
            continue
        primary = summary.get("primary") or {}
        mean = _num(primary.get("mean"))
        if mean is None:
            continue
        cohort = str(summary.get("cohort"))
        best = entry["best_by_cohort"].get(cohort)
        if best is None or _better(primary.get("direction"), mean, best["primary"]["mean"]):
            entry["best_by_cohort"][cohort] = summary
        entry["last_cohort"] = cohort
    for entry in stats.values():
        entry["best"] = entry["best_by_cohort"].get(entry.get("last_cohort"))
    return stats


def preferred_best(
    entry: dict[str, Any], cohort: str | None
) -> tuple[dict[str, Any] | None, str | None]:
    """(best run, its cohort): of `cohort` (the one the workspace's newest snapshot and current
    settings give) when it has runs, else of the newest run's cohort."""
    by_cohort = entry.get("best_by_cohort") or {}
    if cohort is not None and by_cohort.get(cohort) is not None:
        return by_cohort[cohort], cohort
    fallback = entry.get("last_cohort")
    return by_cohort.get(fallback) if fallback else None, fallback


def current_cohort(ws: Workspace, model: str) -> str | None:
    """The cohort the workspace points at for `model`: its dataset's newest snapshot, today's
    `[validation]` settings and the model's labels (None without a snapshot)."""
    config = ws.config.models.get(model)
    if config is None:
        return None
    newest = _newest_snapshot(ws, config.dataset)
    if newest is None:
        return None
    from core.experiments.walkforward import validation_settings

    return cohort_key(newest, validation_settings(ws.config.validation), config.labels)


def _newest_snapshot(ws: Workspace, dataset: str) -> str | None:
    """The snapshot reaching furthest in time (plain json over manifests)."""
    best: tuple[str, str, str] | None = None
    if not ws.snapshots_dir.is_dir():
        return None
    for path in ws.snapshots_dir.glob("ds-*/manifest.json"):
        manifest = _read_json(path)
        if not isinstance(manifest, dict) or manifest.get("dataset") != dataset:
            continue
        key = (
            str((manifest.get("time_range") or ["", ""])[1]),
            str(manifest.get("created_at") or ""),
            str(manifest.get("id")),
        )
        if best is None or key > best:
            best = key
    return best[2] if best else None


def _compact(
    ws: Workspace,
    generation: int,
    stamp: tuple[int, int] | None,
    runs: dict[str, dict[str, Any]],
    ordered: list[dict[str, Any]],
) -> None:
    folder = index_dir(ws) / "compact"
    new_generation = generation + 1
    body = {"format": COMPACT_FORMAT, "generation": new_generation, "runs": runs}
    # One line, no indentation: this file is read by commands, never by people.
    write_text(folder / f"runs-{new_generation}.json", json.dumps(body, separators=(",", ":")))
    manifest = {
        "format": COMPACT_FORMAT,
        "generation": new_generation,
        "runs": len(runs),
        "stamp": list(stamp) if stamp is not None else None,
        "models": stats_by_model(ordered),
    }
    write_json(index_dir(ws) / "manifest.json", manifest)
    for path in folder.glob("runs-*.json"):
        with contextlib.suppress(ValueError, OSError):
            if int(path.stem.split("-", 1)[1]) <= new_generation - KEEP_GENERATIONS:
                path.unlink()


_CACHE: dict[Path, tuple[tuple[int, int], list[dict[str, Any]]]] = {}
"""Per workspace: (mtimes of the reports and summaries folders, summaries). Every write is a
rename into one of those folders, which changes its mtime; only settled mtimes are stored
(`core.foundation.stamps`), so a write in the same tick cannot hide behind an unchanged one. Other
processes' writes need no signal: a long-lived reader (the dashboard) just reads again."""


def _folder_stamp(ws: Workspace) -> tuple[int, int]:
    mtimes = []
    for folder in (ws.reports_dir, summaries_dir(ws)):
        try:
            mtimes.append(folder.stat().st_mtime_ns)
        except OSError:
            mtimes.append(0)
    return mtimes[0], mtimes[1]


def read_summaries(ws: Workspace) -> list[dict[str, Any]]:
    """Every run's slim summary (`SLIM_KEYS`) as a plain dict, oldest first. Uses the
    compaction as is when the folders are unchanged since it was published; otherwise scans,
    rebuilds missing or stale summaries from reports, and publishes a new compaction."""
    stamp = _folder_stamp(ws)
    settled = stamps.settled(*stamp)
    cached = _CACHE.get(ws.root)
    if settled and cached is not None and cached[0] == stamp:
        return cached[1]
    manifest, compact = _read_compact(ws)
    if settled and manifest is not None and manifest.get("stamp") == list(stamp):
        # Nothing was added, removed or rewritten since this compaction was published.
        ordered = sorted(
            (v["summary"] for v in compact.values()),
            key=lambda s: (str(s.get("created_at") or ""), s["run_id"]),
        )
        _CACHE[ws.root] = (stamp, ordered)
        return ordered
    reports = _scan(ws.reports_dir, ".json")
    loose = _scan(summaries_dir(ws), ".json")
    result: dict[str, dict[str, Any]] = {}
    fresh: dict[str, dict[str, Any]] = {}
    read_loose = 0
    for run_id, report_entry in reports.items():
        entry = loose.get(run_id)
        if entry is None:
            report = _read_json(Path(report_entry.path))
            if not isinstance(report, dict) or report.get("run_id") != run_id:
                continue  # not a run report (or a torn hand edit): nothing to index
            summary = summarize(report)
            mtime = 0
            read_loose += 1
            with contextlib.suppress(OSError):
                write_summary(ws, report)
                mtime = (summaries_dir(ws) / f"{run_id}.json").stat().st_mtime_ns
        else:
            mtime = entry.stat().st_mtime_ns
            held = compact.get(run_id)
            if held is not None and held.get("mtime") == mtime:
                result[run_id] = held["summary"]
                fresh[run_id] = held
                continue
            summary = _read_json(Path(entry.path))
            read_loose += 1
            if not isinstance(summary, dict) or summary.get("summary_version") != SUMMARY_VERSION:
                report = _read_json(Path(report_entry.path))
                if not isinstance(report, dict) or report.get("run_id") != run_id:
                    continue
                summary = write_summary(ws, report)
                mtime = (summaries_dir(ws) / f"{run_id}.json").stat().st_mtime_ns
        summary = slim(summary)
        result[run_id] = summary
        fresh[run_id] = {"mtime": mtime, "summary": summary}
    ordered = sorted(result.values(), key=lambda s: (str(s.get("created_at") or ""), s["run_id"]))
    published = manifest.get("stamp") if manifest else None
    if result and (read_loose or published != list(stamp) or len(compact) != len(result)):
        # Publish what we just read, stamped with the folders' state before the scan: the
        # next reader whose folders still carry that stamp needs no scan at all. A stamp too
        # recent to trust is published as none, so no reader takes it as a match.
        with contextlib.suppress(OSError):
            generation = manifest["generation"] if manifest else 0
            runs = {k: v for k, v in fresh.items() if v["mtime"]}
            _compact(ws, generation, stamp if settled else None, runs, ordered)
    if settled:
        # The stamp from before the scan: a run written during the scan changes it.
        _CACHE[ws.root] = (stamp, ordered)
    return ordered


def list_runs(ws: Workspace, model: str | None = None) -> list[RunSummary]:
    """Run summaries (of `model`), oldest first."""
    if model is not None:
        validate_name(model, "model")
    return [
        RunSummary.from_dict(s)
        for s in read_summaries(ws)
        if model is None or s.get("model") == model
    ]


def _better(direction: str | None, a: float, b: float) -> bool:
    return a < b if direction == "minimize" else a > b


def model_stats(ws: Workspace, model: str) -> dict[str, Any]:
    """`{runs, best, last, cohort, leaky}` of a model (slim summaries or None), from the manifest
    alone when nothing changed since the last compaction: what `status` needs at 10,000
    runs. `best` is the best non-leaky run of the cohort the workspace points at."""
    stamp = _folder_stamp(ws)
    cached = _CACHE.get(ws.root)
    entry: dict[str, Any] | None = None
    if cached is None or cached[0] != stamp:
        manifest = _read_manifest(ws)
        if manifest is not None and manifest.get("stamp") == list(stamp):
            entry = dict((manifest.get("models") or {}).get(model) or {})
    if entry is None:
        stats = stats_by_model([s for s in read_summaries(ws) if s.get("model") == model])
        entry = stats.get(model) or {}
    best, cohort = preferred_best(entry, current_cohort(ws, model))
    return {
        "runs": entry.get("runs", 0),
        "best": best,
        "last": entry.get("last"),
        "cohort": cohort,
        "leaky": entry.get("leaky", 0),
    }


def best_run(ws: Workspace, model: str) -> RunSummary | None:
    """The run with the best mean primary metric among the comparable, non-leaky runs (None
    when no run has one)."""
    best = model_stats(ws, model).get("best")
    return RunSummary.from_dict(best) if isinstance(best, dict) else None


def resolve_run_id(ws: Workspace, ref: str) -> str:
    """A run id from its full form or a unique prefix (`r-3fa`)."""
    validate_name(ref, "run id")
    if report_path(ws, ref).is_file():
        return ref
    matches = sorted(k for k in _scan(ws.reports_dir, ".json") if k.startswith(ref))
    if len(matches) == 1:
        return matches[0]
    raise FactoryError(
        "unknown_run" if not matches else "ambiguous_run",
        f"No run {ref!r} in {ws.reports_dir}"
        if not matches
        else f"{ref!r} matches {len(matches)} runs: {', '.join(matches[:5])}",
        hint="List runs with `factory runs`.",
        details={"run": ref, "matches": matches[:20]},
    )


def load_report(ws: Workspace, run_id: str) -> dict[str, Any]:
    """The full report of a run (id or unique prefix)."""
    run_id = resolve_run_id(ws, run_id)
    path = report_path(ws, run_id)
    report = _read_json(path)
    if not isinstance(report, dict):
        raise FactoryError(
            "report_invalid",
            f"{path}: not a JSON object (hand-edited or damaged)",
            hint=f"Restore it from git (`git checkout -- {path}`), or train {run_id}'s "
            "components again with --force.",
            details={"path": str(path)},
        )
    return upgrade(report)


# ----------------------------------------------------------------------- running markers


def pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_markers(ws: Workspace, model: str | None = None) -> list[dict[str, Any]]:
    """Runs that started and have not finished: `{..marker, state}` with state `running`
    (its process lives) or `interrupted` (it died before writing its report)."""
    found: list[dict[str, Any]] = []
    folder = markers_dir(ws)
    markers = sorted(folder.glob("r-*.running.json")) if folder.is_dir() else []
    if not markers:
        return found
    import socket  # only when there are markers: `status` calls this on every sitting

    host = socket.gethostname()
    for path in markers:
        marker = _read_json(path)
        if not isinstance(marker, dict) or (model is not None and marker.get("model") != model):
            continue
        run_id = str(marker.get("run_id") or path.name.split(".", 1)[0])
        done = (ws.reports_dir / f"{run_id}.json").is_file() and not marker.get("force")
        alive = marker.get("host") != host or pid_alive(marker.get("pid"))
        if done and not alive:
            continue  # finished; only the marker's removal was lost
        found.append({**marker, "run_id": run_id, "state": "running" if alive else "interrupted"})
    return found
