"""The dashboard's screens: mode name, key, label and what the palette says about each."""

from __future__ import annotations

SCREENS: tuple[tuple[str, str, str, str], ...] = (
    ("overview", "o", "Overview", "Models, tiers, best and last runs, what to do next"),
    ("runs", "r", "Runs", "Every run: sort, filter by model or component"),
    ("detail", "d", "Detail", "The selected run: folds, curves, importance, reproducibility"),
    ("compare", "c", "Compare", "Two runs side by side: paired per-fold deltas and verdict"),
    ("cards", "k", "Cards", "Model cards: registry and notes"),
    ("adrs", "a", "ADRs", "Architecture decision records"),
    ("history", "h", "History", "Sessions over time and what happened in each"),
    (
        "live",
        "l",
        "Live",
        "Serving tiers, rollouts and their criteria, live performance, degrading, sunset",
    ),
    ("sql", "s", "SQL", "Read-only SQL over the workspace views"),
)
