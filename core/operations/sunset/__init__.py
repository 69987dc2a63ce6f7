"""Sunset: candidates for retirement, retiring a run, and removing what only it used."""
