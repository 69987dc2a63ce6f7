"""Columnar compaction behind the SQL views (adrs/0028): run tables and log families in
Parquet, published through a manifest generation, read beside the files newer than it."""
