"""The `outcomes` view of `factory query` on a real joined workspace: exactly the joined lines
(no join record, nothing twice), the same losses, and a rerun of the join changes nothing."""

from __future__ import annotations

from typing import Any

import pytest


def _lines(fb: dict[str, Any]) -> list[dict[str, Any]]:
    from core.operations.feedback.outcomes import read_outcomes

    return list(read_outcomes(fb["ws"], "rain"))


@pytest.mark.slow
def test_the_outcomes_view_counts_exactly_the_joined_lines(fb: dict[str, Any]) -> None:
    joined = fb["run"]("feedback", "join", "rain")
    assert joined.code == 0, joined.stdout + joined.stderr
    lines = _lines(fb)
    assert len(lines) == joined.doc["data"]["joined"] == 90

    sql = "SELECT run_id, count(*) AS n, avg(loss) AS mean_loss FROM outcomes GROUP BY 1"
    done = fb["run"]("query", sql)
    assert done.code == 0, done.stdout + done.stderr
    rows = done.doc["data"]["rows"]
    assert [(r["run_id"], r["n"]) for r in rows] == [(fb["run_a"], 90)]
    mean = sum(float(line["loss"]) for line in lines) / len(lines)
    assert rows[0]["mean_loss"] == pytest.approx(mean, rel=1e-12)

    # Every line once, with its label, tier, arm and row time; keys are unique.
    keys = fb["run"](
        "query",
        "SELECT request_id, label, tier, arm, strftime(\"time\", '%Y-%m-%d') AS day, "
        "loss_metric, source FROM outcomes ORDER BY request_id",
    ).doc["data"]["rows"]
    expected = sorted(lines, key=lambda line: line["request_id"])
    assert [k["request_id"] for k in keys] == [line["request_id"] for line in expected]
    assert [k["label"] for k in keys] == [line["label"] for line in expected]
    assert {(k["tier"], k["arm"], k["loss_metric"], k["source"]) for k in keys} == {
        ("dev", "stable", "logloss", "join")
    }
    assert [k["day"] for k in keys] == [line["time"][:10] for line in expected]

    # A rerun adds nothing, to the files or the view.
    assert fb["run"]("feedback", "join", "rain").doc["data"]["joined"] == 0
    again = fb["run"]("query", "SELECT count(*) AS n FROM outcomes").doc["data"]["rows"]
    assert again == [{"n": 90}]


def test_the_view_is_listed_with_its_columns(fb: dict[str, Any]) -> None:
    tables = fb["run"]("query", "--tables").doc["data"]["tables"]
    outcomes = next(t for t in tables if t["name"] == "outcomes")
    columns = {c["name"]: c["type"] for c in outcomes["columns"]}
    assert columns["loss"] == "DOUBLE" and columns["time"] == "TIMESTAMP"
    assert {"request_id", "run_id", "tier", "arm", "label", "prediction", "joined_at"} <= set(
        columns
    )
    # Before any join the view answers, with no rows.
    empty = fb["run"]("query", "SELECT count(*) AS n FROM outcomes").doc["data"]["rows"]
    assert empty == [{"n": 0}]
