"""Training one run: its inputs, the feature matrix, the fits, the naive baselines, and the
whole run with its report (`run.train_run`). Light on import: modules load what they need."""
