"""Time columns with UTC offsets, through the real `factory` command (ADR 0020).

Default: the wall-clock time as written in the source (offsets dropped, local dates and
hours kept); `time_zone = "UTC"` converts to UTC; an IANA zone converts to its wall clock.
Naive times are kept as they are in every mode. The manifest says what was seen and done.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_factory

HEADER = "date,precipitation,temp_max,temp_min,wind,weather"
VALUES = "0.0,10.0,1.0,2.0,sun"

# What pandas writes for a daily series in Europe/Paris across the spring clock change.
PARIS_SPRING = [
    "2024-03-29T00:00:00+01:00",
    "2024-03-30T00:00:00+01:00",
    "2024-03-31T00:00:00+01:00",
    "2024-04-01T00:00:00+02:00",
    "2024-04-02T00:00:00+02:00",
]

# Hourly Europe/Paris across the autumn fall-back: 02:00 local happens twice.
PARIS_FALL_BACK_HOURLY = [
    "2024-10-27T00:00:00+02:00",
    "2024-10-27T01:00:00+02:00",
    "2024-10-27T02:00:00+02:00",
    "2024-10-27T02:00:00+01:00",
    "2024-10-27T03:00:00+01:00",
]

# The embedded Seattle weather snapshot id before time zones were handled (pandas 2.3,
# factory's content hash): naive data must keep its content id.
WEATHER_SNAPSHOT_ID = "ds-b08231b62481"


def csv(times: list[str]) -> str:
    return "\n".join([HEADER, *(f"{t},{VALUES}" for t in times)]) + "\n"


def add_dataset(
    ws: Path, name: str, source: str, time_zone: str | None, schema: bool = True
) -> None:
    lines = [f"\n[datasets.{name}]", f'source = "{source}"', 'time_column = "date"']
    if schema:
        lines.append('schema = "weather_v1"')
    if time_zone is not None:
        lines.append(f'time_zone = "{time_zone}"')
    config = ws / "factory.toml"
    config.write_text(config.read_text() + "\n".join(lines) + "\n")


def test_changing_offsets_keep_the_local_dates_by_default(workspace: Path) -> None:
    (workspace / "paris.csv").write_text(csv(PARIS_SPRING))
    checked = run_factory("validate", "paris.csv", "--dataset", "weather", "--json", cwd=workspace)
    assert checked.code == 0, checked.stdout + checked.stderr
    assert checked.doc["data"]["verdict"] == "valid"
    ran = run_factory(
        "data", "snapshot", "paris.csv", "--dataset", "weather", "--json", cwd=workspace
    )
    assert ran.code == 0, ran.stdout + ran.stderr
    manifest = ran.doc["data"]["manifest"]
    assert manifest["time_range"] == ["2024-03-29T00:00:00", "2024-04-02T00:00:00"]
    assert manifest["distinct_times"] == 5
    assert manifest["source_time_zone"] == {"offsets": ["+01:00", "+02:00"], "mode": "wall_clock"}
    assert manifest["dtypes"]["date"] == "datetime64[ns]"


def test_one_offset_east_of_utc_keeps_the_local_date_and_hour(workspace: Path) -> None:
    tokyo = ["2024-01-01T00:00:00+09:00", "2024-01-02T00:00:00+09:00"]
    (workspace / "tokyo.csv").write_text(csv(tokyo))
    ran = run_factory(
        "data", "snapshot", "tokyo.csv", "--dataset", "weather", "--json", cwd=workspace
    )
    assert ran.code == 0, ran.stdout
    manifest = ran.doc["data"]["manifest"]
    assert manifest["time_range"] == ["2024-01-01T00:00:00", "2024-01-02T00:00:00"]
    assert manifest["source_time_zone"] == {"offsets": ["+09:00"], "mode": "wall_clock"}


def test_utc_mode_converts_to_utc(workspace: Path) -> None:
    (workspace / "paris.csv").write_text(csv(PARIS_SPRING))
    add_dataset(workspace, "paris", "paris.csv", "UTC")
    ran = run_factory("data", "snapshot", "--dataset", "paris", "--json", cwd=workspace)
    assert ran.code == 0, ran.stdout
    manifest = ran.doc["data"]["manifest"]
    assert manifest["time_range"] == ["2024-03-28T23:00:00", "2024-04-01T22:00:00"]
    assert manifest["source_time_zone"] == {"offsets": ["+01:00", "+02:00"], "mode": "UTC"}


def test_a_zone_name_converts_to_that_zones_wall_clock(workspace: Path) -> None:
    utc = ["2024-03-30T23:00:00Z", "2024-03-31T22:00:00Z"]
    (workspace / "utc.csv").write_text(csv(utc))
    add_dataset(workspace, "paris", "utc.csv", "Europe/Paris")
    ran = run_factory("data", "snapshot", "--dataset", "paris", "--json", cwd=workspace)
    assert ran.code == 0, ran.stdout
    manifest = ran.doc["data"]["manifest"]
    assert manifest["time_range"] == ["2024-03-31T00:00:00", "2024-04-01T00:00:00"]
    assert manifest["source_time_zone"] == {"offsets": ["+00:00"], "mode": "Europe/Paris"}


@pytest.mark.slow
def test_naive_times_are_kept_in_every_mode(workspace: Path) -> None:
    naive = ["2024-03-30", "2024-03-31", "2024-04-01"]
    (workspace / "naive.csv").write_text(csv(naive))
    for name, zone in (("plain", None), ("utc", "UTC"), ("paris", "Europe/Paris")):
        add_dataset(workspace, name, "naive.csv", zone)
        ran = run_factory("data", "snapshot", "--dataset", name, "--json", cwd=workspace)
        assert ran.code == 0, ran.stdout
        manifest = ran.doc["data"]["manifest"]
        assert manifest["time_range"] == ["2024-03-30T00:00:00", "2024-04-01T00:00:00"]
        assert manifest["source_time_zone"] == {
            "offsets": "naive",
            "mode": "wall_clock" if zone is None else zone,
        }


def test_tz_aware_parquet_keeps_its_wall_clock(workspace: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {
            "date": pd.date_range("2024-03-29", periods=5, freq="D", tz="Europe/Paris"),
            "precipitation": 0.0,
            "temp_max": 10.0,
            "temp_min": 1.0,
            "wind": 2.0,
            "weather": "sun",
        }
    )
    frame.to_parquet(workspace / "paris.parquet")
    ran = run_factory(
        "data", "snapshot", "paris.parquet", "--dataset", "weather", "--json", cwd=workspace
    )
    assert ran.code == 0, ran.stdout
    manifest = ran.doc["data"]["manifest"]
    assert manifest["time_range"] == ["2024-03-29T00:00:00", "2024-04-02T00:00:00"]
    assert manifest["source_time_zone"] == {"offsets": ["+01:00", "+02:00"], "mode": "wall_clock"}


@pytest.mark.slow
def test_fall_back_duplicates_in_wall_clock_are_refused_with_the_way_out(
    workspace: Path,
) -> None:
    (workspace / "hourly.csv").write_text(csv(PARIS_FALL_BACK_HOURLY))
    add_dataset(workspace, "hourly", "hourly.csv", None, schema=False)
    ran = run_factory("validate", "hourly.csv", "--dataset", "hourly", "--json", cwd=workspace)
    assert ran.code == 1, ran.stdout
    failures = ran.doc["data"]["failures"]
    assert [(f["line"], f["check"]) for f in failures] == [(5, "time_unique")]
    message = failures[0]["message"]
    assert "line 4" in message and "2024-10-27 02:00:00" in message
    assert 'time_zone = "UTC"' in message
    stored = run_factory("data", "snapshot", "--dataset", "hourly", "--json", cwd=workspace)
    assert stored.code == 1 and 'time_zone = "UTC"' in stored.doc["error"]["message"]
    assert not (workspace / "data" / "snapshots").exists() or not any(
        (workspace / "data" / "snapshots").iterdir()
    )

    add_dataset(workspace, "hourly_utc", "hourly.csv", "UTC", schema=False)
    fixed = run_factory("data", "snapshot", "--dataset", "hourly_utc", "--json", cwd=workspace)
    assert fixed.code == 0, fixed.stdout
    manifest = fixed.doc["data"]["manifest"]
    assert manifest["distinct_times"] == 5
    assert manifest["time_range"] == ["2024-10-26T22:00:00", "2024-10-27T02:00:00"]


@pytest.mark.slow
def test_naive_rows_among_offsets_cannot_be_converted(workspace: Path) -> None:
    times = ["2024-03-30T00:00:00+01:00", "2024-03-31T00:00:00", "2024-04-01T00:00:00+02:00"]
    (workspace / "mixed.csv").write_text(csv(times))
    add_dataset(workspace, "mixed", "mixed.csv", "UTC")
    ran = run_factory("validate", "mixed.csv", "--dataset", "mixed", "--json", cwd=workspace)
    assert ran.code == 1, ran.stdout
    failures = ran.doc["data"]["failures"]
    assert [(f["line"], f["check"]) for f in failures] == [(3, "time_zone_naive")]
    # Keeping the wall clock needs no offset: the same file is fine without time_zone.
    kept = run_factory("validate", "mixed.csv", "--dataset", "weather", "--json", cwd=workspace)
    assert kept.code == 0, kept.stdout


def test_an_unknown_zone_is_a_config_error_with_file_and_line(workspace: Path) -> None:
    add_dataset(workspace, "paris", "paris.csv", "Europe/Pariss")
    text = (workspace / "factory.toml").read_text()
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if ln.startswith("time_zone"))
    ran = run_factory("status", "--json", cwd=workspace)
    assert ran.code == 3, ran.stdout
    error = ran.doc["error"]
    assert error["code"] == "config_invalid"
    assert f"factory.toml:{line}" in error["message"] and "Europe/Pariss" in error["message"]
    assert "Europe/Paris" in error["hint"]


def test_the_embedded_weather_keeps_its_snapshot_id(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    assert run_factory("init", str(root), "--json").code == 0
    ran = run_factory("data", "snapshot", "--dataset", "weather", "--json", cwd=root)
    assert ran.code == 0, ran.stdout
    assert ran.doc["data"]["snapshot_id"] == WEATHER_SNAPSHOT_ID
    assert ran.doc["data"]["manifest"]["source_time_zone"] == {
        "offsets": "naive",
        "mode": "wall_clock",
    }
