"""ADRs: the decision records (`factory adr list`), and the chosen one rendered
(`factory adr show N`)."""

from __future__ import annotations

from typing import Any, ClassVar

from tui import data
from tui.screens.base import DocScreen


def adr_label(adr: dict[str, Any]) -> str:
    return f"{adr['number']:04d} [{adr['status']}] {adr['title']}"


def adr_markdown(adr: dict[str, Any]) -> str:
    links = []
    if adr.get("supersedes"):
        links.append(f"supersedes {adr['supersedes']:04d}")
    if adr.get("superseded_by"):
        links.append(f"superseded by {adr['superseded_by']:04d}")
    facts = " · ".join(
        [f"**{adr['status']}**", adr.get("date") or "undated", *links, *adr.get("tags", [])]
    )
    return f"{facts}\n\n{adr.get('body') or ''}"


class AdrsScreen(DocScreen):
    MODE = "adrs"
    AREAS: ClassVar[frozenset[str]] = frozenset({"adrs"})

    def fetch(self, key: str) -> Any:
        adrs = data.adr_list(self.ws)
        numbers = [str(a["number"]) for a in adrs]
        ref = key if key in numbers else (numbers[-1] if numbers else "")
        return {"adrs": adrs, "ref": ref, "adr": data.adr_show(self.ws, int(ref)) if ref else None}

    def show_data(self, payload: dict[str, Any]) -> None:
        self.show_documents(
            [(str(a["number"]), adr_label(a)) for a in payload["adrs"]],
            payload["ref"],
            adr_markdown(payload["adr"])
            if payload["adr"]
            else 'No ADRs yet: factory adr new "title"',
        )
