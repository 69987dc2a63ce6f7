"""What to do next: one suggested command with the reason to run it now, and a priority.

Every envelope's `next` is a list of these (`{"command", "reason", "priority"}`, adrs/0025),
ordered high, normal, low (stable) with no command twice. A suggestion must run as written:
no placeholder (`<a note>`, `RUN_ID`, `ds-...`, `$EDITOR`) ever reaches a user or an
assistant, because a placeholder copied as is does something else than intended (a plan of
the default components, a note that says "what you learned"). Where a value is unknown, the
suggestion is the command that finds it, or nothing.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Priority = Literal["high", "normal", "low"]
PRIORITIES: tuple[Priority, ...] = ("high", "normal", "low")
"""Most urgent first: the order of `next`."""


@dataclass(frozen=True)
class Next:
    """One suggested command."""

    command: str
    """A whole `factory ...` command line that runs as written (shell-quoted)."""
    reason: str
    """One line: what the command will tell or do, and why now."""
    priority: Priority = "normal"
    """`high` (act on it before anything else: a failure, an open problem), `normal`, or
    `low` (worth knowing, not urgent)."""

    def to_dict(self) -> dict[str, Any]:
        return {"command": self.command, "reason": self.reason, "priority": self.priority}

    @classmethod
    def of(cls, item: Suggestion) -> Next:
        """`item` as a `Next`: a bare command string gets an empty reason (a command still
        to be given one: tests/test_next_steps.py fails on it), a mapping is an envelope's
        own item read back (a job's stored result)."""
        if isinstance(item, Next):
            return item
        if isinstance(item, str):
            return cls(item, "")
        priority = item.get("priority")
        return cls(
            str(item.get("command") or ""),
            str(item.get("reason") or ""),
            priority if priority in PRIORITIES else "normal",
        )


Suggestion = Next | str | Mapping[str, Any]
"""What a command may hand over as one `next` item."""


def high(command: str, reason: str) -> Next:
    return Next(command, reason, "high")


def low(command: str, reason: str) -> Next:
    return Next(command, reason, "low")


def factory(*words: str) -> str:
    """`factory WORD...` with each word shell-quoted where it needs it (a note, a path)."""
    return " ".join(["factory", *(shlex.quote(w) for w in words)])


def ordered(items: Iterable[Suggestion]) -> list[Next]:
    """`items` as `Next`s, most urgent first (stable within a priority), each command once:
    a command suggested twice keeps its most urgent priority and that suggestion's reason."""
    chosen: dict[str, tuple[int, Next]] = {}
    for position, item in enumerate(items):
        found = Next.of(item)
        if not found.command:
            continue
        held = chosen.get(found.command)
        if held is None:
            chosen[found.command] = (position, found)
        elif PRIORITIES.index(found.priority) < PRIORITIES.index(held[1].priority):
            chosen[found.command] = (held[0], found)
    return [
        n
        for _, n in sorted(
            chosen.values(), key=lambda pair: (PRIORITIES.index(pair[1].priority), pair[0])
        )
    ]


_ANGLE = re.compile(r"<[A-Za-z][^<>]*>")
_UPPER = re.compile(r"[A-Z][A-Z0-9_]*")
_FLAG_VALUE = re.compile(r"--[a-z][a-z0-9-]*=(.*)")


def placeholder(command: str) -> str | None:
    """The placeholder in `command` (`<a note>`, `...`, `ds-...`, `RUN_ID`, `MODEL`,
    `$EDITOR`), or None when it runs as written. A quoted multi-word argument (SQL, a note)
    is one word: its upper-case keywords are not placeholders."""
    try:
        words = shlex.split(command)
    except ValueError:
        return command  # unbalanced quotes: it cannot run as written
    for word in words:
        value = m.group(1) if (m := _FLAG_VALUE.fullmatch(word)) else word
        if _ANGLE.search(value) or "..." in value or "…" in value:
            return word
        if value.startswith("$") or (value.startswith("[") and value.endswith("]")):
            return word
        if "|" in value and " " not in value:  # `staging|prod`: a choice, not a value
            return word
        if len(value) > 1 and _UPPER.fullmatch(value):
            return word
    return None


_BACKTICKED = re.compile(r"`(factory(?: [^`]*)?)`")


def from_hint(hint: str | None) -> list[Next]:
    """The `factory ...` commands a hint names in backticks, as high-priority suggestions
    whose reason is the hint's sentence holding them; a command with a placeholder is left
    out (it does not run as written)."""
    if not hint:
        return []
    found: list[Next] = []
    for sentence in _sentences(hint):
        for match in _BACKTICKED.finditer(sentence):
            command = match.group(1).strip()
            if placeholder(command) is None:
                found.append(high(command, sentence.strip()))
    return ordered(found)


def _sentences(text: str) -> list[str]:
    """`text` cut into sentences at `.`, `;`, `!` or `?` followed by a space (or the end),
    outside backticks, so a file name or a version (`h2.toml`) does not end one."""
    out: list[str] = []
    current: list[str] = []
    quoted = False
    for position, char in enumerate(text):
        current.append(char)
        if char == "`":
            quoted = not quoted
        elif not quoted and char in ".;!?" and text[position + 1 : position + 2].strip() == "":
            out.append("".join(current).strip().rstrip(";").strip())
            current = []
    out.append("".join(current).strip())
    return [s for s in out if s]


def within(items: Iterable[Suggestion], workspace: str | None) -> list[Next]:
    """`items` for a caller that named its workspace (`--workspace DIR`): each `factory`
    command names it too, so it runs on that workspace from any folder, as written."""
    found = ordered(items)
    if not workspace:
        return found
    flag = f"factory --workspace {shlex.quote(workspace)} "
    return [
        n
        if not n.command.startswith("factory ") or "--workspace" in shlex.split(n.command)
        else Next(flag + n.command.removeprefix("factory "), n.reason, n.priority)
        for n in found
    ]
