"""What a model card holds, as typed views of its frontmatter: `Card`, `Plan`, `Note`.

The card keeps the runs a person reads (the best, the most recent and every run a plan, a
tier, a note or an ADR names; adrs/0023), not every run: `core.records.runs.run_entry` finds
any run's facts, from the card or from the run index.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

CARD_FORMAT = 2
"""Version of the card's frontmatter layout: 2 keeps chosen runs under `runs`; a card without
`card_format` is version 1, with every run under `entries`, and is rewritten on its next write."""


@dataclass(frozen=True)
class Plan:
    plan_id: str
    model: str
    components: dict[str, str]
    intent: str
    expect: str
    status: str
    """`planned` until a run carries it out, then `trained`."""
    run_id: str | None = None
    created_at: str | None = None
    verdict: dict[str, Any] | None = None
    """The expectation check once trained: `{held, reason, checks}`."""

    @classmethod
    def from_dict(cls, model: str, raw: dict[str, Any]) -> Plan:
        return cls(
            plan_id=str(raw.get("plan_id")),
            model=model,
            components={str(k): str(v) for k, v in (raw.get("components") or {}).items()},
            intent=str(raw.get("intent") or ""),
            expect=str(raw.get("expect") or ""),
            status=str(raw.get("status") or "planned"),
            run_id=raw.get("run_id"),
            created_at=raw.get("created_at"),
            verdict=raw.get("verdict"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id,
            "model": self.model,
            "components": dict(self.components),
            "intent": self.intent,
            "expect": self.expect,
            "status": self.status,
            "run_id": self.run_id,
            "created_at": self.created_at,
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class Note:
    note_id: str
    run_id: str
    model: str
    text: str
    next: str | None
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "note_id": self.note_id,
            "run_id": self.run_id,
            "model": self.model,
            "text": self.text,
            "next": self.next,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class Card:
    model: str
    path: Path
    exists: bool
    meta: dict[str, Any]
    body: str

    @property
    def entries(self) -> list[dict[str, Any]]:
        """The runs this card keeps, oldest first (a version-1 card not yet rewritten: all of
        its entries)."""
        held = self.meta.get("runs") if "card_format" in self.meta else self.meta.get("entries")
        return [e for e in held or [] if isinstance(e, dict)]

    @property
    def run_count(self) -> int:
        """How many runs the model had when the card was last written (kept or not)."""
        count = self.meta.get("run_count")
        if isinstance(count, int) and not isinstance(count, bool):
            return max(count, len(self.entries))
        return len(self.entries)

    @property
    def best(self) -> dict[str, Any] | None:
        """The entry of the card's best run (`best_run`: the best non-leaky run of the cohort
        the workspace pointed at when the card was written, as `factory status` picks it)."""
        if "card_format" not in self.meta:
            return _legacy_best(self.entries, str(self.meta.get("direction") or "maximize"))
        best_id = self.meta.get("best_run")
        return next((e for e in self.entries if e.get("run_id") == best_id), None)

    @property
    def plans(self) -> list[Plan]:
        return [
            Plan.from_dict(self.model, p)
            for p in self.meta.get("plans") or []
            if isinstance(p, dict)
        ]

    @property
    def notes(self) -> list[dict[str, Any]]:
        return [n for n in self.meta.get("notes") or [] if isinstance(n, dict)]

    def to_dict(self) -> CardData:
        return {
            "model": self.model,
            "path": str(self.path),
            "exists": self.exists,
            "task": self.meta.get("task"),
            "primary_metric": self.meta.get("primary_metric"),
            "direction": self.meta.get("direction"),
            "entries": self.run_count,
            "kept_runs": len(self.entries),
            "best": self.best,
            "tiers": self.meta.get("tiers") or {},
            "plans": [p.to_dict() for p in self.plans],
            "notes": self.notes,
            "latest_entries": self.entries[-10:],
            "body": self.body,
        }


class CardData(TypedDict):
    """`factory card MODEL`: the card's machine state and its body."""

    model: str
    path: str
    exists: bool
    task: str | None
    primary_metric: str | None
    """The name of the model's primary metric (as the card's frontmatter has it)."""
    direction: str | None
    entries: int
    """Runs the model had when the card was last written."""
    kept_runs: int
    """Runs the card keeps (best, recent, and every run a plan, tier, note or ADR names)."""
    best: dict[str, Any] | None
    tiers: dict[str, Any]
    plans: list[dict[str, Any]]
    """Each plan as `factory plan` answers it."""
    notes: list[dict[str, Any]]
    latest_entries: list[dict[str, Any]]
    """The newest ten runs the card keeps."""
    body: str


def _legacy_best(entries: list[dict[str, Any]], direction: str) -> dict[str, Any] | None:
    """A version-1 card's best entry: the best non-leaky run of its newest entry's cohort
    (what such a card said before it is rewritten)."""
    cohort = entries[-1].get("cohort") if entries else None
    scored = [
        e
        for e in entries
        if isinstance((e.get("metric") or {}).get("mean"), (int, float))
        and not e.get("leaky")
        and e.get("cohort") == cohort
    ]
    if not scored:
        return None
    pick = min if direction == "minimize" else max
    return pick(scored, key=lambda e: e["metric"]["mean"])
