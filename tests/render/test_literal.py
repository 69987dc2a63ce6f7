"""Every string a user or the data gave is shown as literal text: Rich never reads it as
markup, so `[datasets.h]` stays and `[/tmp]` does not crash the command."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from rich.console import Console

from core.render import markdown, rich_text
from tests.render.conftest import markdown_output, rich_output, samples

SAMPLES = samples()
KEPT = re.compile(r"(?:[a-z]+-[0-9a-f]{8,}|\d{4}-\d{2}-\d{2}.*)")
"""Ids and times stay as they are: views look them up and parse them."""


def _bracketed(value: Any) -> Any:
    """Every other string of `value` with ` [/]` appended: markup would refuse it."""
    if isinstance(value, str):
        return value if KEPT.fullmatch(value) else value + " [/]"
    if isinstance(value, list):
        return [_bracketed(v) for v in value]
    if isinstance(value, dict):
        return {k: _bracketed(v) for k, v in value.items()}
    return value


def _print(render: Any, *args: Any) -> str:
    console = Console(width=100, file=io.StringIO(), color_system=None, record=True)
    render(console, *args)
    return console.export_text()


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_view_shows_strings_with_brackets_literally(name: str) -> None:
    doc = SAMPLES[name]
    bracketed = _bracketed(doc["data"])
    output = rich_output(doc["schema"], bracketed, 100)  # markup would raise MarkupError
    if bracketed != doc["data"]:
        assert "[/]" in output


def test_a_config_error_keeps_its_table_name() -> None:
    error = {
        "code": "config_invalid",
        "message": "factory.toml:9: [datasets.h] bogus: unknown key 'bogus'",
        "hint": "Keys of [datasets.h]: source, time_column. Or see [/tmp]",
        "details": {"failures": [{"line": 9, "message": "[datasets.h] needs [bold]source[/bold]"}]},
    }
    shown = _print(rich_text.render_error, "status", error)
    assert "[datasets.h] bogus" in shown and "Keys of [datasets.h]" in shown
    assert "[/tmp]" in shown and "[bold]source[/bold]" in shown
    assert "[datasets.h] bogus" in markdown.render_error("status", error)


def test_generic_layout_shows_keys_and_values_literally() -> None:
    data = {
        "[key]": "[value] and [/x]",
        "rows": [{"[col]": "[cell]", "n": 1}, {"[col]": "[/cell]", "n": 2}],
        "nested": {"[inner]": ["[a]", "[b]"]},
    }
    from core.foundation.suggest import Next

    step = Next("factory x [--flag]", "because [bold]reasons[/bold]")
    shown = _print(rich_text.render, "x", "factory.unknown/1", data, [step])
    for words in ("[key]", "[value] and [/x]", "[col]", "[cell]", "[/cell]", "[inner]", "[a], [b]"):
        assert words in shown
    assert "factory x [--flag]" in shown and "because [bold]reasons[/bold]" in shown


def test_the_dashboard_tables_show_strings_literally() -> None:
    from tui.widgets.render import key_values, rows_table

    console = Console(width=100, file=io.StringIO(), color_system=None, record=True)
    console.print(key_values("[title]", [("[k]", "[v] [/]")]))
    console.print(rows_table("[rows]", ["[c]"], [["[/cell]"]]))
    shown = console.export_text()
    for words in ("[title]", "[k]", "[v] [/]", "[rows]", "[c]", "[/cell]"):
        assert words in shown


BRACKETED = {
    "plan-1": "does depth help [without lags]?",
    "note-1": "deeper trees help [a little]",
    "rollback-2": "[sample] the newer one regressed",
    "adr-2": "Score [rain] by AUC",
    "validate-1": "[hail]",
    "card-1": "does depth help [without lags]?",
}


@pytest.mark.parametrize("name", list(BRACKETED))
def test_what_a_user_typed_in_brackets_is_shown(name: str) -> None:
    doc = SAMPLES[name]
    assert BRACKETED[name] in json.dumps(doc["data"], ensure_ascii=False)
    for width in (80, 120):
        # A table may wrap the words over lines; each is still there, brackets and all.
        shown = rich_output(doc["schema"], doc["data"], width).split()
        for word in BRACKETED[name].split():
            assert word in shown, f"{name} at {width} columns lost {word!r}"
    assert BRACKETED[name] in markdown_output(doc["schema"], doc["data"])
