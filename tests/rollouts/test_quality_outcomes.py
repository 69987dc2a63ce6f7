"""Quality as a rollout criterion once outcomes join: the per-row losses of joined outcomes
(`feedback.outcomes.losses_by_request`) reach the rollout's analysis through its log reader.
A challenger with a known worse loss fails quality and is rolled back; an equal one fails in
at most 5% of seeds; no outcomes is inconclusive, never a pass."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.operations.rollouts.decide import replay
from core.operations.rollouts.observations import ArmLog, RolloutLog, read_rollout_log
from core.operations.rollouts.spec import RolloutSpec
from tests.rollouts.conftest import serve_requests

START = ("--steps", "50", "--min-requests", "60", "--interval", "1h", "--mode", "ab")
SPEC = RolloutSpec(
    model="rain", stable="r-a", challenger="r-b", mode="ab", steps=(0.5,), quality="on",
    min_requests=100,
)  # fmt: skip


def _join(ws: Any, rollout_id: str, loss: dict[str, float], seed: int) -> dict[str, int]:
    """Outcome lines, as `feedback join` writes them, for every logged request of the
    rollout: per-row log losses drawn with mean `loss[arm]`. Returns lines per arm."""
    from core.foundation import clock
    from core.operations.feedback.inference_log import predictions
    from core.operations.feedback.outcomes import write_outcomes

    rng = np.random.default_rng(seed)
    lines, counts = [], {"stable": 0, "challenger": 0}
    for p in predictions(ws, "rain"):
        if p.get("rollout_id") != rollout_id:
            continue
        arm = "challenger" if p.get("mode") == "shadow" else str(p["arm"])
        counts[arm] += 1
        lines.append(
            {
                "request_id": p["request_id"], "run_id": p["run_id"], "model": "rain",
                "tier": "prod", "arm": arm, "rollout_id": rollout_id, "mode": p["mode"],
                "time": "2016-01-02T00:00:00", "entity": {}, "prediction": 0.5, "label": 1.0,
                "loss": float(rng.exponential(loss[arm])), "loss_metric": "logloss",
                "labels": "rain_tomorrow_v1", "source": "ingest", "join_id": f"j-test{seed}",
                "logged_at": p.get("ts"), "ts": clock.iso(), "v": 1,
            }
        )  # fmt: skip
    record = {"kind": "join", "v": 1, "ts": clock.iso(), "model": "rain", "source": "ingest",
              "join_id": f"j-test{seed}", "rows": len(lines)}  # fmt: skip
    write_outcomes(ws, record, lines)
    return counts


@pytest.mark.slow
def test_a_challenger_with_worse_joined_losses_fails_quality_and_is_rolled_back(
    ro: dict[str, Any],
) -> None:
    started = ro["run"]("rollout", "start", "rain", "--run", ro["challenger"], *START,
                        "--quality", "on")  # fmt: skip
    assert started.code == 0, started.stdout + started.stderr
    rid = started.doc["data"]["rollout_id"]
    rng = np.random.default_rng(3)
    same = lambda arm, n: rng.lognormal(np.log(8.0), 0.3, n)  # noqa: E731
    serve_requests(ro["ws"], 600, rng=np.random.default_rng(4), latency=same, cpu=same)

    # Before any outcome joined: quality is listed, inconclusive, and passes nothing.
    first = ro["run"]("rollout", "tick", "rain", "--now").doc["data"]
    quality = next(c for c in first["criteria"] if c["name"] == "quality")
    assert quality["verdict"] == "inconclusive" and "no outcomes" in quality["reason"]
    assert first["status"] == "running"

    counts = _join(ro["ws"], rid, {"stable": 0.5, "challenger": 0.9}, seed=5)
    assert min(counts.values()) > 200
    second = ro["run"]("rollout", "tick", "rain", "--now")
    view = second.doc["data"]
    quality = next(c for c in view["criteria"] if c["name"] == "quality")
    assert (quality["n_stable"], quality["n_challenger"]) == (
        counts["stable"],
        counts["challenger"],
    )
    assert quality["verdict"] == "fail", quality["reason"]
    assert quality["interval"][0] > 0.0  # credibly worse: challenger minus stable loss
    assert quality["challenger"] > quality["stable"]
    assert second.code == 1 and view["status"] == "aborted", view["reason"]
    assert "quality" in view["reason"]
    rows = ro["run"](
        "query",
        "SELECT look, verdict FROM rollout_criteria WHERE name = 'quality' ORDER BY look",
    ).doc["data"]["rows"]
    assert [(r["look"], r["verdict"]) for r in rows] == [(1, "inconclusive"), (2, "fail")]


def _online(path: Path, lines: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_each_row_of_a_call_brings_its_own_loss_and_quality_off_reads_none(
    workspace: Path,
) -> None:
    """A call of three rows is one latency observation but three predictions: three losses.
    A row without an outcome brings none; a failed row none either."""
    from core.foundation.workspace import Workspace

    ws = Workspace(workspace)
    base = {"model": "rain", "tier": "prod", "mode": "online", "rollout_id": "rollout-x",
            "latency_ms": 5.0, "cpu_ms": 1.0, "status": "ok"}  # fmt: skip
    lines = [
        {**base, "request_id": f"rq-s{i}", "run_id": "r-a", "arm": "stable", "call_id": "c1",
         "ts": "2026-01-01T00:00:01.000Z"}
        for i in range(3)
    ] + [
        {**base, "request_id": "rq-c0", "run_id": "r-b", "arm": "challenger", "call_id": "c2",
         "ts": "2026-01-01T00:00:02.000Z"},
        {**base, "request_id": "rq-c1", "run_id": "r-b", "arm": "challenger", "call_id": "c3",
         "ts": "2026-01-01T00:00:03.000Z", "status": "error", "error_code": "x"},
    ]  # fmt: skip
    _online(ws.inference_dir / "date=2026-01-01" / "o-test.jsonl", lines)
    losses = {("rq-s0", "r-a"): 0.1, ("rq-s1", "r-a"): 0.2, ("rq-s2", "r-a"): 0.3,
              ("rq-c1", "r-b"): 9.0, ("rq-s0", "r-b"): 7.0}  # fmt: skip
    since, until = "2026-01-01T00:00:00.000Z", "2026-01-01T01:00:00.000Z"
    log = read_rollout_log(ws, "rain", "rollout-x", since, until, losses)
    assert (len(log.stable), len(log.challenger)) == (1, 2)
    [(stable, challenger)] = log.looks([until])
    assert stable.loss is not None and sorted(stable.loss.tolist()) == [0.1, 0.2, 0.3]
    assert challenger.loss is not None and challenger.loss.tolist() == []  # error: no loss
    off = read_rollout_log(ws, "rain", "rollout-x", since, until)
    [(a, b)] = off.looks([until])
    assert a.loss is None and b.loss is None


def _arm_log(rng: np.random.Generator, looks: int, n: int, mean_loss: float) -> ArmLog:
    ts = [f"2026-01-01T{h:02d}:{i % 60:02d}:{i // 60:02d}.000Z"
          for h in range(looks) for i in range(n)]  # fmt: skip
    latency = rng.lognormal(np.log(8.0), 0.3, looks * n).tolist()
    losses = list(zip(ts, rng.exponential(mean_loss, looks * n).tolist(), strict=True))
    return ArmLog.build(ts, latency, latency, [False] * (looks * n), losses)


def _quality_verdicts(mean_b: float, seeds: int, *, looks: int = 6, n: int = 150) -> list[str]:
    cutoffs = [f"2026-01-01T{h:02d}:59:59.999Z" for h in range(looks)]
    out = []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        log = RolloutLog(_arm_log(rng, looks, n, 1.0), _arm_log(rng, looks, n, mean_b), 1, 0)
        verdicts = [
            {c.name: c.verdict for c in a.criteria}["quality"]
            for a in replay(SPEC, log.looks(cutoffs))
        ]
        # Ever failed at any look: what would have aborted the rollout.
        out.append("fail" if "fail" in verdicts else verdicts[-1])
    return out


@pytest.mark.slow
def test_an_equal_challenger_rarely_fails_quality_and_a_worse_one_does() -> None:
    equal = _quality_verdicts(1.0, 200)
    assert equal.count("fail") / len(equal) <= 0.05, equal.count("fail")
    worse = _quality_verdicts(1.5, 40)
    assert worse.count("fail") / len(worse) >= 0.95, worse
    better = _quality_verdicts(0.6, 40)
    assert better.count("fail") == 0 and better.count("pass") >= 38


def test_no_outcomes_is_inconclusive_never_a_pass() -> None:
    rng = np.random.default_rng(0)
    cutoffs = ["2026-01-01T05:59:59.999Z"]
    ts = [f"2026-01-01T01:00:{i % 60:02d}.{i:03d}Z" for i in range(400)]
    latency = rng.lognormal(np.log(8.0), 0.3, 400).tolist()
    empty = ArmLog.build(ts, latency, latency, [False] * 400, [])
    [analysis] = replay(
        replace(SPEC, quality="required"), RolloutLog(empty, empty, 1, 0).looks(cutoffs)
    )
    quality = next(c for c in analysis.criteria if c.name == "quality")
    assert quality.verdict == "inconclusive" and analysis.overall != "pass"


def test_quality_is_analysed_by_default_once_outcomes_of_the_model_have_joined(
    ro: dict[str, Any],
) -> None:
    """No outcome of the model yet: quality is off (it could only ever be inconclusive and
    would pause the rollout); once one has joined: on. An explicit --quality always wins."""
    from core.operations.rollouts.actions import build_spec

    ws, challenger = ro["ws"], ro["challenger"]
    assert build_spec(ws, "rain", challenger).quality == "off"
    started = ro["run"]("rollout", "start", "rain", "--run", challenger, *START)
    rid = started.doc["data"]["rollout_id"]
    rng = np.random.default_rng(1)
    same = lambda arm, n: rng.lognormal(np.log(8.0), 0.3, n)  # noqa: E731
    serve_requests(ws, 200, rng=np.random.default_rng(2), latency=same, cpu=same)
    _join(ws, rid, {"stable": 0.5, "challenger": 0.5}, seed=7)
    assert build_spec(ws, "rain", challenger).quality == "on"
    assert build_spec(ws, "rain", challenger, quality="off").quality == "off"
    from core.operations.rollouts.actions import _quality_default

    assert _quality_default(ws, "temp") == "off"  # the outcomes are rain's only
