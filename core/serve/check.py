"""`factory serve check MODEL`: is what is served the run that was judged?

Each served run (the model's staging and prod, and the runs of the last logged requests):

- `library:<name>`: the served Python, CatBoost, pandas, NumPy and pyarrow versions (a
  running server's, with `--url`; else this installation's, which `factory serve` would
  use) equal those in the run's report;
- `component:<kind>`: the served features and arch source hashes equal the run's;
- `inference`: the inference component that logged the requests is the one installed now;
- `online_equals_batch`: the last N logged online requests, scored again in batch through
  the same inference component on the same history (the server's seed snapshot, then the
  requests it received before, in order, per server process), give the logged predictions.

No logged online request is not a pass: the comparison is then inconclusive, and the check
fails (exit 1), as a gate never passes on no data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from core.foundation.errors import FactoryError
from core.foundation.ids import validate_name
from core.foundation.log_archive import LogSource
from core.foundation.workspace import Workspace

CHECKED_LIBRARIES = ("python", "catboost", "pandas", "numpy", "pyarrow")
"""What computes a prediction: a change in any may change one."""
TOLERANCE = 1e-9


@dataclass(frozen=True)
class CheckItem:
    name: str
    run_id: str | None
    value: Any
    """What is served."""
    expected: Any
    """What the run recorded."""
    passed: bool
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class ServeCheckResult:
    model: str
    passed: bool
    source: str
    """Where the served versions come from: a server's URL, or `this installation`."""
    runs: list[str]
    checks: list[CheckItem]
    compared: int
    """Logged online predictions scored again in batch."""
    mismatched: list[str] = field(default_factory=list)
    """Request ids whose batch prediction differs from the logged one."""
    max_abs_diff: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["checks"] = [c.to_dict() for c in self.checks]
        out["failed"] = [c.name for c in self.checks if not c.passed]
        return out


def _get(url: str, path: str) -> dict[str, Any]:
    import urllib.error
    import urllib.request

    target = url.rstrip("/") + path
    if not target.startswith(("http://", "https://")):
        raise FactoryError(
            "server_unreachable",
            f"{url!r} is not an http:// URL",
            hint="Give the URL `factory serve` printed, e.g. --url http://127.0.0.1:8000.",
        )
    try:
        with urllib.request.urlopen(target, timeout=10) as response:
            value = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise FactoryError(
            "server_unreachable",
            f"{target}: {exc}",
            hint="Is `factory serve` running there? It prints `serving on URL` when it listens.",
            details={"url": target},
        ) from None
    return value if isinstance(value, dict) else {}


def _online_lines(ws: Workspace, models: set[str]) -> list[tuple[LogSource, list[dict[str, Any]]]]:
    """Per online log file (oldest first; pruned ones read from the Parquet), its lines of
    `models`: records and predictions."""
    from core.operations.feedback.inference_log import inference_sources

    found = []
    for source in inference_sources(ws):
        if not source.name.startswith("o-"):
            continue
        lines = []
        for raw in source.data().split(b"\n")[:-1]:
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if isinstance(line, dict) and line.get("model") in models:
                lines.append(line)
        if lines:
            found.append((source, lines))
    found.sort(key=lambda item: str(item[1][0].get("ts") or ""))
    return found


def _requests(lines: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """A file's ok online lines grouped by request: a request's lines are consecutive, one
    write, rows numbered from 0."""
    out: list[list[dict[str, Any]]] = []
    for line in lines:
        if line.get("kind") or line.get("mode") != "online" or line.get("status") != "ok":
            continue
        if line.get("row") == 0 or not out:
            out.append([])
        out[-1].append(line)
    return out


def _replay(
    ws: Workspace, model: str, last: int
) -> tuple[int, list[str], float | None, set[str], list[str]]:
    """(compared, mismatched request ids, max abs diff, runs, notes) for the last `last`
    logged online predictions of `model`."""
    import numpy as np

    from core.data.snapshots import load_snapshot
    from core.operations.artifacts import refuse_changed
    from core.operations.common import load_run
    from core.operations.predict import load_scorer
    from core.serve.engine import Engine, ModelState
    from core.serve.history import POSITION, History

    config = ws.model(model)
    dataset = ws.config.datasets[config.dataset]
    same_data = {name for name, m in ws.config.models.items() if m.dataset == config.dataset}
    files = _online_lines(ws, same_data)
    wanted: list[tuple[LogSource, int, int]] = []
    for path, lines in files:
        for r, request in enumerate(_requests(lines)):
            for i, line in enumerate(request):
                if line.get("model") == model and line.get("prediction") is not None:
                    wanted.append((path, r, i))
    chosen = set(wanted[-last:]) if last > 0 else set()
    if not chosen:
        return 0, [], None, set(), []
    # The general paths (pandera, the pandas merge, no features memo): the check is a
    # witness of the server's shortcuts, not a second run of them.
    engine = Engine(ws, log=False, shadow_queue=0, fast_rows=False, memo=0)
    state = ModelState(model, config, dataset)
    scorers: dict[str, Any] = {}
    notes: list[str] = []
    compared, mismatched, worst = 0, [], 0.0
    for path, lines in files:
        if not any(key[0] == path for key in chosen):
            continue
        record = next((x for x in lines if x.get("kind") == "batch"), {})
        seed = ((record.get("history") or {}).get(dataset.name) or {}).get("snapshot_id")
        span = max((s.history for s in scorers.values()), default=_span())
        history = History(dataset, span, fast=False)
        if seed:
            try:
                history.seed(seed, load_snapshot(ws, str(seed)))
            except FactoryError:
                notes.append(f"{path.name}: its seed snapshot {seed} is gone; replayed without")
        for r, request in enumerate(_requests(lines)):
            rows = [line.get("input") or {} for line in request]
            try:
                frame = engine._validate(state, rows)
            except FactoryError as exc:
                notes.append(f"{path.name}: a logged request no longer validates: {exc.message}")
                continue
            checked = [(i, line) for i, line in enumerate(request) if (path, r, i) in chosen]
            if checked:
                merged = history.select(frame)
                positions = merged[POSITION].to_numpy()
                plain = merged.drop(columns=POSITION)
                for i, line in checked:
                    run_id = str(line.get("run_id"))
                    if run_id not in scorers:
                        report = load_run(ws, run_id)
                        scorers[run_id] = load_scorer(ws, report, refuse_changed(ws, report, True))
                    mask = positions == i
                    value = float(
                        scorers[run_id].score(
                            plain, mask, dataset.time_column, tuple(dataset.entity_columns)
                        )[0]
                    )
                    logged = float(line["prediction"])
                    diff = abs(value - logged) if np.isfinite(value) else float("inf")
                    compared += 1
                    worst = max(worst, diff)
                    if diff > TOLERANCE * max(1.0, abs(logged)):
                        mismatched.append(str(line.get("request_id")))
            history.add(frame)
    return compared, mismatched, worst if compared else None, set(scorers), notes


def _span() -> Any:
    from core.operations.predict import DEFAULT_HISTORY

    return DEFAULT_HISTORY


def check_serving(
    ws: Workspace, model: str, *, last: int = 100, url: str | None = None
) -> ServeCheckResult:
    from core.components.registry import get_component
    from core.operations.common import load_run
    from core.operations.predict import inference_version
    from core.operations.tier_state import read_tiers
    from core.serve.engine import versions

    validate_name(model, "model")
    ws.model(model)
    compared, mismatched, worst, replayed, notes = _replay(ws, model, last)
    tiers = read_tiers(ws, model)
    runs = sorted({r for r in (tiers.get("staging"), tiers.get("prod")) if r} | replayed)
    loaded: dict[str, Any] = {}
    if url is not None:
        served = _get(url, "/v1/health").get("versions") or {}
        loaded = _get(url, f"/v1/{model}/tiers").get("loaded") or {}
        source = url
    else:
        served = versions()
        source = "this installation"
    current_inference = get_component(ws, "inference", inference_version(ws, model))
    checks: list[CheckItem] = []
    for run_id in runs:
        report = load_run(ws, run_id)
        repro = report.get("reproducibility") or {}
        recorded = {"python": repro.get("python"), **(repro.get("libraries") or {})}
        for name in CHECKED_LIBRARIES:
            expected, value = recorded.get(name), served.get(name)
            checks.append(
                CheckItem(
                    f"library:{name}",
                    run_id,
                    value,
                    expected,
                    expected is not None and value == expected,
                    "" if expected is not None else "the run's report does not record it",
                )
            )
        components = report.get("components") or {}
        for kind in ("features", "arch"):
            entry = components.get(kind) or {}
            if url is not None and run_id in loaded:
                value = ((loaded[run_id].get("components") or {}).get(kind) or {}).get("hash")
                how = "as the server loaded it"
            else:
                try:
                    value = get_component(ws, kind, str(entry.get("version"))).hash
                except FactoryError:
                    value = None
                how = "the source installed now"
            checks.append(
                CheckItem(
                    f"component:{kind}",
                    run_id,
                    value,
                    entry.get("hash"),
                    value is not None and value == entry.get("hash"),
                    f"{kind}/{entry.get('version')}, {how}",
                )
            )
    logged_inference = _logged_inference(ws, model)
    checks.append(
        CheckItem(
            "inference",
            None,
            current_inference.hash,
            logged_inference,
            logged_inference in (None, current_inference.hash),
            f"{current_inference.ref} installed now"
            + ("" if logged_inference else "; no online record names one yet"),
        )
    )
    if compared:
        note = (
            f"{compared} logged online predictions scored again in batch; max |difference| "
            f"{worst:.3g}"
        )
    else:
        note = f"no logged online prediction of {model}: nothing to compare (inconclusive)"
    if notes:
        note += "; " + "; ".join(notes[:3])
    checks.append(
        CheckItem(
            "online_equals_batch",
            None,
            len(mismatched),
            0,
            compared > 0 and not mismatched,
            note,
        )
    )
    return ServeCheckResult(
        model=model,
        passed=all(c.passed for c in checks),
        source=source,
        runs=runs,
        checks=checks,
        compared=compared,
        mismatched=mismatched,
        max_abs_diff=worst,
    )


def _logged_inference(ws: Workspace, model: str) -> str | None:
    """The inference hash of the newest online record of `model`."""
    newest: tuple[str, str] | None = None
    for _, lines in _online_lines(ws, {model}):
        for line in lines:
            if line.get("kind") == "batch":
                found = (line.get("inference") or {}).get("hash")
                if found and (newest is None or str(line.get("ts")) >= newest[0]):
                    newest = (str(line.get("ts")), str(found))
    return newest[1] if newest else None
