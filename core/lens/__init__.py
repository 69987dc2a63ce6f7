"""The SQL lens: DuckDB views over the workspace's files, locked before a statement runs."""
