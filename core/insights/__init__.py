"""Answers drawn from many runs: `why COMPONENT` and `effects MODEL`."""
