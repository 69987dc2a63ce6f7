"""The runs table: rows keyed by run id, refreshed in place (add, update, remove by key)
inside `app.batch_update()`, so a new run at 10,000 rows neither flickers nor re-renders all.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist, RowKey

from tui import format as fmt
from tui.widgets.settled_table import SettledTable

COLUMNS: tuple[tuple[str, str], ...] = (
    ("run", "run id"),
    ("best", ""),
    ("model", "model"),
    ("metric", "metric"),
    ("mean", "mean"),
    ("spread", "± std"),
    ("skill", "skill vs naive"),
    ("when", "when"),
    ("components", "components"),
)


COMPONENT_ORDER = ("features", "hparams", "arch", "labels", "metrics")


_RANK = {kind: rank for rank, kind in enumerate(COMPONENT_ORDER)}


def _component_order(item: tuple[str, Any]) -> tuple[int, str]:
    """What changes between experiments first: features and hparams."""
    return (_RANK.get(item[0], len(_RANK)), item[0])


@dataclass(frozen=True)
class RunRow:
    """One run summary (an item of `factory runs --json` `runs`) as the table shows it."""

    run_id: str
    model: str
    components: str
    metric: str
    mean: float | None
    std: float | None
    when: str
    best: bool = False
    stamp: str = ""  # the full timestamp: runs of one minute still sort in the order they ran
    skill: float | None = None
    """Skill over the best naive baseline on the run's own rows."""
    versus: str = ""
    """The paired verdict against that baseline (better, worse, inconclusive)."""
    leaky: bool = False

    @classmethod
    def of(cls, run: dict[str, Any], best: bool = False) -> RunRow:
        components = run.get("components") or {}
        primary = run.get("primary_metric") or {}
        ordered = sorted(components.items(), key=_component_order) if components else ()
        when = run.get("finished_at") or run.get("created_at")
        baseline = run.get("baseline") or {}
        return cls(
            run_id=run["run_id"],
            model=run.get("model") or "-",
            components=" ".join(f"{k}:{v}" for k, v in ordered),
            metric=primary.get("name") or "-",
            mean=primary.get("mean"),
            std=primary.get("std"),
            when=f"{when[:10]} {when[11:16]}" if isinstance(when, str) and len(when) >= 16 else "-",
            best=best,
            stamp=when if isinstance(when, str) else "",
            skill=baseline.get("skill"),
            versus=str(baseline.get("verdict") or ""),
            leaky=bool(run.get("leaky")),
        )

    def cells(self) -> tuple[Text, ...]:
        """Rich `Text`, never `str`: DataTable would parse a str as markup (a component named
        `[v2]` would vanish) and parsing 70,000 cells costs a second at 10,000 runs."""
        return tuple(Text(cell) for cell in self.texts())

    def texts(self) -> tuple[str, ...]:
        return (
            self.run_id,
            "★" if self.best else ("leak" if self.leaky else ""),
            self.model,
            self.metric,
            fmt.number(self.mean),
            fmt.number(self.std),
            f"{fmt.number(self.skill, 3)} {self.versus}".strip() if self.versus else "-",
            self.when,
            self.components,
        )

    def sort_value(self, column: str) -> Any:
        if column == "best":
            return (not self.best, self.run_id)
        if column == "when":
            return self.stamp
        value = getattr(self, column if column != "run" else "run_id")
        if column == "skill":
            return (self.skill is None, self.skill if self.skill is not None else 0.0)
        if column in ("mean", "spread"):
            value = self.std if column == "spread" else self.mean
            return (value is None, value if value is not None else 0.0)
        return value

    def matches(self, words: Sequence[str]) -> bool:
        """Every word must match: `model=NAME` the model, `KIND:VERSION` or plain text a
        component, the model or the id."""
        for word in words:
            if word.startswith("model="):
                if self.model != word[6:]:
                    return False
            elif word not in self.components and word not in self.model and word not in self.run_id:
                return False
        return True


FIRST_SCREENFUL = 200
"""Rows added at once on a fresh fill: more than any terminal shows."""
FILL_CHUNK = 2_000


class RunsTable(SettledTable):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open", show=False),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.rows_by_id: dict[str, RunRow] = {}
        self.sort_column = "when"
        self.sort_reverse = True
        self.filling = False
        """Rows are still being added in chunks."""
        self._fill_generation = 0
        self._filling_rows: list[RunRow] = []

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def sync(self, wanted: list[RunRow]) -> tuple[int, int, int]:
        """Make the table hold exactly `wanted`, touching only what differs. Returns the
        number of rows added, changed and removed (an empty table counts all as added)."""
        self._fill_generation += 1
        if not self.rows_by_id:
            self._fill(self.sorted_rows(wanted))
            return len(wanted), 0, 0
        new = {row.run_id: row for row in wanted}
        added = changed = removed = 0
        with self.app.batch_update():
            for run_id in [r for r in self.rows_by_id if r not in new]:
                with contextlib.suppress(RowDoesNotExist):
                    self.remove_row(run_id)
                del self.rows_by_id[run_id]
                removed += 1
            for run_id, row in new.items():
                old = self.rows_by_id.get(run_id)
                if old is None:
                    self.add_row(*row.cells(), key=run_id)
                    added += 1
                elif old != row:
                    for (column, _), before, after in zip(
                        COLUMNS, old.texts(), row.texts(), strict=True
                    ):
                        if before != after:
                            with contextlib.suppress(CellDoesNotExist):
                                self.update_cell(run_id, column, Text(after))
                    changed += 1
                self.rows_by_id[run_id] = row
            if added or changed or removed:
                self.apply_sort()
        return added, changed, removed

    def sorted_rows(self, rows: list[RunRow]) -> list[RunRow]:
        column = self.sort_column
        return sorted(rows, key=lambda row: row.sort_value(column), reverse=self.sort_reverse)

    def _fill(self, ordered: list[RunRow]) -> None:
        """Fill an empty table, already in sort order: the first screenful at once, the
        rest in chunks on later turns of the event loop, so the screen is complete and
        keys answer while 10,000 rows load. A newer `sync` stops a fill in progress."""
        generation = self._fill_generation
        self.filling = True
        self._filling_rows = ordered

        def add(start: int, stop: int) -> None:
            if generation != self._fill_generation:
                return
            with self.app.batch_update():
                for row in ordered[start:stop]:
                    if row.run_id not in self.rows_by_id:
                        self.add_row(*row.cells(), key=row.run_id)
                        self.rows_by_id[row.run_id] = row
            if stop < len(ordered):
                # After a paint: the first screenful shows (and keys answer) before the rest.
                self.call_after_refresh(add, stop, stop + FILL_CHUNK)
            else:
                self.filling = False
                self.post_message(self.Filled(len(self.rows_by_id)))

        add(0, FIRST_SCREENFUL)

    class Filled(Message):
        """Every row of the current sync is in the table."""

        def __init__(self, rows: int) -> None:
            super().__init__()
            self.rows = rows

    def _measure_rows(self, new_rows: Iterable[RowKey]) -> None:
        """Column widths without Rich measurement of every cell: here each cell
        is a one-line `Text` whose width is its `cell_len` (measuring 70,000 cells took
        1.5 s at 10,000 runs; this takes a few milliseconds). Anything else falls back."""
        columns = self.ordered_columns
        widths = [column.content_width for column in columns]
        data, locations = self._data, self._row_locations
        for row_key in new_rows:
            cells = data.get(row_key)
            row = self.rows.get(row_key)
            if cells is None or row is None or locations.get(row_key) is None:
                continue
            if row.label is not None or row.auto_height:
                super()._measure_rows(new_rows)
                return
            for index, column in enumerate(columns):
                cell = cells.get(column.key)
                if not isinstance(cell, Text) or "\n" in cell.plain:
                    super()._measure_rows(new_rows)
                    return
                if cell.cell_len > widths[index]:
                    widths[index] = cell.cell_len
        for column, width in zip(columns, widths, strict=True):
            column.content_width = width
        self.virtual_size = Size(
            sum(column.get_render_width(self) for column in self.columns.values())
            + self._row_label_column_width,
            self._total_row_height + (self.header_height if self.show_header else 0),
        )

    def apply_sort(self) -> None:
        rows = self.rows_by_id
        column = self.sort_column
        # The key function receives the "run" cell, which is the run id.
        self.sort(
            "run",
            key=lambda run_id: rows[run_id.plain].sort_value(column),
            reverse=self.sort_reverse,
        )

    def sort_by(self, column: str) -> None:
        if column == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = column, column in ("when", "mean")
        if self.filling:
            # Rows still to come are in the old order: start the fill again in the new one.
            rows = self._filling_rows
            self._fill_generation += 1
            self.clear()
            self.rows_by_id = {}
            self._fill(self.sorted_rows(rows))
        else:
            self.apply_sort()

    def cursor_run(self) -> str | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except CellDoesNotExist:
            return None
        return key.value

    def visible_rows(self) -> list[tuple[str, ...]]:
        """The cells as shown, top to bottom (tests compare them with `--json`)."""
        return [tuple(str(c) for c in self.get_row_at(i)) for i in range(self.row_count)]
