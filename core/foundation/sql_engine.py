"""DuckDB's engine, imported without the package's Python layer.

`import duckdb` runs the package's `__init__`, which loads its relational and expression API
and reads its own version through `importlib.metadata`: about 140 ms of a cold
`factory query` (half of the 0.3 s budget of issue 14) spent on modules factory never calls.
The compiled module `_duckdb` holds everything factory uses (connect, tokenize, the
connection, the exception classes), and the package re-exports those very objects
(`duckdb.Error is _duckdb.Error`), so code written against either behaves the same. The
version is pinned in pyproject.toml and `tests/lens/test_sql_engine.py` checks the identity,
so an upgrade that moves things fails a test instead of a user (adrs/0035).

What the package adds is Python: the relational API (`con.sql`, `con.read_parquet`,
`relation.to_arrow_reader`), set on the connection class when `duckdb` is imported. Code
that uses it imports `duckdb` itself (as `core.lens.store.connect` does); the type stubs
cannot tell the two apart.
"""

from __future__ import annotations

import _duckdb as duckdb

__all__ = ["duckdb"]
