"""Compare: pick two runs; paired per-fold deltas and the verdict (`factory compare A B`)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Input, Static

from tui import data
from tui import format as fmt
from tui.screens.base import Banner, FactoryScreen
from tui.widgets.render import key_values, rows_table, stack


class CompareScreen(FactoryScreen):
    MODE = "compare"
    AUTO_FOCUS = "#compare-body"
    AREAS: ClassVar[frozenset[str]] = frozenset({"reports", "index"})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_inputs", "Pick runs"),
        Binding("escape", "leave_inputs", "Done", show=False),
    ]

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="compare-pick"):
            yield Input(placeholder="baseline run id", id="run-a")
            yield Input(placeholder="candidate run id", id="run-b")
        yield Banner(id="banner")
        with VerticalScroll(id="compare-body", can_focus=True):
            yield Static(id="compare-verdict")
            yield Static(id="compare-folds")
            yield Static(id="compare-rest")

    def load_key(self) -> str:
        pair = self.factory.compare_pair
        return f"{pair[0]} {pair[1]}" if pair else ""

    def on_show_screen(self) -> None:
        pair = self.factory.compare_pair
        if pair:
            self.query_one("#run-a", Input).value = pair[0]
            self.query_one("#run-b", Input).value = pair[1]

    def fetch(self, key: str) -> Any:
        if not key:
            return None
        run_a, run_b = key.split(" ", 1)
        return data.compare(self.ws, run_a, run_b)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        run_a = self.query_one("#run-a", Input).value.strip()
        run_b = self.query_one("#run-b", Input).value.strip()
        if event.input.id == "run-a" and not run_b:
            self.query_one("#run-b", Input).focus()
            return
        if run_a and run_b:
            self.factory.compare_pair = (run_a, run_b)
            self.query_one("#compare-body").focus()
            self.reload()

    def action_focus_inputs(self) -> None:
        self.query_one("#run-a", Input).focus()

    def action_leave_inputs(self) -> None:
        self.query_one("#compare-body").focus()

    def show_data(self, result: dict[str, Any] | None) -> None:
        if result is None:
            self.query_one("#banner", Banner).show(
                "Pick two runs: press / and type their ids, or mark two in Runs (r) with x and press c."
            )
            return
        self.sub_title = f"{result['run_b']} against {result['run_a']}"
        low, high = (result.get("interval") or [None, None]) + [None, None][
            : 2 - len(result.get("interval") or [])
        ]
        verdict = Text.assemble(
            ("Verdict: ", "bold"),
            (str(result["verdict"]).upper(), "bold reverse"),
            f"  {result.get('summary', '')}",
        )
        facts = key_values(
            None,
            [
                ("metric", f"{result['metric']} ({result['direction']})"),
                ("mean A / B", f"{fmt.number(result['mean_a'])} / {fmt.number(result['mean_b'])}"),
                (
                    "mean delta B-A",
                    f"{fmt.signed(result['mean_delta'])}  95% interval [{fmt.signed(low)}, {fmt.signed(high)}]",
                ),
                ("fold wins", f"B {result['wins_b']}, A {result['wins_a']}, ties {result['ties']}"),
            ],
        )
        self.query_one("#compare-verdict", Static).update(stack(verdict, Text(""), facts))
        rows = [
            [
                str(f["fold"]),
                f["window"],
                fmt.number(f["a"]),
                fmt.number(f["b"]),
                fmt.signed(f["delta"]),
                fmt.signed(f["improvement"]),
                f["winner"].upper(),
            ]
            for f in result["folds"]
        ]
        numeric = ["A", "B", "B-A", "improvement"]
        self.query_one("#compare-folds", Static).update(
            rows_table(
                "Paired folds",
                ["fold", "test window", "A", "B", "B-A", "improvement", "winner"],
                rows,
                numeric=numeric,
            )
        )
        others = result.get("other_metrics") or {}
        self.query_one("#compare-rest", Static).update(
            rows_table(
                "Other metrics (means)",
                ["metric", "A", "B", "B-A"],
                [
                    [
                        name,
                        fmt.number(v.get("a")),
                        fmt.number(v.get("b")),
                        fmt.signed(v.get("delta")),
                    ]
                    for name, v in others.items()
                ],
                numeric=["A", "B", "B-A"],
            )
            if others
            else ""
        )
