"""Synthetic runs and events in the real on-disk format, for the lens tests: a report per run
(with curves) and its index summary, events as JSON lines in date partitions."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core.foundation.atomic import append_line, write_json
from core.foundation.workspace import Workspace

ITERATIONS = 6


def report(run_id: str, n: int, model: str = "rain") -> dict[str, Any]:
    """A report with the keys the views read: folds with windows and scores, hparams, the
    primary metric, curves per fold."""
    rng = random.Random(n)
    folds, curves, scores = [], [], []
    for fold in range(3):
        auc = 0.6 + rng.random() * 0.2
        scores.append(auc)
        folds.append(
            {
                "fold": fold,
                "train": {"start": "2012-01-01", "end": f"2014-0{fold + 1}-01", "rows": 700 + fold},
                "test": {
                    "start": f"2014-0{fold + 1}-08",
                    "end": f"2014-0{fold + 3}-08",
                    "rows": 90,
                },
                "metrics": {"auc": auc, "logloss": 0.5 + rng.random() * 0.1},
            }
        )
        curves.append(
            {
                "fold": fold,
                "learn": [0.69 - 0.01 * i + rng.random() * 1e-3 for i in range(ITERATIONS)],
                "validation": [0.7 - 0.005 * i + rng.random() * 1e-3 for i in range(ITERATIONS)],
            }
        )
    mean = sum(scores) / len(scores)
    created = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n)
    return {
        "run_id": run_id,
        "model": model,
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "finished_at": (created + timedelta(seconds=9)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "snapshot_id": "ds-test",
        "plan_id": None,
        "seed": n,
        "components": {
            "features": {"version": "weather_v2", "hash": "f" * 16},
            "labels": {"version": "rain_tomorrow_v2", "hash": "l" * 16},
            "hparams": {"version": "h1", "hash": "h" * 16},
            "arch": {"version": "catboost_v1", "hash": "a" * 16},
            "metrics": {"version": "classification_v1", "hash": "m" * 16},
        },
        "primary_metric": {
            "name": "auc",
            "direction": "maximize",
            "mean": mean,
            "std": 0.01,
            "min": min(scores),
            "max": max(scores),
        },
        "metrics": {"aggregate": {"auc": {"mean": mean, "std": 0.01}}},
        "folds": folds,
        "hparams": {"depth": 3 + n % 4, "learning_rate": 0.03, "iterations": ITERATIONS},
        "timings": {"total_s": 9.0},
        "cost": {"cpu_seconds": 18.0, "cost": 0.0001},
        "latency": {"p50_ms": 0.2},
        "curves": {"metric": "Logloss", "folds": curves, "final": {"learn": [0.5] * ITERATIONS}},
    }


def write_run(ws: Workspace, run_id: str, n: int) -> dict[str, Any]:
    """A run as training leaves it: the report, then its index summary."""
    from core.experiments.index import write_summary

    body = report(run_id, n)
    write_json(ws.reports_dir / f"{run_id}.json", body)
    write_summary(ws, body)
    return body


def event_line(date: str, n: int, session: str, **data: Any) -> str:
    record = {
        "ts": f"{date}T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}.000Z",
        "session_id": session,
        "event": "test.event",
        "run_id": None,
        "model": "rain",
        "model_version": None,
        "request_id": None,
        "dataset_id": None,
        "command": None,
        "pid": 1,
        "data": {"n": n, **data},
    }
    return json.dumps(record, separators=(",", ":"))


def write_event(ws: Workspace, date: str, session: str, n: int, **data: Any) -> None:
    append_line(
        ws.events_dir / f"date={date}" / f"{session}.jsonl", event_line(date, n, session, **data)
    )


def days_ago(days: int) -> str:
    from core.foundation import clock

    return (clock.now() - timedelta(days=days)).strftime("%Y-%m-%d")


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }
