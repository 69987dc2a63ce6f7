"""Verdicts about runs: is B better than A, does a change help, does a run beat doing nothing
clever. Every face and every check (`compare`, `effects`, `why`, expectations, gates) asks
`core.verdicts.pairs`; the statistics themselves live in `core.stats`."""
