"""The one statistics module every verdict uses (adrs/0019).

- Offline, two runs on the same rows: `compare_losses` (Diebold-Mariano on per-row losses
  grouped by date for means over rows, DeLong for AUC), `fold_t` as the fallback for other
  metrics, and `decide`, the one better / worse / inconclusive rule.
- Many columns at once: `benjamini_hochberg`.
- Online, checked again and again: the confidence sequences in `core.stats.sequential`.

Importing this package imports neither numpy nor scipy; each function imports what it
needs, so `factory status` stays fast.
"""

from core.stats.auc import auc, delong, delong_folds
from core.stats.decide import (
    DEFAULT_MIN_N,
    Decision,
    Direction,
    Verdict,
    compare_losses,
    decide,
)
from core.stats.folds import fold_t
from core.stats.forecast import default_lag, diebold_mariano, hln_factor
from core.stats.losses import ROW_MEAN_METRICS, metric_value, row_losses
from core.stats.multiple import benjamini_hochberg
from core.stats.paired import PairedTest
from core.stats.sequential import (
    MeanDifferenceSequence,
    MeanSequence,
    ProportionDifferenceSequence,
    QuantileRatioSequence,
    QuantileRatioState,
    QuantileSequence,
    QuantileState,
    RatioVerdict,
    SequentialState,
)

__all__ = [
    "DEFAULT_MIN_N",
    "ROW_MEAN_METRICS",
    "Decision",
    "Direction",
    "MeanDifferenceSequence",
    "MeanSequence",
    "PairedTest",
    "ProportionDifferenceSequence",
    "QuantileRatioSequence",
    "QuantileRatioState",
    "QuantileSequence",
    "QuantileState",
    "RatioVerdict",
    "SequentialState",
    "Verdict",
    "auc",
    "benjamini_hochberg",
    "compare_losses",
    "decide",
    "default_lag",
    "delong",
    "delong_folds",
    "diebold_mariano",
    "fold_t",
    "hln_factor",
    "metric_value",
    "row_losses",
]
