"""Status section for live performance: how the serving run does on real traffic, whether it
is degrading, whether it is a sunset candidate, and which feedback command applies now.

Cheap by construction, because `status` runs first in every session: with no outcome file
in the workspace it lists two folders and reads nothing else (no numpy, DuckDB, pandas or
catboost); a `feedback join` suggestion needs only the first line of each outcome file and
the snapshot manifests. Once the model has outcomes, the figures come from the summaries
`feedback join` and `check degrading` leave (`logs/feedback/<model>/{live,degrading}.json`,
plain json); only when the live summary is older than the newest outcomes (after an
`ingest`) is `feedback.live.live` computed afresh, and sunset candidacy is
`sunset.candidates.sunset_candidates` itself, so every face gives the same verdicts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypedDict

from core.foundation.suggest import Next, factory, high, low
from core.foundation.workspace import Workspace

DEGRADING_WORDS = {"degrading": "yes", "not_degrading": "no", "insufficient": "inconclusive"}


class LiveBrief(TypedDict):
    """The serving run's live figures (`factory live`, `check degrading`, `sunset
    candidates`), for `status`."""

    run_id: str | None
    """The run the figures are of: prod, else staging, else the run with most labels."""
    tier: str | None
    """The tier it serves (None: it holds none now)."""
    logged_tier: str | None
    """The tier its predictions the figures are of were logged as (its serving tier when it
    has any there; a batch scored with `--tier dev` says dev)."""
    logged_count: int
    """Its logged predictions (as `logged_tier`)."""
    labelled_count: int
    """Of those, the ones with a joined outcome."""
    coverage: float | None
    """labelled_count / logged_count."""
    metric: str | None
    value: float | None
    """The realised primary metric on the labelled predictions."""
    interval: list[float | None]
    """Its 95% interval."""
    backtest: list[float | None]
    """[min, max] of the metric over the run's walk-forward folds."""
    position: str
    """Where the live value lies against that range: below_range (worse), within_range,
    above_range (better), or unknown."""
    degrading: str | None
    """yes, no or inconclusive (too few labels), from its newest `check degrading`; None:
    never checked."""
    degrading_labelled_count: int | None
    """Labelled predictions (of every tier) that check stood on (fewer than now: check
    again)."""
    degrading_checked_at: str | None
    sunset_candidate: bool | None
    """Whether `sunset candidates` makes it one (None: not considered)."""
    sunset_reasons: list[str]
    """The rules that failed, each with its numbers (`rule: reason`)."""
    as_of: str | None
    """When the live figures were computed."""


def _first_line(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as handle:
            raw = handle.readline()
        line = json.loads(raw)
    except (OSError, ValueError):
        return None
    return line if isinstance(line, dict) else None


def join_records(ws: Workspace, model: str) -> list[dict[str, Any]]:
    """The record (first line) of every outcome file of `model`, oldest first."""
    from core.operations.feedback.outcomes import outcome_files

    found = []
    for path in outcome_files(ws):
        record = _first_line(path)
        if record and record.get("kind") == "join" and record.get("model") == model:
            found.append(record)
    found.sort(key=lambda r: str(r.get("ts") or ""))
    return found


def _read(path: Path) -> dict[str, Any] | None:
    try:
        raw = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return raw if isinstance(raw, dict) else None


HEAD_BYTES = 65536
"""How far into an online log file to look for a model's record (its runs' records come
first in each file, written as a run is first served that day)."""


def _has_inference_log(ws: Workspace) -> bool:
    from core.foundation.log_archive import read_manifest

    folder = ws.inference_dir
    if folder.is_dir() and any(next(p.glob("*.jsonl"), None) for p in folder.glob("date=*")):
        return True
    return bool((read_manifest(ws, "inference") or {}).get("partitions"))


def logged_predictions(ws: Workspace, model: str) -> bool:
    """Whether the inference log holds a prediction of `model`, by the records that head its
    files (a batch file's first line; an online file's records, near its start): newest
    partition first, stopping at the first hit, never parsing a prediction line."""
    folder = ws.inference_dir
    needles = (f'"model":"{model}"'.encode(), f'"model": "{model}"'.encode())
    for part in sorted(folder.glob("date=*"), reverse=True) if folder.is_dir() else []:
        for path in part.glob("*.jsonl"):
            if path.name.startswith("."):
                continue
            try:
                with open(path, "rb") as handle:
                    head = handle.read(HEAD_BYTES if path.name.startswith("o-") else 4096)
            except OSError:
                continue
            if any(needle in head for needle in needles):
                return True
    # Files `factory compact --prune` deleted: their partitions' manifest entries name
    # the models they logged (`perf.last_logged_sql`).
    from core.foundation.log_archive import read_manifest

    entries = ((read_manifest(ws, "inference") or {}).get("partitions") or {}).values()
    return any(model in (entry.get("digest") or {}) for entry in entries)


def _newest_snapshot(ws: Workspace, dataset: str) -> dict[str, Any] | None:
    from core.overview.status import snapshot_manifests

    own = [m for m in snapshot_manifests(ws) if m.get("dataset") == dataset]
    return own[-1] if own else None


def _tiers(ws: Workspace, model: str) -> dict[str, Any]:
    from core.records.summary import card_summary

    tiers = card_summary(ws, model).tiers or {}
    return tiers if isinstance(tiers, dict) else {}


def _live_runs(ws: Workspace, model: str, newest_join: str) -> tuple[list[dict[str, Any]], str]:
    """The live summary's rows and its time; computed afresh when the summary is missing or
    older than the newest outcomes (an ingest writes none)."""
    from core.operations.feedback.live import summary_path

    summary = _read(summary_path(ws, model, "live"))
    if summary is not None and str(summary.get("as_of") or "") >= newest_join:
        runs = [r for r in summary.get("runs") or [] if isinstance(r, dict)]
        return runs, str(summary.get("as_of"))
    from core.foundation.errors import FactoryError
    from core.operations.feedback.live import brief, live

    try:
        found = brief(live(ws, model))
    except FactoryError:  # a run's report or metrics version gone: status still answers
        return [], str(summary.get("as_of")) if summary else ""
    return list(found["runs"]), str(found["as_of"])


def _serving(
    runs: list[dict[str, Any]], tiers: dict[str, Any]
) -> tuple[str | None, str | None, list[dict[str, Any]]]:
    """(the run to show, the tier it holds, its live rows: one per tier it was logged as)."""
    for tier in ("prod", "staging"):
        run_id = tiers.get(tier)
        if run_id:
            return str(run_id), tier, [r for r in runs if r.get("run_id") == run_id]
    if not runs:
        return None, None, []
    best = max(runs, key=lambda r: int(r.get("labelled") or 0))
    return str(best["run_id"]), None, [r for r in runs if r.get("run_id") == best["run_id"]]


def _join_steps(
    ws: Workspace, model: str, records: list[dict[str, Any]], logged: bool
) -> list[Next]:
    """`feedback join` when there are logged predictions and a snapshot no join of the model
    has read yet (labels of past predictions live only in newer data)."""
    if not logged or not logged_predictions(ws, model):
        return []
    newest = _newest_snapshot(ws, ws.model(model).dataset)
    if newest is None or not newest.get("id"):
        return []
    joins = [r for r in records if r.get("source") == "join"]
    if not records:
        return [
            Next(
                factory("feedback", "join", model),
                f"predictions are logged and no outcome of {model} is joined yet: take their "
                f"labels from the newest snapshot {newest['id']}",
            )
        ]
    if joins and joins[-1].get("snapshot_id") != newest["id"]:
        return [
            Next(
                factory("feedback", "join", model),
                f"{newest['id']} is newer than the snapshot of {model}'s last join "
                f"({joins[-1].get('snapshot_id')}): it may hold labels of more predictions",
            )
        ]
    return []


def _sunset(ws: Workspace, model: str, run_id: str) -> tuple[bool | None, list[str], list[str]]:
    """(candidate?, the failed rules, each as `rule: reason`) of `run_id`; None when the
    run is not considered (retired, never served) or the rules cannot be read."""
    from core.foundation.errors import FactoryError
    from core.operations.sunset.candidates import sunset_candidates

    try:
        found = next((c for c in sunset_candidates(ws, model).runs if c.run_id == run_id), None)
    except FactoryError:
        return None, [], []
    if found is None:
        return None, [], []
    failed = [c for c in found.checks if c.status == "fail"]
    return found.candidate, [c.rule for c in failed], [f"{c.rule}: {c.reason}" for c in failed]


def live_section(ws: Workspace, model: str) -> tuple[dict[str, Any], list[Next]]:
    records = join_records(ws, model)
    logged = _has_inference_log(ws)
    if not records and not logged:
        return {"live": None}, []  # nothing served, nothing joined: nothing to read
    more = _join_steps(ws, model, records, logged)
    if not records:
        return {"live": None}, more

    runs, as_of = _live_runs(ws, model, str(records[-1].get("ts") or ""))
    run_id, tier, rows = _serving(runs, _tiers(ws, model))
    own = [r for r in rows if r.get("tier") == tier]
    row = (own or sorted(rows, key=lambda r: -int(r.get("labelled") or 0)) or [{}])[0]
    # `check degrading` stands on every outcome of the run, whatever tier it was logged as.
    labelled_all = sum(int(r.get("labelled") or 0) for r in rows)

    from core.operations.feedback.live import summary_path

    checked = _read(summary_path(ws, model, "degrading")) or {}
    if checked.get("run_id") != run_id:
        checked = {}
    degrading = DEGRADING_WORDS.get(str(checked.get("verdict"))) if checked else None
    checked_on = checked.get("labelled") if isinstance(checked.get("labelled"), int) else None
    enough = labelled_all >= ws.config.feedback.min_labelled
    if run_id and tier and enough and (not checked or checked_on != labelled_all):
        why = (
            f"never checked on its {labelled_all} labelled predictions"
            if not checked
            else f"last checked on {checked_on} labelled predictions, {labelled_all} now"
        )
        more.append(
            Next(
                factory("check", "degrading", model),
                f"is {run_id} ({tier}) worse live than its backtest? {why}",
            )
        )

    candidate, rules, reasons = _sunset(ws, model, run_id) if run_id else (None, [], [])
    if candidate:
        more.append(
            high(
                factory("sunset", "candidates", model),
                f"{run_id} is a sunset candidate ({', '.join(rules)}): {reasons[0]}",
            )
        )
    elif degrading == "yes":
        more.append(
            low(
                factory("sunset", "candidates", model),
                f"{run_id} is degrading: whether it should leave service, rule by rule",
            )
        )
    logged_count = int(row.get("logged") or 0)
    labelled = int(row.get("labelled") or 0)
    brief = LiveBrief(
        run_id=run_id,
        tier=tier,
        logged_tier=row.get("tier"),
        logged_count=logged_count,
        labelled_count=labelled,
        coverage=(labelled / logged_count) if logged_count else None,
        metric=row.get("metric"),
        value=row.get("value"),
        interval=list(row.get("interval") or [None, None]),
        backtest=list(row.get("backtest") or [None, None]),
        position=str(row.get("position") or "unknown"),
        degrading=degrading,
        degrading_labelled_count=checked_on,
        degrading_checked_at=checked.get("checked_at") if checked else None,
        sunset_candidate=candidate,
        sunset_reasons=reasons,
        as_of=as_of,
    )
    return {"live": brief}, more
