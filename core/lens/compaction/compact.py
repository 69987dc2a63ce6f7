"""`factory compact`: the run tables and every log family, compacted and published
(adrs/0028); with `prune`, the JSONL whose lines the published Parquet holds is deleted."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from core.foundation.log_archive import PRUNE_KEEP_DAYS
from core.foundation.workspace import Workspace
from core.lens.compaction import publish
from core.lens.compaction.logs import LogCompaction, compact_family
from core.lens.compaction.runs import (
    AUTO_LOOSE,
    AUTO_MAX_RUNS,
    AUTO_MERGE_MAX,
    RunCompaction,
    compact_runs,
    loose_count,
)


@dataclass(frozen=True)
class CompactResult:
    """What `factory compact` did."""

    runs: RunCompaction
    logs: list[LogCompaction]
    prune: bool
    seconds: float
    keep_days: int = PRUNE_KEEP_DAYS
    """Pruning kept the JSONL of partitions this many days old or newer."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "runs": self.runs.to_dict(),
            "logs": [log.to_dict() for log in self.logs],
            "prune": self.prune,
            "seconds": self.seconds,
            "keep_days": self.keep_days,
        }


def compact(
    ws: Workspace,
    *,
    prune: bool = False,
    grace_s: float = publish.GRACE_S,
    keep_days: int = PRUNE_KEEP_DAYS,
) -> CompactResult:
    """Compact the run tables and the closed partitions of every log family; idempotent
    (a second call with nothing new writes nothing), safe to kill at any point and to run
    beside writers and readers. `prune` deletes the JSONL the Parquet holds, but for the
    newest `keep_days` partitions."""
    from core.lens.compaction.families import families

    started = time.perf_counter()
    runs = compact_runs(ws, grace_s=grace_s)
    logs = [
        compact_family(ws, family, prune=prune, grace_s=grace_s, keep_days=keep_days)
        for family in families()
    ]
    return CompactResult(runs, logs, prune, round(time.perf_counter() - started, 3), keep_days)


def compact_after_training(ws: Workspace) -> RunCompaction | None:
    """What `train` calls after recording a run: when `AUTO_LOOSE` or more runs are newer
    than the compaction, compact at most `AUTO_MAX_RUNS` of them, merging no segment past
    `AUTO_MERGE_MAX` runs, unless another compactor is at it. Never fails the training:
    the views read loose runs correctly, only slower."""
    try:
        if loose_count(ws) < AUTO_LOOSE:
            return None
        return compact_runs(ws, wait=False, max_runs=AUTO_MAX_RUNS, merge_max=AUTO_MERGE_MAX)
    except Exception:
        return None
