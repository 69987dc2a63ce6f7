"""What each screen shows, fetched from core and turned into the same plain data the
`--json` output carries (`core.render.to_plain`), so the TUI and an assistant read one truth.

These functions run in thread workers: they never touch widgets. Each returns plain dicts and
lists, and imports its core module when called, so the dashboard starts without loading what
a screen not yet shown needs.
"""

from __future__ import annotations

from typing import Any

from core.foundation.workspace import Workspace


def _plain(value: Any) -> Any:
    from core.foundation.plain import to_plain

    return to_plain(value)


def status(ws: Workspace) -> dict[str, Any]:
    """`factory status --json`: `data` plus the envelope's `next`."""
    from core.overview.status import workspace_status

    result = workspace_status(ws)
    data: dict[str, Any] = _plain(result)
    data["next"] = [n.to_dict() for n in result.next]
    return data


def runs(ws: Workspace, model: str | None = None) -> dict[str, Any]:
    """`factory runs [MODEL] --all --json`: `{model, count, best, running, runs}`. The table
    holds every run (it fills in slices), not only the CLI's default newest 1,000."""
    from core.experiments.queries import runs_table

    # Summaries are read from JSON, so `to_dict()` is already plain; walking 10,000 of them
    # through `to_plain` would cost most of a second.
    result: dict[str, Any] = runs_table(ws, model, limit=None).to_dict()
    return result


def run_report(ws: Workspace, run_id: str) -> dict[str, Any]:
    """`factory show RUN --json`: the whole report."""
    from core.experiments.queries import show_run

    report: dict[str, Any] = _plain(show_run(ws, run_id))
    return report


def run_curves(ws: Workspace, run_id: str) -> dict[str, Any]:
    """`factory curves RUN --json`: `{run_id, model, metric, folds: [{fold, learn,
    validation}], final}`."""
    from core.experiments.queries import run_curves as curves

    result: dict[str, Any] = _plain(curves(ws, run_id))
    return result


def compare(ws: Workspace, run_a: str, run_b: str) -> dict[str, Any]:
    """`factory compare A B --json`."""
    from core.verdicts.compare import compare_runs

    result: dict[str, Any] = _plain(compare_runs(ws, run_a, run_b))
    return result


def card(ws: Workspace, model: str) -> dict[str, Any]:
    """`factory card MODEL --json`."""
    from core.records.card_store import read_card

    result: dict[str, Any] = _plain(read_card(ws, model))
    return result


def card_summaries(ws: Workspace) -> list[dict[str, Any]]:
    """`factory cards --json` `cards`: models in factory.toml and card files."""
    from core.records.summary import list_cards

    return [_plain(summary) for summary in list_cards(ws)]


def adr_list(ws: Workspace) -> list[dict[str, Any]]:
    """`factory adr list --json` `adrs`."""
    from core.records.adrs import list_adrs

    return list(_plain(list_adrs(ws))["adrs"])


def adr_show(ws: Workspace, number: int) -> dict[str, Any]:
    """`factory adr show N --json`."""
    from core.records.adrs import AdrDetail, get_adr

    result: dict[str, Any] = _plain(AdrDetail(get_adr(ws, number)))
    return result


def history(
    ws: Workspace,
    since: str | None = "7d",
    *,
    include_read_only: bool = False,
    limit: int | None = 20,
) -> dict[str, Any]:
    """`factory history --since SINCE [--all] --json` (`since=None`: everything)."""
    from core.foundation.timeparse import resolve_range
    from core.overview.history import history as session_history

    time_range = resolve_range(since, None, None)
    result: dict[str, Any] = _plain(
        session_history(ws, time_range, include_read_only=include_read_only, limit=limit)
    )
    return result


def query(ws: Workspace, sql: str, limit: int = 1000) -> dict[str, Any]:
    """`factory query SQL --json`."""
    from core.lens.store import run_query

    result: dict[str, Any] = _plain(run_query(ws, sql, limit=limit))
    return result


def tables(ws: Workspace) -> list[dict[str, Any]]:
    from core.lens.store import list_tables

    return list(_plain(list_tables(ws))["tables"])


LIVE_SECTIONS = ("tiers", "perf", "rollout", "live", "degrading", "sunset")
"""What the Live screen shows of each model, in its order."""


def live_board(ws: Workspace) -> dict[str, Any]:
    """Per model in factory.toml: the `--json` data of `factory tiers MODEL`, `perf MODEL`,
    `rollout status MODEL` (None when it never had one), `live MODEL`, the newest recorded
    `check degrading` verdict of each run (run id -> verdict; the check itself writes and
    alerts, so the dashboard only reads what it left) and `sunset candidates MODEL`.
    A section that fails holds `{"error": message}`, so one broken file hides one part."""
    from core.foundation.errors import FactoryError
    from core.operations.feedback.degrading import latest_verdicts
    from core.operations.feedback.live import live
    from core.operations.perf import perf
    from core.operations.rollouts.actions import status as rollout_status
    from core.operations.sunset.candidates import sunset_candidates
    from core.operations.tier_state import tiers_at

    def newest_rollout(model: str) -> Any:
        try:
            return rollout_status(ws, model)
        except FactoryError as exc:
            if exc.code == "rollout_none":
                return None
            raise

    sources: dict[str, Any] = {
        "tiers": lambda model: tiers_at(ws, model),
        "perf": lambda model: perf(ws, model),
        "rollout": newest_rollout,
        "live": lambda model: live(ws, model),
        "degrading": lambda model: latest_verdicts(ws, model),
        "sunset": lambda model: sunset_candidates(ws, model),
    }
    models = []
    for name, config in ws.config.models.items():
        entry: dict[str, Any] = {
            "name": name,
            "task": config.task,
            "metric": config.primary_metric,
            "direction": config.direction,
        }
        for section in LIVE_SECTIONS:
            try:
                entry[section] = _plain(sources[section](name))
            except FactoryError as exc:
                entry[section] = {"error": exc.message + (f"\n{exc.hint}" if exc.hint else "")}
        models.append(entry)
    return {"models": models}
