"""Samples `tests/render/make_samples.py` cannot make from the demo workspace: rollouts (they
need a prod run and a gated challenger), jobs, the MCP face's closing answer, and the
feedback/sunset commands (they need logged predictions and newer data). Each is a real
answer of the real command on a small workspace built the way those commands' tests build
theirs; `make_samples` calls `main()` at its end.

    .venv/bin/python -m tests.render.make_samples_loop
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.conftest import run_factory
from tests.render.make_samples import SAMPLES, relocate, trim

PINNED = {"FACTORY_SESSION": "samples", "TZ": "UTC", "FACTORY_THREADS": "2"}


def _keeper(ws: Path, roots: list[str]) -> Any:
    def keep(*args: str, now: str, name: str | None = None) -> dict[str, Any]:
        ran = run_factory(*args, "--json", cwd=ws, env={**PINNED, "FACTORY_NOW": now})
        doc: dict[str, Any] = ran.doc
        if not doc["ok"]:
            raise SystemExit(f"factory {' '.join(args)}: {doc['error']}")
        file = name or doc["schema"].removeprefix("factory.").replace("/", "-")
        kept = relocate(trim(doc), roots)
        (SAMPLES / f"{file}.json").write_text(
            json.dumps(kept, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        return doc

    return keep


def rollout_samples(tmp: Path) -> None:
    from core.cli.jobs import read_job, start_job
    from core.flows.training import train_run
    from core.foundation.workspace import Workspace
    from core.operations.gates import evaluate_gate
    from core.operations.tiers import promote
    from tests.operations.conftest import make_workspace
    from tests.rollouts.conftest import WEAK, lenient_staging_latency

    root = make_workspace(tmp / "ro" / "ws")
    lenient_staging_latency(root)
    (root / "components" / "hparams" / "weak.toml").write_text(WEAK)
    ws = Workspace(root)
    stable = train_run(ws, "rain", hparams="weak", thread_count=2).run_id
    challenger = train_run(ws, "rain", hparams="tiny", thread_count=2).run_id
    promote(ws, stable, "staging", override="the stable run of the samples")
    promote(ws, stable, "prod", override="the stable run of the samples")
    assert evaluate_gate(ws, challenger, "staging").passed
    keep = _keeper(root, [str(root.resolve()), str(root), str(tmp)])
    start = ("--steps", "50", "--min-requests", "60", "--interval", "1h")
    keep("rollout", "start", "rain", "--run", challenger, *start, now="2026-11-20T12:00:00Z")
    keep("rollout", "list", "rain", now="2026-11-20T12:01:00Z")
    job = start_job(ws, "train", ["train", "--hparams=tiny", "--", "rain"])
    deadline = time.monotonic() + 300
    while read_job(ws, job.job_id).status == "running":
        if time.monotonic() > deadline:
            raise SystemExit("the sample job did not finish")
        time.sleep(0.2)
    keep("job", job.job_id, now="2026-11-20T12:02:00Z")
    keep("jobs", now="2026-11-20T12:03:00Z")


def outcome_samples(tmp: Path) -> None:
    import pandas as pd

    from core.foundation.workspace import Workspace
    from tests.feedback.conftest import build_workspace
    from tests.sunset.conftest import passed_rollout

    ws = tmp / "fb" / "ws"
    built = build_workspace(ws)
    keep = _keeper(ws, [str(ws.resolve()), str(ws), str(tmp)])
    keep("feedback", "join", "rain", now="2026-11-20T11:00:00Z")
    scored = pd.read_csv(built["predictions"], dtype={"request_id": str})
    early = scored[scored["date"] < "2015-07-11"]
    pd.DataFrame({"request_id": early["request_id"], "label": 0}).to_csv(
        ws / "outcomes.csv", index=False
    )
    keep("feedback", "ingest", "outcomes.csv", now="2026-11-20T11:01:00Z")
    keep("live", "rain", now="2026-11-20T11:02:00Z")
    keep("check", "degrading", "rain", "--run", built["run_a"], now="2026-11-20T11:03:00Z")
    keep("sunset", "candidates", now="2026-12-30T11:04:00Z")
    passed_rollout(Workspace(ws), "rain", built["run_b"], built["run_a"])
    keep(
        "sunset", "retire", built["run_b"], "--successor", built["run_a"],
        "--reason", "[sample] beaten in the shadow", now="2026-11-20T11:05:00Z",
    )  # fmt: skip
    keep("sunset", "removal-list", "rain", now="2026-11-20T11:06:00Z")


def mcp_sample() -> None:
    """`factory mcp` answers on stdout only in protocol messages; its envelope (on a closed
    stream) is written by hand, as `tui-1` is."""
    doc = {
        "envelope": "factory.envelope/2",
        "ok": True,
        "command": "mcp",
        "schema": "factory.mcp/1",
        "data": {"closed": True, "calls": 12},
        "error": None,
        "next": [],
    }
    (SAMPLES / "mcp-1.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="render-samples-loop-"))
    try:
        mcp_sample()
        rollout_samples(tmp)
        outcome_samples(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
