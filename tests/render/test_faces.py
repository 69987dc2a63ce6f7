"""Every schema in every face: Markdown, and Rich at 80 and 120 columns, from one real `data`
per schema (`samples/`). The ids a user pastes into the next command are shown whole, and
Rich lines fit the terminal."""

from __future__ import annotations

import pytest

from core.render import catalog
from tests.render.conftest import (
    ID_FRAGMENTS,
    IDS,
    WIDTHS,
    declared_schemas,
    ids_to_show,
    markdown_output,
    rich_output,
    samples,
)

SAMPLES = samples()
CASES = [(name, width) for name in SAMPLES for width in WIDTHS]


def _cut_ids(output: str) -> list[str]:
    """Id-like words in `output` that are not whole ids (`r-5b87c8912…`, or an id folded
    over two lines)."""
    return [m.group(0) for m in ID_FRAGMENTS.finditer(output) if not IDS.fullmatch(m.group(0))]


def test_every_schema_a_command_declares_has_a_sample() -> None:
    sampled = {doc["schema"] for doc in SAMPLES.values()}
    assert declared_schemas() - sampled == set()
    assert len(declared_schemas()) >= 38


def test_every_renderer_in_the_catalog_renders_a_sample() -> None:
    sampled = {doc["schema"] for doc in SAMPLES.values()}
    assert set(catalog.markdown()) - sampled == set()
    assert set(catalog.rich()) - sampled == set()


@pytest.mark.parametrize(("name", "width"), CASES)
def test_rich_shows_every_id_whole_and_fits_the_width(name: str, width: int) -> None:
    doc = SAMPLES[name]
    output = rich_output(doc["schema"], doc["data"], width)
    assert output.strip()
    too_wide = [line for line in output.splitlines() if len(line) > width]
    assert not too_wide, f"{name} at {width} columns:\n" + "\n".join(too_wide)
    assert _cut_ids(output) == [], f"{name} at {width} columns cuts ids:\n{output}"
    missing = ids_to_show(doc["schema"], doc["data"]) - set(IDS.findall(output))
    assert not missing, f"{name} at {width} columns does not show {sorted(missing)}:\n{output}"


@pytest.mark.parametrize("name", list(SAMPLES))
def test_markdown_shows_every_id_whole(name: str) -> None:
    """Markdown does not wrap: one rendering stands for every width."""
    doc = SAMPLES[name]
    output = markdown_output(doc["schema"], doc["data"])
    assert output.startswith("# factory x\n")
    assert _cut_ids(output) == []
    missing = ids_to_show(doc["schema"], doc["data"]) - set(IDS.findall(output))
    assert not missing, f"{name} does not show {sorted(missing)}:\n{output}"


def test_runs_at_80_columns_keeps_the_ids_compare_needs() -> None:
    doc = SAMPLES["runs-2"]
    output = rich_output(doc["schema"], doc["data"], 80)
    for run in doc["data"]["runs"]:
        assert run["run_id"] in output
    assert "…" not in output
