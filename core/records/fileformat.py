"""Reading and writing a card file without losing a human's words.

A card is `---`, YAML frontmatter, `---`, then a Markdown body. Generated sections sit
between `<!-- factory:begin NAME -->` and `<!-- factory:end NAME -->`; a write replaces only
the text between those markers (adding a missing section at the end) and leaves every other
byte of the body as the human left it. A frontmatter that does not parse, or that writes a
key twice in one mapping, is reported with the file and line and is never overwritten.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.foundation.errors import ExitCode, FactoryError

BEGIN = "<!-- factory:begin {name} -->"
END = "<!-- factory:end {name} -->"
_MARKER = re.compile(r"^<!-- factory:(begin|end) ([a-z0-9_-]+) -->[ \t]*$", re.MULTILINE)


def _yaml() -> Any:
    import yaml

    return yaml


_MERGE_TAG = "tag:yaml.org,2002:merge"


def loader() -> Any:
    """YAML's safe loader (the C one when built) that refuses a key written twice in one
    mapping: plain YAML keeps the last and drops the first without a word, which on a card
    would lose a tier or a list of plans a person pasted in."""
    yaml = _yaml()
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class UniqueKeys(base):  # type: ignore[misc, valid-type]
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            if isinstance(node, yaml.MappingNode):
                first_line: dict[tuple[str, str], int] = {}
                for key_node, _value in node.value:
                    if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
                        continue
                    key = (key_node.tag, key_node.value)
                    if key in first_line:
                        raise DuplicateKey(key_node.value, first_line[key], key_node.start_mark)
                    first_line[key] = key_node.start_mark.line
            return super().construct_mapping(node, deep=deep)

    return UniqueKeys


class DuplicateKey(Exception):
    """A mapping names `key` twice; `first` is the 0-based line of the first, `mark` the
    position of the second."""

    def __init__(self, key: str, first: int, mark: Any) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key = key
        self.first = first
        self.mark = mark


def dumper() -> Any:
    yaml = _yaml()
    base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    class NoAliases(base):  # type: ignore[misc, valid-type]
        """Writes shared values out in full: a person reads the card, not `*id001`."""

        def ignore_aliases(self, data: Any) -> bool:
            return True

    return NoAliases


def broken(path: Path, line: int | None, problem: str, hint: str) -> FactoryError:
    where = f"{path}:{line}" if line else str(path)
    return FactoryError(
        "card_invalid",
        f"{where}: {problem}",
        hint=hint,
        details={"path": str(path), "line": line, "problem": problem},
        exit_code=ExitCode.INPUT,
    )


def split(path: Path, text: str) -> tuple[dict[str, Any], str]:
    """(frontmatter, body) of a card file's text; raises `card_invalid` naming the line."""
    yaml = _yaml()
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip("\r\n") != "---":
        raise broken(
            path,
            1,
            "the card does not start with a '---' frontmatter line",
            "Restore the frontmatter block (---, YAML, ---) at the top of the file.",
        )
    closing = next((i for i in range(1, len(lines)) if lines[i].rstrip("\r\n") == "---"), None)
    if closing is None:
        raise broken(
            path,
            1,
            "the frontmatter block is never closed by a '---' line",
            "Add the closing '---' line after the YAML.",
        )
    source = "".join(lines[1:closing])
    try:
        meta = yaml.load(source, Loader=loader()) if source.strip() else {}
    except DuplicateKey as exc:
        # +2: the YAML starts on the file's second line and marks count from zero.
        raise broken(
            path,
            exc.mark.line + 2,
            f"key '{exc.key}' is written twice in the frontmatter (first on line "
            f"{exc.first + 2}); YAML would silently keep only the second",
            f"Merge the two '{exc.key}' entries into one by hand (factory never overwrites a "
            "card it cannot read), or restore it with `git checkout -- " + path.name + "`.",
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        # +2: the YAML starts on the file's second line and marks count from zero.
        line = mark.line + 2 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise broken(
            path,
            line,
            f"the frontmatter is not valid YAML ({problem})",
            "Fix the YAML by hand (factory never overwrites a card it cannot read), "
            "or restore it with `git checkout -- " + path.name + "`.",
        ) from exc
    if not isinstance(meta, dict):
        raise broken(
            path,
            2,
            "the frontmatter is not a mapping of keys to values",
            "The frontmatter must be YAML 'key: value' lines.",
        )
    return meta, "".join(lines[closing + 1 :])


def check_markers(path: Path, body: str, body_line: int) -> None:
    """Refuse a body whose markers do not pair up: rewriting it could eat human text."""
    open_name: str | None = None
    open_line = 0
    for match in _MARKER.finditer(body):
        kind, name = match.group(1), match.group(2)
        line = body_line + body.count("\n", 0, match.start())
        if kind == "begin":
            if open_name is not None:
                raise broken(
                    path,
                    open_line,
                    f"section '{open_name}' is not closed before '{name}' begins",
                    f"Add '{END.format(name=open_name)}' or remove the begin marker.",
                )
            open_name, open_line = name, line
        else:
            if open_name != name:
                raise broken(
                    path,
                    line,
                    f"end marker for '{name}' without its begin marker",
                    f"Add '{BEGIN.format(name=name)}' above it or remove the end marker.",
                )
            open_name = None
    if open_name is not None:
        raise broken(
            path,
            open_line,
            f"section '{open_name}' is never closed",
            f"Add '{END.format(name=open_name)}' after the section.",
        )


def _literal(text: str) -> Callable[[re.Match[str]], str]:
    """A `re.sub` replacement that inserts `text` as it is (no backslash escapes)."""
    return lambda _match: text


def replace_sections(body: str, sections: dict[str, str]) -> str:
    """`body` with each named section's content replaced; missing sections are appended."""
    for name, content in sections.items():
        begin, end = BEGIN.format(name=name), END.format(name=name)
        block = f"{begin}\n{content.rstrip()}\n{end}"
        pattern = re.compile(
            r"^" + re.escape(begin) + r"[ \t]*$.*?^" + re.escape(end) + r"[ \t]*$",
            re.MULTILINE | re.DOTALL,
        )
        if pattern.search(body):
            body = pattern.sub(_literal(block), body, count=1)
        else:
            body = body.rstrip("\n") + ("\n\n" if body.strip() else "") + block + "\n"
    return body


def _dump(value: Any) -> str:
    return str(
        _yaml().dump(
            value, Dumper=dumper(), sort_keys=False, allow_unicode=True,
            default_flow_style=False, width=100,
        )
    )  # fmt: skip


def dump_frontmatter(meta: dict[str, Any]) -> str:
    """The frontmatter's YAML, keys in the order of `meta`."""
    return _dump(meta)


def join(meta: dict[str, Any], body: str) -> str:
    """The card's text: the inverse of `split`, so every byte of `body` lands as it was
    (a blank line a person left under the frontmatter included)."""
    front = dump_frontmatter(meta) if meta else ""
    return f"---\n{front}---\n{body}"
