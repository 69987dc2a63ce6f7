"""Datasets: reading sources, validating them against versioned schemas, and immutable
content-addressed snapshots."""
