"""docs/cli.md is generated from the parser and must match it."""

from __future__ import annotations

import subprocess
import sys

from core.cli.docs import generate
from tests.conftest import REPO


def test_docs_cli_md_matches_the_parser() -> None:
    path = REPO / "docs" / "cli.md"
    assert path.exists(), "docs/cli.md is missing: run `python -m core.cli.docs > docs/cli.md`"
    assert path.read_text(encoding="utf-8") == generate(), (
        "docs/cli.md is out of date: run `python -m core.cli.docs > docs/cli.md`"
    )


def test_generator_covers_every_command() -> None:
    from core.cli.main import load_commands

    text = generate()
    for name in load_commands():
        assert f"## `factory {name}`" in text, name
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli.docs"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == text


def test_command_index_names_what_each_module_declares() -> None:
    """The index lets a call import one command module; it must say exactly what the modules
    declare, or a command would be unreachable (or reached through the wrong module)."""
    from core.cli.catalog import MODULES
    from core.cli.command_index import INDEX

    declared = {m.__name__.rsplit(".", 1)[-1]: tuple(c.name for c in m.COMMANDS) for m in MODULES}
    assert declared == INDEX, "update core/cli/command_index.py INDEX to match the modules"


def _help_of(parser: object, words: list[str]) -> str:
    from core.cli.docs import _subparsers

    for word in words:
        parser = _subparsers(parser)[word]  # type: ignore[arg-type]
    return parser.format_help()  # type: ignore[attr-defined]


def test_the_parser_of_one_command_is_the_whole_parsers_part(monkeypatch) -> None:
    """Each command parsed by the parser built for it alone has the same help (flags,
    defaults, text) as in the whole parser, and the same arguments for a real call."""
    from core.cli.main import build_parser, load_commands, parser_for

    monkeypatch.setenv("COLUMNS", "100")
    whole = build_parser()
    for name in load_commands():
        words = name.split()
        own, commands = parser_for(words)
        assert name in commands
        assert _help_of(own, words) == _help_of(whole, words), name
    call = ["--json", "runs", "rain", "--limit", "3", "--workspace", "x"]
    assert vars(parser_for(call)[0].parse_args(call)) == vars(whole.parse_args(call))


def test_only_the_named_commands_module_is_imported() -> None:
    code = (
        "import sys\n"
        "from core.cli.main import parser_for\n"
        "parser, commands = parser_for(['--json', 'status'])\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('core.cli.commands.'))\n"
        "print(','.join(loaded), ','.join(sorted(commands)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["core.cli.commands.status", "status"]
