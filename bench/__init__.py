"""Benchmarks: `python -m bench [NAME ...]` runs each `bench/<name>.py` module's `main()`.

They print numbers for people (and closing notes); they are not timed tests.
"""
