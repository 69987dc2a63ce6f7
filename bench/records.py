"""Model card benchmark: opening (reading and parsing) the card of a model with 10,000 runs,
with no cache of any kind, median of several reads; beside it, the same runs in the
version-1 layout (every run's entry in the frontmatter), as cards were before adrs/0023.

The runs are small synthetic reports with their run index summaries (`summarize`), written
without fsync to keep the set-up short, then recorded on the card through `record_runs`, so
the card is what a real workspace holds.
Run with `python -m bench records` (or `make bench`).
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

RUNS = 10_000
READS = 7
TARGET_MS = 50.0


def build(root: Path, runs: int = RUNS) -> Any:
    """A workspace whose `rain` model has `runs` runs, every one recorded on its card."""
    from bench.tui import synthetic_report
    from core.experiments.index import summaries_dir, summarize
    from core.foundation.workspace import Workspace
    from core.foundation.workspace_init import init_workspace
    from core.records.runs import record_runs

    init_workspace(root)
    ws = Workspace(root)
    rng = random.Random(7)
    reports = []
    ws.reports_dir.mkdir(parents=True, exist_ok=True)
    summaries_dir(ws).mkdir(parents=True, exist_ok=True)
    for i in range(runs):
        report = {**synthetic_report(2 * i, rng), "run_id": f"r-{i:012x}"}  # even: rain
        name = f"{report['run_id']}.json"
        (ws.reports_dir / name).write_text(json.dumps(report), encoding="utf-8")
        (summaries_dir(ws) / name).write_text(json.dumps(summarize(report)), encoding="utf-8")
        reports.append(report)
    record_runs(ws, reports)
    return ws


def legacy_text(ws: Any, model: str = "rain") -> str:
    """The card's text in the version-1 layout: one entry per run in the frontmatter, each
    with every metric and the reproducibility block, as `record_run` wrote them."""
    from core.experiments.index import read_summaries
    from core.records import fileformat
    from core.records.card_store import read_card
    from core.records.entries import entry_from_summary

    card = read_card(ws, model)
    meta = {k: v for k, v in card.meta.items() if k not in ("card_format", "runs", "best_run")}
    repro = {"cpu": "AMD EPYC", "cpu_count": 2, "python": "3.11.7", "seed": 42,
             "git.commit": "c068fa6152cb348250df8276c17048dbdebaa8c0", "git.dirty": True,
             "libraries.catboost": "1.2.10", "libraries.pandas": "2.3.3"}  # fmt: skip
    meta["entries"] = [
        {**entry_from_summary(s), "metrics": s.get("metrics") or {}, "reproducibility": repro}
        for s in read_summaries(ws)
        if s.get("model") == model
    ]
    return fileformat.join(meta, card.body)


def cold_reads(ws: Any, model: str = "rain", reads: int = READS) -> list[float]:
    """Seconds per `read_card` (read the file, parse the YAML, check it); nothing is cached."""
    from core.records.card_store import read_card

    seconds = []
    for _ in range(reads):
        started = time.perf_counter()
        read_card(ws, model)
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    from core.records.card_store import card_path

    with tempfile.TemporaryDirectory(prefix="bench-records-") as tmp:
        started = time.perf_counter()
        ws = build(Path(tmp) / "ws")
        built = time.perf_counter() - started
        path = card_path(ws, "rain")
        slim = cold_reads(ws)
        slim_ms = statistics.median(slim) * 1000
        size = path.stat().st_size
        legacy = legacy_text(ws)
        path.write_text(legacy, encoding="utf-8")
        old = cold_reads(ws, reads=3)
        old_ms = statistics.median(old) * 1000
    verdict = "ok" if slim_ms < TARGET_MS else "SLOWER THAN TARGET"
    print(
        f"open the card of a model with {RUNS:,} runs: {slim_ms:.1f} ms median of {READS} "
        f"reads, no cache ({size / 1024:.0f} KiB; target < {TARGET_MS:.0f} ms: {verdict})"
    )
    print(
        f"the same runs in the version-1 layout (every entry in the frontmatter): "
        f"{old_ms:.0f} ms median of {len(old)} reads ({len(legacy) / 1024 / 1024:.1f} MiB)"
    )
    print(f"(building the workspace and recording {RUNS:,} runs took {built:.1f} s)")


if __name__ == "__main__":
    main()
