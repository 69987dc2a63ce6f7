"""`python -m core.cli.docs > docs/cli.md`: every command's `--help`, from the parser.

The reference is generated, never written by hand, so it cannot drift from the code;
`tests/test_cli_docs.py` fails when docs/cli.md differs from what this prints.
"""

from __future__ import annotations

import argparse
import os
import sys

from core.cli.main import build_parser

HEADER = """\
# factory command reference

Generated from the parser by `python -m core.cli.docs > docs/cli.md`; do not edit by hand.
Every command also takes `--json` (one envelope on stdout, see
`adrs/0003-json-envelope-and-versioned-schemas.md` and `adrs/0025`: `next` items carry a reason
and a priority; each `schema`'s JSON Schema is in `docs/schemas/`), `--fields KEYS` (only those
keys of `data`), `--md` and `--workspace DIR`.
"""


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _walk(
    parser: argparse.ArgumentParser, words: list[str]
) -> list[tuple[str, argparse.ArgumentParser]]:
    found = [(" ".join(words), parser)]
    for name, child in sorted(_subparsers(parser).items()):
        found.extend(_walk(child, [*words, name]))
    return found


def generate() -> str:
    """The Markdown reference: the top-level help, then each command's, in name order."""
    # A fixed width keeps the text the same on every terminal.
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    try:
        parser = build_parser()
        sections = [HEADER]
        for name, sub in _walk(parser, ["factory"]):
            sections.append(f"## `{name}`\n\n```text\n{sub.format_help().rstrip()}\n```\n")
    finally:
        if previous is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = previous
    return "\n".join(sections)


def main() -> None:
    sys.stdout.write(generate())


if __name__ == "__main__":
    main()
