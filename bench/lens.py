"""The SQL lens at scale (issue 14 §1-2): cold `factory query` over runs, params, folds,
metrics and one run's curves at 1,000 and 10,000 runs, before compaction (the files alone),
after `factory compact`, and compacted with `LOOSE` newer runs beside the compaction;
`status --json` and `runs --json` beside them; MLflow's figures where MLflow is importable.

Every figure is a fresh process (`python -m core.cli.main ...`), median of `COLD_RUNS`.
The workspaces are synthetic but in the real on-disk format: the template reports come from
two real (tiny) trainings, and each generated run gets a report with 4 folds x 300 iterations
of learn and validation curves (`reports/<run_id>.json`, indented as `write_json` writes it),
its index summary (`.factory/index/runs/<run_id>.json`, `index.summarize`) and its
`run.started` / `run.finished` events; written without fsync to keep the set-up short.

Run with `python -m bench lens`. `FACTORY_BENCH_LENS_SIZES=10000,100000` picks the sizes
(default 1000,10000); `FACTORY_BENCH_LENS_DIR=/some/dir` keeps the generated workspaces there
and reuses them on the next call (10,000 runs are about 0.7 GB of reports, minutes to write).
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SIZES = (1_000, 10_000)
COLD_RUNS = int(os.environ.get("FACTORY_BENCH_LENS_COLD", "5"))
"""Cold processes per figure (the median is printed)."""
ITERATIONS = 300
FOLDS = 4
LOOSE = 50
"""Runs written after the compaction: what a workspace holds between two compactions."""
TARGETS_S = {10_000: 0.3, 100_000: 1.0}

HEADLINE = ("best run", "runs x params filter", "one run's curves (the SQL curves suggests)")
"""The issue's three questions: measured before compaction at every size."""
QUERIES: dict[str, str] = {
    "best run": "SELECT run_id, primary_mean FROM runs WHERE model = 'rain' "
    "ORDER BY primary_mean DESC LIMIT 1",
    "runs x params filter": "SELECT r.run_id, r.primary_mean, p.value AS depth FROM runs r "
    "JOIN params p USING (run_id) WHERE p.name = 'depth' AND p.value = '6' "
    "AND r.model = 'rain' ORDER BY r.primary_mean DESC LIMIT 10",
    "params effect (metrics x params)": "SELECT p.value AS depth, avg(m.value) AS auc, "
    "count(*) AS n FROM metrics m JOIN params p USING (run_id) WHERE p.name = 'depth' "
    "AND m.metric = 'auc' GROUP BY 1 ORDER BY 1",
    "metrics per fold": "SELECT fold, metric, avg(value) AS mean FROM metrics "
    "GROUP BY ALL ORDER BY ALL",
    "folds": "SELECT fold, min(test_start) AS first, sum(test_rows) AS rows FROM folds "
    "GROUP BY fold ORDER BY fold",
    "runs count": "SELECT model, count(*) AS n FROM runs GROUP BY model ORDER BY model",
    "one run's curves (the SQL curves suggests)": "SELECT fold, split, min(value) AS lowest, "
    "arg_min(iteration, value) AS at, count(*) AS trees FROM curves WHERE run_id = '{run}' "
    "GROUP BY ALL ORDER BY ALL",
}


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    for key in ("FACTORY_WORKSPACE", "FACTORY_NOW", "FACTORY_SESSION"):
        env.pop(key, None)
    return env


def _timed(args: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args[2:])} failed ({proc.returncode}): {proc.stdout}{proc.stderr}"
        )
    return elapsed


def factory(args: list[str], root: Path, runs: int = COLD_RUNS) -> float:
    """Median wall time of `runs` cold `factory ARGS` processes."""
    cmd = [sys.executable, "-m", "core.cli.main", *args]
    return statistics.median(_timed(cmd, root) for _ in range(runs))


# ----------------------------------------------------------------------- the workspace


def _templates(root: Path) -> dict[str, dict[str, Any]]:
    """One real report per model, from a tiny training in a scratch workspace."""
    from core.data.snapshots import create_snapshot
    from core.flows.training import train_run
    from core.foundation.workspace import Workspace
    from core.foundation.workspace_init import init_workspace

    scratch = root.parent / f".{root.name}-template"
    shutil.rmtree(scratch, ignore_errors=True)
    init_workspace(scratch)
    hparams = scratch / "components" / "hparams"
    hparams.mkdir(parents=True, exist_ok=True)
    (hparams / "tiny.toml").write_text("iterations = 20\ndepth = 3\n")
    ws = Workspace(scratch)
    create_snapshot(ws, "weather")
    found = {}
    for model in ("rain", "temp"):
        run = train_run(ws, model, hparams="tiny", thread_count=2)
        found[model] = json.loads((ws.reports_dir / f"{run.run_id}.json").read_text())
    shutil.rmtree(scratch, ignore_errors=True)
    return found


def _curve(rng: random.Random, start: float, floor: float) -> list[float]:
    rate = 0.005 + rng.random() * 0.02
    return [
        floor + (start - floor) * math.exp(-rate * i) + rng.gauss(0, 0.002)
        for i in range(ITERATIONS)
    ]


def synthetic_run(n: int, template: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """Run number `n` as its report: the template's shape, its own id, time, hyperparameters,
    fold scores and curves."""
    report = json.loads(json.dumps(template))
    run_id = f"r-{(n * 2654435761) % 16**12:012x}"
    created = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=37 * n)
    depth = 3 + (n // 3) % 6
    report.update(
        run_id=run_id,
        created_at=created.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        finished_at=(created + timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        seed=n,
        plan_id=None,
        hparams={
            "depth": depth,
            "iterations": ITERATIONS,
            "l2_leaf_reg": float(1 + n % 9),
            "learning_rate": round(0.01 + (n % 10) * 0.01, 2),
        },
    )
    primary = report["primary_metric"]["name"]
    sign = 1.0 if report["primary_metric"]["direction"] == "maximize" else -1.0
    per_metric: dict[str, list[float]] = {}
    curves = []
    for fold in report["folds"][:FOLDS]:
        for name, value in list(fold["metrics"].items()):
            shift = (0.01 * depth - 0.03) * sign if name == primary else 0.0
            fold["metrics"][name] = value * (0.95 + 0.1 * rng.random()) + shift
            per_metric.setdefault(name, []).append(fold["metrics"][name])
        curves.append(
            {
                "fold": fold["fold"],
                "learn": _curve(rng, 0.69, 0.3 + 0.1 * rng.random()),
                "validation": _curve(rng, 0.69, 0.45 + 0.1 * rng.random()),
            }
        )
    report["folds"] = report["folds"][:FOLDS]
    aggregate = {}
    for name, values in per_metric.items():
        mean = sum(values) / len(values)
        std = (sum((v - mean) ** 2 for v in values) / max(len(values) - 1, 1)) ** 0.5
        aggregate[name] = {
            "mean": mean,
            "std": std,
            "min": min(values),
            "max": max(values),
            "n": len(values),
        }
    report["metrics"]["aggregate"] = aggregate
    report["primary_metric"] = {**report["primary_metric"], **aggregate[primary]}
    report["primary_metric"].pop("n", None)
    report["curves"] = {
        "metric": report["curves"].get("metric"),
        "folds": curves,
        "final": {"learn": _curve(rng, 0.69, 0.3)},
    }
    return report


def _write_runs(args: tuple[str, int, int, int]) -> None:
    """Worker: runs [start, stop) of a workspace, every `step`-th (two processes share)."""
    root_text, start, stop, step = args
    from core.experiments.index import summaries_dir, summarize
    from core.foundation.workspace import Workspace

    root = Path(root_text)
    ws = Workspace(root)
    templates = json.loads((root / ".bench-templates.json").read_text())
    reports, summaries = ws.reports_dir, summaries_dir(ws)
    for n in range(start, stop, step):
        rng = random.Random(n)
        report = synthetic_run(n, templates["rain" if n % 3 else "temp"], rng)
        name = f"{report['run_id']}.json"
        text = json.dumps(report, indent=2, sort_keys=True, default=str) + "\n"
        (reports / name).write_text(text, encoding="utf-8")
        summary = json.dumps(summarize(report), indent=2, sort_keys=True, default=str) + "\n"
        (summaries / name).write_text(summary, encoding="utf-8")
        _write_events(ws.events_dir, report, n)


def _write_events(folder: Path, report: dict[str, Any], n: int) -> None:
    """`run.started` and `run.finished` of the run, in its day's partition, one session a
    hundred runs (as a sweep writes them)."""
    session = f"bench-sweep-{n // 100:05d}"
    day = (datetime.now(UTC) - timedelta(days=(n // 400) % 60 + 1)).strftime("%Y-%m-%d")
    lines = []
    for event in ("run.started", "run.finished"):
        record = {
            "ts": f"{day}T{report['created_at'][11:]}",
            "session_id": session,
            "event": event,
            "run_id": report["run_id"],
            "model": report["model"],
            "model_version": None,
            "request_id": None,
            "dataset_id": report.get("snapshot_id"),
            "command": "train",
            "pid": 1000 + n // 100,
            "data": {"primary": report["primary_metric"]["mean"]},
        }
        lines.append(json.dumps(record, separators=(",", ":")) + "\n")
    part = folder / f"date={day}"
    part.mkdir(parents=True, exist_ok=True)
    with open(part / f"{session}.jsonl", "a", encoding="utf-8") as handle:
        handle.write("".join(lines))


def build(root: Path, count: int, templates: dict[str, Any] | None = None) -> None:
    """A workspace at `root` holding `count` generated runs (more are added, none removed)."""
    from concurrent.futures import ProcessPoolExecutor

    from core.experiments.index import summaries_dir
    from core.foundation.workspace import Workspace
    from core.foundation.workspace_init import init_workspace

    init_workspace(root)
    ws = Workspace(root)
    marker = root / ".bench-templates.json"
    if not marker.exists():
        marker.write_text(json.dumps(templates or _templates(root)))
    ws.reports_dir.mkdir(parents=True, exist_ok=True)
    summaries_dir(ws).mkdir(parents=True, exist_ok=True)
    have = int((root / ".bench-runs").read_text()) if (root / ".bench-runs").exists() else 0
    if have >= count:
        return
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_write_runs, [(str(root), have + k, count, 2) for k in range(2)]))
    (root / ".bench-runs").write_text(str(count))


def run_ids(root: Path) -> list[str]:
    return sorted(p.name[:-5] for p in (root / "reports").glob("r-*.json"))


# ----------------------------------------------------------------------- measuring


def measure(root: Path, queries: dict[str, str], runs: int) -> dict[str, float]:
    return {name: factory(["query", sql, "--json"], root, runs) for name, sql in queries.items()}


def _settle() -> None:
    from core.foundation.stamps import RACY_NS

    time.sleep(RACY_NS / 1e9 + 0.2)


def _uncompact(root: Path) -> None:
    """Back to files only (a kept workspace may hold an earlier bench's compaction)."""
    shutil.rmtree(root / ".factory" / "lens", ignore_errors=True)
    shutil.rmtree(root / "logs" / "compacted", ignore_errors=True)


def mlflow_note() -> str:
    if importlib.util.find_spec("mlflow") is None:
        return (
            "MLflow: not installed in the bench environment (not a dependency); the issue's "
            "figures for MLflow 3.17 on SQLite at 10,000 runs: best run 5.6 s, runs x params "
            "join 2.3 s, one curve 2.6 s"
        )
    import mlflow

    return f"MLflow {mlflow.__version__} is importable: side-by-side figures not implemented"


def bench_size(root: Path, count: int, runs: int) -> dict[str, Any]:
    """Cold medians at `count` runs: files only (before), compacted (after), and compacted
    with `LOOSE` newer runs beside the compaction."""
    started = time.perf_counter()
    build(root, count)
    generated = time.perf_counter() - started
    _uncompact(root)
    ids = run_ids(root)
    queries = {k: v.replace("{run}", ids[len(ids) // 2]) for k, v in QUERIES.items()}
    _settle()
    factory(["runs", "--json"], root, 1)  # the run index publishes its own compaction
    _settle()
    result: dict[str, Any] = {"runs": len(ids), "generate_s": round(generated, 1)}
    result["floor_s"] = factory(["query", "SELECT 1 AS one", "--json"], root, runs)
    result["status_json_s"] = factory(["status", "--json"], root, runs)
    result["runs_json_s"] = factory(["runs", "--json"], root, runs)
    before = {k: v for k, v in queries.items() if k in HEADLINE} if count > 1_000 else queries
    result["before"] = measure(root, before, max(1, runs - 2))
    started = time.perf_counter()
    factory(["compact", "--json"], root, 1)
    result["compact_s"] = round(time.perf_counter() - started, 1)
    again = time.perf_counter()
    factory(["compact", "--json"], root, 1)
    result["compact_again_s"] = round(time.perf_counter() - again, 2)
    _settle()
    result["after"] = measure(root, queries, runs)
    result["status_json_after_s"] = factory(["status", "--json"], root, runs)
    result["runs_json_after_s"] = factory(["runs", "--json"], root, runs)
    build(root, count + LOOSE)
    _settle()
    result["after+loose"] = measure(root, {k: queries[k] for k in HEADLINE}, runs)
    _drop_runs(root, count, count + LOOSE)  # a kept workspace is reused at `count`
    return result


def _drop_runs(root: Path, start: int, stop: int) -> None:
    from core.experiments.index import summaries_dir
    from core.foundation.workspace import Workspace

    ws = Workspace(root)
    for n in range(start, stop):
        name = f"r-{(n * 2654435761) % 16**12:012x}.json"
        for folder in (ws.reports_dir, summaries_dir(ws)):
            (folder / name).unlink(missing_ok=True)
    (root / ".bench-runs").write_text(str(start))


def _print(row: dict[str, Any]) -> None:
    count = row["runs"]
    target = TARGETS_S.get(count)
    print(
        f"{count:>7} runs (4 folds x {ITERATIONS} iterations of curves; generated in "
        f"{row['generate_s']} s)"
    )
    print(
        f"  status --json {row['status_json_s']:.3f} s (after compaction "
        f"{row['status_json_after_s']:.3f} s), runs --json {row['runs_json_s']:.3f} s "
        f"(after {row['runs_json_after_s']:.3f} s)"
    )
    print(f"  floor (a cold `factory query` of SELECT 1, no view): {row['floor_s']:.3f} s")
    print(
        f"  factory compact: {row['compact_s']} s from nothing, {row['compact_again_s']} s "
        "with nothing new"
    )
    head = f"    {'query (cold process, median)':<46} {'before':>8} {'after':>8} {'ratio':>7}"
    print(head + f" {'+' + str(LOOSE) + ' newer':>10}" + ("  target" if target else ""))
    for name, after in row["after"].items():
        before = row["before"].get(name)
        loose = row["after+loose"].get(name)
        cells = f"    {name:<46} "
        cells += f"{before:>7.3f}s " if before is not None else f"{'-':>8} "
        cells += f"{after:>7.3f}s "
        cells += f"{after / before:>7.3f}" if before else f"{'-':>7}"
        cells += f" {loose:>9.3f}s" if loose is not None else f" {'-':>10}"
        if target:
            worst = max(after, loose or 0.0)
            cells += f"  {target} s {'ok' if worst <= target else 'OVER'}"
        print(cells)


def main() -> None:
    sizes = (
        tuple(
            int(s) for s in os.environ.get("FACTORY_BENCH_LENS_SIZES", "").split(",") if s.strip()
        )
        or SIZES
    )
    keep = os.environ.get("FACTORY_BENCH_LENS_DIR")
    base = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="bench-lens-"))
    base.mkdir(parents=True, exist_ok=True)
    try:
        for count in sizes:
            root = base / f"ws-{count}"
            row = bench_size(root, count, COLD_RUNS if count <= 10_000 else 3)
            _print(row)
        print(mlflow_note())
    finally:
        if not keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
