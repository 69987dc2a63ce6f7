"""The `outcomes` view over hand-written outcome files in the on-disk format: join records,
a torn last line, a killed writer's temporary file, the same prediction in two files, and a
symlink planted to read outside the workspace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.foundation.workspace import Workspace
from core.lens.store import run_query


def _line(request_id: str, run_id: str, loss: float, **more: Any) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "run_id": run_id,
        "model": "rain",
        "tier": "prod",
        "arm": "stable",
        "rollout_id": None,
        "mode": "online",
        "time": "2016-01-02T00:00:00",
        "entity": {},
        "prediction": 0.5,
        "label": 1.0,
        "loss": loss,
        "loss_metric": "logloss",
        "labels": "rain_tomorrow_v1",
        "source": "join",
        "join_id": more.pop("join_id", "j-000000000001"),
        "logged_at": "2016-01-02T00:00:01.000Z",
        "ts": more.pop("ts", "2016-01-05T00:00:00.000Z"),
        "v": 1,
        **more,
    }


def _write(path: Path, lines: list[dict[str, Any]], tail: bytes = b"") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"kind": "join", "v": 1, "model": "rain", "source": "join", "request_id": "x"}
    body = "".join(json.dumps(x) + "\n" for x in [record, *lines]).encode()
    path.write_bytes(body + tail)


def _rows(root: Path, sql: str) -> list[dict[str, Any]]:
    return run_query(Workspace(root), sql).to_dict()["rows"]


def test_a_fresh_workspace_has_an_empty_outcomes_view(workspace: Path) -> None:
    assert _rows(workspace, "SELECT count(*) AS n FROM outcomes") == [{"n": 0}]


def test_only_whole_outcome_lines_inside_the_workspace_count_once(
    workspace: Path, tmp_path: Path
) -> None:
    folder = workspace / "logs" / "outcomes"
    _write(
        folder / "date=2016-01-05" / "j-000000000001.jsonl",
        [_line("rq-1", "r-a", 0.25), _line("rq-2", "r-a", 0.75), _line("rq-1", "r-b", 1.0)],
        tail=b'{"request_id": "rq-torn", "run_id": "r-a", "lo',  # a torn last line
    )
    # The same prediction again in a later join: counted once, the first join's.
    _write(
        folder / "date=2016-01-06" / "j-000000000002.jsonl",
        [
            _line("rq-2", "r-a", 9.0, join_id="j-000000000002", ts="2016-01-06T00:00:00.000Z"),
            _line("rq-3", "r-a", 0.5, join_id="j-000000000002", ts="2016-01-06T00:00:00.000Z"),
        ],
    )
    # A killed writer's temporary file and a symlink to a file outside: never read.
    _write(folder / "date=2016-01-06" / ".j-000000000003.jsonl.tmp", [_line("rq-9", "r-a", 5.0)])
    outside = tmp_path / "outside.jsonl"
    _write(outside, [_line("rq-secret", "r-a", 7.0)])
    (folder / "date=2016-01-06" / "j-000000000004.jsonl").symlink_to(outside)

    rows = _rows(
        workspace,
        "SELECT run_id, count(*) AS n, avg(loss) AS mean_loss FROM outcomes GROUP BY 1 ORDER BY 1",
    )
    assert rows == [
        {"run_id": "r-a", "n": 3, "mean_loss": (0.25 + 0.75 + 0.5) / 3},
        {"run_id": "r-b", "n": 1, "mean_loss": 1.0},
    ]
    ids = _rows(workspace, "SELECT request_id, join_id FROM outcomes ORDER BY 1, 2")
    assert [r["request_id"] for r in ids] == ["rq-1", "rq-1", "rq-2", "rq-3"]
    assert {r["join_id"] for r in ids if r["request_id"] == "rq-2"} == {"j-000000000001"}
    times = _rows(
        workspace, 'SELECT DISTINCT typeof("time") AS t, typeof(joined_at) AS j FROM outcomes'
    )
    assert times == [{"t": "TIMESTAMP", "j": "TIMESTAMP"}]
