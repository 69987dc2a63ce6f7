"""A DataTable that repaints the cells it painted before it had measured their rows.

Textual (8.2.8) measures new rows when the table's message queue runs dry and keys its cell
render cache by an update counter that measuring does not move. A cell painted between
`add_row` and that measurement (a loaded machine does this) stayed cut to the column's
earlier width, the label's, until some later change: the SQL screen once showed `even` for
`events` in every row."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.widgets import DataTable
from textual.widgets.data_table import RowKey


class SettledTable(DataTable[Any]):
    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        before = [column.content_width for column in self.ordered_columns]
        self._measure_rows(new_rows)
        if [column.content_width for column in self.ordered_columns] != before:
            self._update_count += 1  # every render cache key holds it: old cells miss
            self.refresh()

    def _measure_rows(self, new_rows: Iterable[RowKey]) -> None:
        """Set the columns' content widths for `new_rows` (Textual's own measurement)."""
        super()._update_dimensions(new_rows)
