"""The log families `factory compact` compacts and the views read (`core.lens.compaction.logs`).

A family is a folder of date partitions, the columns of its lines and the condition a whole
line meets. Adding a log is adding a family here and reading it in its view through
`log_rows_sql`.
"""

from __future__ import annotations

from core.lens.compaction.logs import LogFamily
from core.lens.views.events import EVENT_COLUMNS

EVENTS = LogFamily(
    name="events",
    folder=lambda ws: ws.events_dir,
    columns=EVENT_COLUMNS,
    keep="ts IS NOT NULL AND event IS NOT NULL",
)


def inference_family() -> LogFamily:
    """The inference log as raw lines (predictions and batch records, `perf.RAW_COLUMNS`),
    which the `inference` view completes (`perf.inference_rows_sql`). Its other readers
    (`perf`, feedback, rollouts, the serving check) read it through
    `core.foundation.log_archive`, so its pruned files are read from the Parquet too."""
    from core.operations.perf import INFERENCE_KEEP, RAW_COLUMNS, last_logged_sql

    return LogFamily(
        name="inference",
        folder=lambda ws: ws.inference_dir,
        columns=RAW_COLUMNS,
        keep=INFERENCE_KEEP,
        partition_column=False,
        digest=last_logged_sql,
    )


def families() -> tuple[LogFamily, ...]:
    """Every family `factory compact` compacts, in the order it reports them."""
    return (EVENTS, inference_family())
