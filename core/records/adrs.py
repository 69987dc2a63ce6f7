"""Architecture decision records: `adrs/NNNN-slug.md`, MADR-style with YAML frontmatter.

A new ADR takes the next number under a lock, so two processes never pick the same one.
Released ADRs are never rewritten; superseding one is the only edit ever made to an old
ADR, and it touches just its `status` and `superseded_by` frontmatter lines (adrs/0001).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from core.foundation import clock
from core.foundation.atomic import file_lock, remove_temporaries, write_text
from core.foundation.errors import ExitCode, FactoryError
from core.foundation.paths import shown
from core.foundation.workspace import Workspace

STATUSES = ("proposed", "accepted", "rejected", "deprecated", "superseded")
_FILE = re.compile(r"^(\d{4})-([a-z0-9-]+)\.md$")
_TITLE = re.compile(r"^#\s+(?:\d+\.\s*)?(.+?)\s*$", re.MULTILINE)


class AdrData(TypedDict):
    """An ADR as `adr list` lists it (`adr show` adds `body`)."""

    number: int
    title: str
    status: str
    """proposed, accepted, rejected, deprecated or superseded."""
    date: str | None
    path: str
    """Relative to the workspace root: `adrs/NNNN-slug.md`."""
    supersedes: int | None
    superseded_by: int | None
    tags: list[str]
    links: list[str]
    """What the decision is about: runs (`r-...`), models, component refs, files, ADRs."""


class AdrDetailData(AdrData):
    """An ADR with its text (`adr show`, `adr new`)."""

    body: str
    """The Markdown after the frontmatter."""


class AdrListData(TypedDict):
    adrs: list[AdrData]
    count: int


@dataclass(frozen=True)
class Adr:
    number: int
    title: str
    status: str
    date: str | None
    path: str
    supersedes: int | None = None
    superseded_by: int | None = None
    tags: tuple[str, ...] = ()
    body: str = ""
    links: tuple[str, ...] = ()
    """What the decision is about: runs (`r-...`), models, component refs, files, ADRs."""

    def to_dict(self) -> AdrData:
        return {
            "number": self.number,
            "title": self.title,
            "status": self.status,
            "date": self.date,
            "path": self.path,
            "supersedes": self.supersedes,
            "superseded_by": self.superseded_by,
            "tags": list(self.tags),
            "links": list(self.links),
        }


@dataclass(frozen=True)
class AdrList:
    adrs: list[Adr]

    def to_dict(self) -> AdrListData:
        return {"adrs": [a.to_dict() for a in self.adrs], "count": len(self.adrs)}


@dataclass(frozen=True)
class AdrDetail:
    adr: Adr

    def to_dict(self) -> AdrDetailData:
        return {**self.adr.to_dict(), "body": self.adr.body}


class SupersededData(TypedDict):
    new: AdrData
    """The ADR that replaces `old`."""
    old: AdrData
    """The replaced ADR, now `superseded`."""


@dataclass(frozen=True)
class Superseded:
    """`factory adr supersede`: the new ADR and the one it replaces."""

    new: Adr
    old: Adr

    def to_dict(self) -> SupersededData:
        return {"new": self.new.to_dict(), "old": self.old.to_dict()}


def slugify(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return slug[:60].rstrip("-") or "decision"


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        digits = re.search(r"\d+", value)
        return int(digits.group()) if digits else None
    return None


def _parse(path: Path, number: int) -> Adr:
    """The ADR in `path` (a file of a workspace's `adrs/`); its `path` is relative to the
    workspace root (`adrs/NNNN-slug.md`)."""
    from core.records.fileformat import split

    text = path.read_text(encoding="utf-8")
    meta, body = split(path, text)
    match = _TITLE.search(body)
    title = match.group(1) if match else path.stem
    status = str(meta.get("status") or "proposed")
    tags = meta.get("tags") or []
    links = meta.get("links") or []
    return Adr(
        number=number,
        title=title,
        status=status,
        date=str(meta["date"]) if meta.get("date") is not None else None,
        path=f"{path.parent.name}/{path.name}",
        supersedes=_int_or_none(meta.get("supersedes")),
        superseded_by=_int_or_none(meta.get("superseded_by")),
        tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
        body=body.lstrip("\n"),
        links=tuple(str(link) for link in links) if isinstance(links, list) else (),
    )


def _files(ws: Workspace) -> dict[int, Path]:
    found: dict[int, Path] = {}
    if ws.adrs_dir.is_dir():
        for path in sorted(ws.adrs_dir.glob("*.md")):
            match = _FILE.match(path.name)
            if match:
                found.setdefault(int(match.group(1)), path)
    return found


def list_adrs(ws: Workspace) -> AdrList:
    """Every ADR in number order (a broken one raises naming its file and line)."""
    return AdrList([_parse(path, number) for number, path in sorted(_files(ws).items())])


def get_adr(ws: Workspace, number: int) -> Adr:
    path = _files(ws).get(number)
    if path is None:
        raise FactoryError(
            "unknown_adr",
            f"No ADR {number:04d} in {ws.adrs_dir}",
            hint="List them with `factory adr list`.",
            details={"number": number},
        )
    return _parse(path, number)


def _template(
    number: int,
    title: str,
    status: str,
    context: str | None,
    supersedes: int | None,
    options: list[str] | None = None,
    decision: str | None = None,
    links: list[str] | None = None,
) -> str:
    import yaml

    meta: dict[str, Any] = {
        "status": status,
        "date": clock.now().date(),
        "decision-makers": [],
        "tags": [],
        "links": [str(link) for link in links or []],
    }
    if supersedes is not None:
        meta["supersedes"] = supersedes
    front = yaml.safe_dump(meta, sort_keys=False, default_flow_style=None, allow_unicode=True)
    replaced = f"\nSupersedes ADR {supersedes:04d}.\n" if supersedes is not None else ""
    option_lines = "\n".join(f"- {o}" for o in (options or ["Option 1", "Option 2"]))
    chosen = decision or "Chosen: **Option 1**, because ..."
    return f"""---
{front}---
# {number:04d}. {title}

## Context and problem statement

{(context or "What is the issue that motivates this decision? Name the runs, models and data involved.").strip()}
{replaced}
## Considered options

{option_lines}

## Decision outcome

{chosen.strip()}

### Consequences

- Good: ...
- Bad: ...

## Links

{chr(10).join(f"- {link}" for link in links) if links else "- Runs, models, other ADRs."}
"""


def new_adr(
    ws: Workspace,
    title: str,
    *,
    status: str = "proposed",
    context: str | None = None,
    supersedes: int | None = None,
    options: list[str] | None = None,
    decision: str | None = None,
    links: list[str] | None = None,
) -> Adr:
    """Write the next numbered ADR from the MADR template (placeholders where `context`,
    `options` or `decision` are not given: the human completes them); `links` name what it
    is about (run ids, models, component refs, files, `adr 12`)."""
    title = " ".join(title.split())
    if not title:
        raise FactoryError("adr_title_missing", "An ADR needs a title", exit_code=ExitCode.USAGE)
    if status not in STATUSES or status == "superseded":
        raise FactoryError(
            "adr_status_invalid",
            f"Status {status!r} is not one of proposed, accepted, rejected, deprecated",
            exit_code=ExitCode.USAGE,
        )
    with file_lock(ws.state_dir / "locks" / "adrs.lock"):
        remove_temporaries(ws.adrs_dir)  # a writer killed mid-write left it; git would add it
        number = max(_files(ws), default=0) + 1
        path = ws.adrs_dir / f"{number:04d}-{slugify(title)}.md"
        write_text(
            path,
            _template(number, title, status, context, supersedes, options, decision, links),
        )
    return _parse(path, number)


def _set_frontmatter_line(text: str, key: str, value: str) -> str:
    """`text` with one top-level frontmatter key set, every other byte kept."""
    lines = text.splitlines(keepends=True)
    closing = next(i for i in range(1, len(lines)) if lines[i].rstrip("\r\n") == "---")
    pattern = re.compile(rf"^{re.escape(key)}\s*:")
    for index in range(1, closing):
        if pattern.match(lines[index]):
            lines[index] = f"{key}: {value}\n"
            return "".join(lines)
    lines.insert(closing, f"{key}: {value}\n")
    return "".join(lines)


def supersede_adr(
    ws: Workspace, number: int, title: str, *, context: str | None = None
) -> tuple[Adr, Adr]:
    """A new ADR that supersedes `number`; the old one becomes `superseded` and names its
    successor. Returns (new, old)."""
    old = get_adr(ws, number)
    if old.status == "superseded":
        raise FactoryError(
            "adr_already_superseded",
            f"ADR {number:04d} is already superseded by {old.superseded_by}",
            hint=f"Supersede ADR {old.superseded_by} instead.",
            details={"number": number, "superseded_by": old.superseded_by},
        )
    new = new_adr(ws, title, status="accepted", context=context, supersedes=number)
    path = ws.root / old.path
    with file_lock(ws.state_dir / "locks" / "adrs.lock"):
        text = path.read_text(encoding="utf-8")
        text = _set_frontmatter_line(text, "status", "superseded")
        write_text(path, _set_frontmatter_line(text, "superseded_by", str(new.number)))
    return new, get_adr(ws, number)


def mentions_any(text: str, needles: list[str]) -> bool:
    """Whether `text` names any of `needles` as a whole word (`h1` is not in `h1_lr10`)."""
    return any(
        re.search(rf"(?<![A-Za-z0-9_]){re.escape(n)}(?![A-Za-z0-9_])", text, re.IGNORECASE)
        for n in needles
        if n
    )


def mentions(ws: Workspace, needles: list[str]) -> list[dict[str, Any]]:
    """ADRs whose text mentions any of `needles` (case-insensitive), with the first line
    that does."""
    found = []
    for number, path in sorted(_files(ws).items()):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        hits = [line.strip() for line in text.splitlines() if mentions_any(line, needles)]
        if not hits:
            continue
        # The sentence that says something beats the title that merely names it.
        prose = [h for h in hits if not h.startswith(("#", "links:", "tags:"))]
        title_match = _TITLE.search(text)
        found.append(
            {
                "number": number,
                "title": title_match.group(1) if title_match else path.stem,
                "path": shown(path, ws.root),
                "line": (prose or hits)[0],
            }
        )
    return found
