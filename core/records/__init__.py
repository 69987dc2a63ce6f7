"""Records: the written memory of the work: model cards (plans, runs, notes, tiers),
expectations and ADRs."""
