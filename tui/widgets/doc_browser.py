"""A list on the left, the chosen document rendered as Markdown on the right (cards, ADRs)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Markdown, OptionList
from textual.widgets.option_list import Option


def _label(text: str) -> Text:
    """Plain text, never markup (an ADR titled "[draft] ..." must show its brackets), one
    line, cut with an ellipsis."""
    return Text(text, no_wrap=True, overflow="ellipsis")


class DocBrowser(Horizontal):
    """`set_items` fills the list (keeping the highlight by id); `set_document` the Markdown."""

    def compose(self) -> ComposeResult:
        yield OptionList(id="doc-list")
        with VerticalScroll(id="doc-body", can_focus=True):
            yield Markdown(id="doc-markdown")

    def set_items(self, items: list[tuple[str, str]], selected: str | None) -> None:
        options = self.query_one(OptionList)
        current = [options.get_option_at_index(i).id for i in range(options.option_count)]
        if current != [item_id for item_id, _ in items]:
            with self.app.batch_update():
                options.clear_options()
                options.add_options([Option(_label(label), id=item_id) for item_id, label in items])
        else:
            for item_id, label in items:
                options.replace_option_prompt(item_id, _label(label))
        if selected is not None:
            try:
                options.highlighted = options.get_option_index(selected)
            except Exception:
                options.highlighted = 0 if items else None

    def set_document(self, markdown: str) -> None:
        self.query_one(Markdown).update(markdown)
