"""`--fields a,b.c` keeps only the named keys of a JSON answer's `data` (core.render.fields)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.foundation.errors import UsageError
from core.render.fields import parse, pick
from tests.conftest import run_factory

DATA = {
    "count": 2,
    "best": {"rain": "r-1"},
    "runs": [
        {"run_id": "r-1", "primary_metric": {"name": "auc", "mean": 0.7, "std": 0.1}},
        {"run_id": "r-2", "primary_metric": None},
    ],
}


def test_a_dot_goes_down_and_into_each_item_of_a_list() -> None:
    picked = pick(DATA, parse("runs.primary_metric.mean, count,runs.run_id"))
    # The answer's own key order, not the order asked.
    assert list(picked) == ["count", "runs"]
    assert picked == {
        "count": 2,
        "runs": [
            {"run_id": "r-1", "primary_metric": {"mean": 0.7}},
            {"run_id": "r-2", "primary_metric": None},
        ],
    }


def test_a_key_asked_whole_wins_over_a_part_of_it() -> None:
    assert pick(DATA, ["best.rain", "best"]) == {"best": {"rain": "r-1"}}
    assert pick(DATA, ["best", "best.rain"]) == {"best": {"rain": "r-1"}}


@pytest.mark.parametrize(
    ("paths", "said"),
    [
        (["runs.primary"], "no key 'runs.primary'"),  # the old name: refused, not empty
        (["nope"], "no key 'nope'"),
        (["count.x"], "not an object"),
    ],
)
def test_a_key_found_nowhere_is_a_usage_error_naming_the_keys_there(
    paths: list[str], said: str
) -> None:
    with pytest.raises(UsageError, match=said) as caught:
        pick(DATA, paths)
    if paths == ["runs.primary"]:
        assert "primary_metric, run_id" in caught.value.message


@pytest.mark.parametrize("text", ["", " , ", "a..b", ".a"])
def test_an_empty_key_is_refused(text: str) -> None:
    with pytest.raises(UsageError):
        parse(text)


def test_fields_on_the_real_command(workspace: Path) -> None:
    ran = run_factory("status", "--fields", "name,models.name,models.run_count", cwd=workspace)
    assert ran.code == 0, ran.stderr
    doc = ran.doc  # --fields implies --json: one envelope
    assert doc["ok"] and doc["schema"] == "factory.status/2"
    assert doc["data"] == {
        "name": "ws",
        "models": [{"name": "rain", "run_count": 0}, {"name": "temp", "run_count": 0}],
    }
    full = run_factory("status", "--json", cwd=workspace).doc
    assert doc["next"] == full["next"]  # only `data` is picked

    wrong = run_factory("status", "--json", "--fields", "models.runs", cwd=workspace)
    assert wrong.code == 2
    assert wrong.doc["error"]["code"] == "usage" and "run_count" in wrong.doc["error"]["message"]
    assert wrong.doc["data"] is None

    markdown = run_factory("status", "--md", "--fields", "name", cwd=workspace)
    assert markdown.code == 2 and "--fields" in markdown.stdout
