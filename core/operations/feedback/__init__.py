"""Feedback: outcomes joined to logged predictions, live performance and degradation."""
