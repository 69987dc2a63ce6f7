"""`factory.toml` keys: a typo in a known table is refused with file, line and the known keys;
an unknown top-level table is a warning (a newer factory may know it), never silent."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_factory


def line_of(text: str, start: str) -> int:
    return next(i for i, ln in enumerate(text.splitlines(), 1) if ln.startswith(start))


@pytest.mark.parametrize(
    ("table", "old", "new", "suggestion"),
    [
        ("validation", "gap_days = 7", "gap_day = 7", "gap_days"),
        (
            "datasets.weather",
            'time_column = "date"',
            'time_column = "date"\ntime_zon = "UTC"',
            "time_zone",
        ),
        ("models.rain", 'hparams = "h1"', 'hparam = "h1"', "hparams"),
        ("gates.staging", "min_fold_wins = 3", "min_fold_win = 3", "min_fold_wins"),
        ("workspace", 'components = "components"', 'component = "components"', "components"),
    ],
)
def test_an_unknown_key_in_a_known_table_is_refused_with_file_and_line(
    workspace: Path, table: str, old: str, new: str, suggestion: str
) -> None:
    config = workspace / "factory.toml"
    text = config.read_text().replace(old, new, 1)
    config.write_text(text)
    typo = new.splitlines()[-1].split(" =")[0]
    line = line_of(text, typo + " =")
    ran = run_factory("status", "--json", cwd=workspace)
    assert ran.code == 3, ran.stdout
    error = ran.doc["error"]
    assert error["code"] == "config_invalid"
    assert f"factory.toml:{line}" in error["message"]
    assert f"[{table}]" in error["message"] and repr(typo) in error["message"]
    assert f"did you mean '{suggestion}'" in error["message"]
    assert suggestion in error["hint"]  # the known keys are listed
    assert error["details"]["line"] == line and error["details"]["key"] == typo
    assert suggestion in error["details"]["known"]
    assert config.read_text() == text


def test_an_unknown_top_level_table_warns_and_goes_on(workspace: Path) -> None:
    config = workspace / "factory.toml"
    text = config.read_text().replace("[validation]", "[validaton]\nfolds = 3\n\n[validation]")
    config.write_text(text)
    line = line_of(text, "[validaton]")
    ran = run_factory("status", "--json", cwd=workspace)
    assert ran.code == 0, ran.stdout + ran.stderr
    assert ran.doc["ok"] is True  # stdout is still exactly one JSON document
    assert f"factory.toml:{line}" in ran.stderr
    assert "[validaton]" in ran.stderr and "validation" in ran.stderr.split("[validaton]", 1)[1]


def test_every_key_factory_writes_is_known(workspace: Path) -> None:
    ran = run_factory("status", "--json", cwd=workspace)
    assert ran.code == 0 and ran.stderr == "", ran.stderr
    config = workspace / "factory.toml"
    config.write_text(
        config.read_text()
        + '\n[datasets.extra]\nsource = "x.csv"\ntime_column = "t"\nschema = "weather_v1"\n'
        'entity_columns = ["a"]\ntime_zone = "UTC"\n'
    )
    again = run_factory("status", "--json", cwd=workspace)
    assert again.code == 0 and again.stderr == "", again.stdout + again.stderr
