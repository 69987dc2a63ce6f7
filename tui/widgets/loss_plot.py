"""Loss curves (learn and validation per fold) drawn with textual-plotext."""

from __future__ import annotations

from typing import Any

from textual_plotext import PlotextPlot


def curve_series(curves: Any) -> list[tuple[str, list[float]]]:
    """(label, values) per curve from the shapes a report may hold: `{fold: {split: [..]}}`,
    `[{fold, learn: [..], validation: [..]}]`, or long rows `[{fold, split, iteration, value}]`."""
    series: list[tuple[str, list[float]]] = []
    if isinstance(curves, dict) and "folds" in curves:
        curves = curves["folds"]
    if isinstance(curves, dict):
        for fold, splits in curves.items():
            if isinstance(splits, dict):
                for split, values in splits.items():
                    if isinstance(values, list):
                        series.append(
                            (f"fold {fold} {split}", [float(v) for v in values if v is not None])
                        )
    elif isinstance(curves, list) and curves and isinstance(curves[0], dict):
        if "value" in curves[0]:
            grouped: dict[str, list[tuple[int, float]]] = {}
            for row in curves:
                label = f"fold {row.get('fold')} {row.get('split') or row.get('set') or ''}".strip()
                grouped.setdefault(label, []).append(
                    (int(row.get("iteration") or 0), float(row["value"]))
                )
            series = [(label, [v for _, v in sorted(points)]) for label, points in grouped.items()]
        else:
            for entry in curves:
                fold = entry.get("fold", "?")
                for split, values in entry.items():
                    if isinstance(values, list) and values and isinstance(values[0], (int, float)):
                        series.append((f"fold {fold} {split}", [float(v) for v in values]))
    return [(label, values) for label, values in series if values]


class LossPlot(PlotextPlot):
    """Set `series` and the plot redraws; learn curves dotted, validation solid."""

    def show_curves(self, series: list[tuple[str, list[float]]], metric: str = "loss") -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(f"{metric} per iteration" if series else "no loss curves recorded for this run")
        plt.xlabel("iteration")
        for label, values in series:
            marker = "dot" if "learn" in label else "braille"
            plt.plot(list(range(len(values))), values, label=label, marker=marker)
        self.refresh()
