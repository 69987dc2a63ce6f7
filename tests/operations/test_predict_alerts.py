"""Batch prediction with lineage, trace, the inference view, alerts and the alert command,
and the new-data check."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.operations.conftest import read_lines, snapshot_frame


def _recent_csv(ops: dict[str, Any], days: int = 120) -> Path:
    root = ops["root"]
    path = root / "recent.csv"
    snapshot_frame(root, ops["snapshot"]).tail(days).to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_predict_logs_one_line_per_row_and_traces_back(ops: dict[str, Any]) -> None:
    run, root, a = ops["run"], ops["root"], ops["run_a"]
    _recent_csv(ops)
    empty = run("predict", "rain", "--input", "recent.csv")
    assert empty.code == 3 and empty.doc["error"]["code"] == "tier_empty"
    assert run("promote", a, "--to", "staging", "--override", "test").code == 0
    assert run("promote", a, "--to", "prod", "--override", "test").code == 0

    ran = run(
        "predict", "rain", "--input", "recent.csv", "--from", "2015-12-01", "--output", "out.csv"
    )
    assert ran.code == 0, ran.stdout
    data = ran.doc["data"]
    assert data["rows"] == 31 and data["run_id"] == a and data["tier"] == "prod"
    assert data["history_rows"] == 120 - 31
    scores = pd.read_csv(root / "out.csv")
    assert len(scores) == 31 and scores["prediction"].between(0, 1).all()
    assert scores["date"].min().startswith("2015-12-01")
    # Schema 2 (adrs/0015): the batch's own file, its record first, then a line per row.
    record, *lines = read_lines(Path(data["log_file"]))
    assert Path(data["log_file"]).name == f"{record['batch_id']}.jsonl"
    assert record["kind"] == "batch" and record["v"] == 2 and record["mode"] == "batch"
    assert record["run_id"] == a and record["tier"] == "prod" and record["latency_ms"] > 0
    assert record["rows"] == 31 and record["inference"]["version"] == "rows_v1"
    assert len(lines) == 31
    assert {line["request_id"] for line in lines} == set(scores["request_id"])
    first = lines[0]
    assert {"request_id", "batch_id", "row", "time", "entity", "input_hash", "prediction"} <= set(
        first
    )
    assert first["batch_id"] == record["batch_id"] and first["entity"] == {}
    assert first["time"] == "2015-12-01T00:00:00"
    assert len(first["input_hash"]) == 16
    exact = pd.read_csv(root / "out.csv", float_precision="round_trip")
    logged = {line["request_id"]: line["prediction"] for line in lines}
    assert [logged[r] for r in exact["request_id"]] == exact["prediction"].tolist()

    again = run(
        "predict", "rain", "--input", "recent.csv", "--from", "2015-12-01", "--output", "out.csv"
    )
    assert again.doc["data"]["reused"] is True and again.doc["data"]["logged"] is False
    assert len(read_lines(Path(data["log_file"]))) == 32
    assert pd.read_csv(root / "out.csv").equals(scores)

    traced = run("trace", first["request_id"])
    assert traced.code == 0
    t = traced.doc["data"]
    assert t["run"]["run_id"] == a and t["run"]["snapshot_id"] == ops["snapshot"]
    assert t["run"]["components"]["features"]["version"] == "weather_v2"
    assert t["snapshot"]["id"] == ops["snapshot"]
    assert t["card_entry"]["run_id"] == a
    assert [h["tier"] for h in t["tier_history"]] == ["staging", "prod"]
    assert run("trace", "rq-0000000000000000").code == 3
    assert run("trace", "not-an-id").code == 2

    query = run("query", "SELECT tier, run_id, count(*) AS n FROM inference GROUP BY ALL")
    assert query.doc["data"]["rows"] == [{"tier": "prod", "run_id": a, "n": 31}]

    dev = run("predict", "rain", "--input", "recent.csv", "--tier", "dev")
    assert dev.code == 2
    dev = run(
        "predict",
        "rain",
        "--input",
        "recent.csv",
        "--tier",
        "dev",
        "--run",
        ops["run_b"],
        "--no-log",
    )
    assert (
        dev.code == 0
        and dev.doc["data"]["run_id"] == ops["run_b"]
        and dev.doc["data"]["log_file"] is None
    )


def test_predict_refuses_invalid_input(ops: dict[str, Any]) -> None:
    run, root = ops["run"], ops["root"]
    run("promote", ops["run_a"], "--to", "staging", "--override", "test")
    frame = snapshot_frame(root, ops["snapshot"]).tail(40).drop(columns=["wind"])
    frame.to_csv(root / "nowind.csv", index=False)
    ran = run("predict", "rain", "--input", "nowind.csv", "--tier", "staging")
    assert ran.code == 1 and "wind" in ran.doc["error"]["message"]
    assert not (root / "predictions").exists()
    assert not (root / "logs" / "inference").exists()


@pytest.mark.slow
def test_alert_command_receives_json_and_failures_never_break_the_step(ops: dict[str, Any]) -> None:
    run, root = ops["run"], ops["root"]
    config = root / "factory.toml"
    text = config.read_text()
    config.write_text(text.replace('command = ""', 'command = "cat >> forwarded.jsonl"'))
    assert run("promote", ops["run_a"], "--to", "staging", "--override", "t").code == 0
    assert run("promote", ops["run_a"], "--to", "prod", "--override", "t").code == 0
    assert run("promote", ops["run_b"], "--to", "staging", "--override", "t").code == 0
    assert run("promote", ops["run_b"], "--to", "prod", "--override", "t").code == 0
    assert run("rollback", "rain", "--reason", "first").code == 0
    forwarded = read_lines(root / "forwarded.jsonl")
    assert len(forwarded) == 1
    assert forwarded[0]["kind"] == "rollback" and forwarded[0]["schema"] == "factory.alert/1"

    config.write_text(text.replace('command = ""', 'command = "echo broken >&2; exit 3"'))
    assert run("promote", ops["run_b"], "--to", "staging", "--override", "t").code == 0
    assert run("promote", ops["run_b"], "--to", "prod", "--override", "t").code == 0
    failing = run("rollback", "rain", "--reason", "second")
    assert failing.code == 0
    assert "alert command" in failing.stderr and "broken" in failing.stderr
    events = "".join(p.read_text() for p in (root / "logs" / "events").glob("*/*.jsonl"))
    assert '"event":"alert.command_failed"' in events

    listed = run("alerts").doc["data"]
    assert listed["open"] == 2
    alert_id = listed["alerts"][0]["alert_id"]
    acked = run("alerts", "ack", alert_id)
    assert acked.code == 0 and acked.doc["data"]["state"] == "acked"
    assert run("alerts", "ack", alert_id).doc["data"]["acked_at"] == acked.doc["data"]["acked_at"]
    assert run("alerts").doc["data"]["open"] == 1
    assert run("alerts", "--all").doc["data"]["count"] == 2
    assert run("alerts", "ack", "al-000000000000").code == 3


@pytest.mark.slow
def test_new_data_check(ops: dict[str, Any]) -> None:
    run, root = ops["run"], ops["root"]
    frame = snapshot_frame(root, ops["snapshot"])
    frame[frame["date"] < "2015-06-01"].to_csv(root / "old.csv", index=False)
    frame[frame["date"] < "2015-06-10"].to_csv(root / "barely.csv", index=False)
    old = run("data", "snapshot", "old.csv", "--dataset", "weather").doc["data"]["snapshot_id"]
    barely = run("data", "snapshot", "barely.csv", "--dataset", "weather").doc["data"][
        "snapshot_id"
    ]
    champion = run("train", "rain", "--hparams", "tiny", "--snapshot", old).doc["data"]["run_id"]
    run("promote", champion, "--to", "staging", "--override", "t")

    # Newer data exists (the full snapshot): the gate tests it for drift against the champion's.
    gate = run("gate", champion, "--to", "prod", "--no-retrain")
    no_drift = {c["name"]: c for c in gate.doc["data"]["criteria"]}["no_drift"]
    assert isinstance(no_drift["value"], bool)
    assert "drift-" in no_drift["note"] and "after2015-05-31" in no_drift["note"]
    assert "the default check" in no_drift["note"]
    assert gate.doc["data"]["newest_snapshot"] == ops["snapshot"]

    short = run("check", "new-data", "rain", "--snapshot", barely)
    assert short.code == 1 and short.doc["data"]["verdict"] == "inconclusive"
    assert "adds 9 days" in short.doc["data"]["reason"]

    ran = run("check", "new-data", "rain", "--snapshot", ops["snapshot"])
    data = ran.doc["data"]
    assert data["champion"] == champion and data["champion_tier"] == "staging"
    assert data["window"] == ["2015-10-03", "2015-12-31"]
    assert data["new_training_rows"] > 100
    assert len(data["blocks"]) == 4
    assert data["verdict"] in ("helps", "does_not_help", "inconclusive")
    assert ran.code == (0 if data["verdict"] == "helps" else 1)
    again = run("check", "new-data", "rain", "--snapshot", ops["snapshot"]).doc["data"]
    assert again["reused"] is True and again["check_id"] == data["check_id"]
    alerts = [a["kind"] for a in run("alerts").doc["data"]["alerts"]]
    assert alerts.count("new_data_no_help") == (1 if data["verdict"] == "does_not_help" else 0)
    assert json.loads((root / data["report_path"]).read_text())["verdict"] == data["verdict"]


def test_log_lines_are_json_with_exact_numbers_hashes_and_null_for_nan() -> None:
    """The Arrow-built log lines: one JSON object per row, floats round-trip exactly, NaN and
    infinity become null, and the row hash is pandas' 64-bit hash in 16 hex digits."""
    import numpy as np

    from core.operations.predict import _row_hashes, batch_lines

    frame = pd.DataFrame({"a": [1.5, 2.5, -3.0, 4.0], "b": ["x", "y", "z", "w"]})
    hashes = _row_hashes(frame)
    expected = [f"{int(v):016x}" for v in pd.util.hash_pandas_object(frame, index=False)]
    assert [bytes(row).decode() for row in hashes] == expected
    predictions = np.array([0.1 + 0.2, np.nan, np.inf, 1e-300])
    times = pd.to_datetime(
        ["2015-12-01 00:00", "2015-12-02 00:00", "2015-12-03 06:30", "2015-12-04 00:00"]
    )
    entities = pd.DataFrame({"city": ['n"q', "s", "s", None], "n": [1, 2, 2, 3]})
    ids = ["rq-a", "rq-b", "rq-c", "rq-d"]
    data = bytes(batch_lines("b-x", ids, [3, 5, 7, 11], times, entities, hashes, predictions))
    lines = [json.loads(line) for line in data.decode().splitlines()]
    assert data.endswith(b"\n") and len(lines) == 4
    assert [line["prediction"] for line in lines] == [0.1 + 0.2, None, None, 1e-300]
    assert [line["row"] for line in lines] == [3, 5, 7, 11]
    assert [line["input_hash"] for line in lines] == expected
    assert [line["time"] for line in lines] == [
        "2015-12-01T00:00:00", "2015-12-02T00:00:00", "2015-12-03T06:30:00", "2015-12-04T00:00:00"
    ]  # fmt: skip
    assert lines[0]["entity"] == {"city": 'n"q', "n": 1}
    assert lines[3]["entity"] == {"city": None, "n": 3}
    assert {line["batch_id"] for line in lines} == {"b-x"} and lines[3]["request_id"] == "rq-d"


@pytest.mark.slow
def test_a_batch_killed_then_run_again_or_run_four_times_at_once_is_logged_once(
    ops: dict[str, Any],
) -> None:
    """Issue 12 §3, with real processes: `predict` killed just before its batch file is
    renamed into place leaves no log line (only a hidden temporary file, under the git-ignored
    logs/); the re-run logs the batch once and removes that file; four concurrent runs of the
    same file then add nothing: every prediction of that batch is in the log exactly once."""
    import subprocess

    from tests.conftest import FACTORY, REPO

    run, root, a = ops["run"], ops["root"], ops["run_a"]
    _recent_csv(ops, days=60)
    assert run("promote", a, "--to", "staging", "--override", "test").code == 0
    args = ("predict", "rain", "--input", "recent.csv", "--tier", "staging", "--from", "2015-12-01")
    inference = root / "logs" / "inference"

    def logged() -> list[dict[str, Any]]:
        return [
            line
            for path in sorted(inference.glob("date=*/b-*.jsonl"))
            for line in read_lines(path)
            if line.get("kind") != "batch"
        ]

    killed = run(*args, env={"FACTORY_CRASH_AT": "atomic.before_rename:logs/inference"})
    assert killed.code == -9, killed.stderr
    assert logged() == []
    leftovers = list(inference.glob("date=*/.*.tmp"))
    assert len(leftovers) == 1

    again = run(*args)
    assert again.code == 0, again.stdout
    rows = again.doc["data"]["rows"]
    assert rows == 31 and len(logged()) == rows
    assert list(inference.glob("date=*/.*.tmp")) == []

    env = {**os.environ, "PYTHONPATH": str(REPO), "FACTORY_THREADS": "1"}
    env.pop("FACTORY_WORKSPACE", None)
    procs = [
        subprocess.Popen([*FACTORY, *args, "--json"], cwd=root, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(4)
    ]  # fmt: skip
    for proc in procs:
        _out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()[-2000:]
    lines = logged()
    assert len(lines) == rows
    assert len({line["request_id"] for line in lines}) == rows
    assert len(list(inference.glob("date=*/b-*.jsonl"))) == 1
