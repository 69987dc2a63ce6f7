"""Data benchmarks: peak memory of `factory data snapshot` and `factory validate` against the
size of a generated CSV (issue 14: a 2 GB CSV was read whole, peak about 12.6x the file).

Each measurement is the real `factory` in a fresh child process; its peak resident set comes
from `resource.getrusage(RUSAGE_CHILDREN)` of a one-shot wrapper, so one figure never mixes
with another. The file: a time per minute, several stores each (an entity column), a category,
numbers and booleans, like a user's sales export. Sizes in MB from `FACTORY_BENCH_DATA_MB`
(default `200,1000`); the whole-file read (the path before ADR 0029, forced by a chunk as
large as the file) is measured on the smallest size only (up to 300 MB), as the "before" figure.

Run with `python -m bench data` (or `make bench`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
STORES = 8
WHOLE_MAX_MB = 300
"""The whole-file read (about 11x the file) is measured up to this size only."""

WRAPPER = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
took = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(json.dumps({"code": proc.returncode, "seconds": took, "peak": peak,
                  "stdout": proc.stdout[-4000:], "stderr": proc.stderr[-4000:]}))
"""


def generate_csv(path: Path, megabytes: float, seed: int = 14) -> int:
    """A CSV of about `megabytes` MB (10**6 bytes), written by DuckDB's CSV writer (fast);
    returns its rows. Rows are in time order, as an export usually is."""
    import duckdb

    per_row = 44  # bytes of one line, measured on this generator
    rows = max(1, int(megabytes * 1_000_000 / per_row))
    target = str(path).replace("'", "''")
    con = duckdb.connect(":memory:")
    con.execute(f"SELECT setseed({(seed % 100) / 100})")
    con.execute(
        f"""COPY (
            SELECT strftime(TIMESTAMP '2015-01-01' + to_minutes(CAST(i // {STORES} AS BIGINT)),
                            '%Y-%m-%dT%H:%M:%S') AS ts,
                   'store-' || (i % {STORES}) AS store,
                   ['north', 'south', 'east', 'west'][1 + CAST(floor(random() * 4) AS INT)]
                       AS region,
                   CAST(floor(random() * 500) AS INT) AS units,
                   round(random() * 100, 3) AS price,
                   random() < 0.1 AS promo
            FROM range({rows}) r(i) ORDER BY i
        ) TO '{target}' (HEADER, DELIMITER ',')"""
    )
    con.close()
    return rows


def workspace(root: Path, source: Path) -> Path:
    from core.foundation.workspace_init import init_workspace

    init_workspace(root)
    config = root / "factory.toml"
    config.write_text(
        config.read_text(encoding="utf-8")
        + f'\n[datasets.sales]\nsource = "{source}"\ntime_column = "ts"\n'
        'entity_columns = ["store"]\n',
        encoding="utf-8",
    )
    return root


def measure(ws: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1", **(env or {})}
    full_env.pop("FACTORY_WORKSPACE", None)
    command = [sys.executable, "-m", "core.cli.main", *args, "--json"]
    proc = subprocess.run(
        [sys.executable, "-c", WRAPPER, *command],
        cwd=ws,
        env=full_env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def _line(label: str, size: int, got: dict[str, Any]) -> str:
    ok = "ok" if got["code"] == 0 else f"exit {got['code']}"
    try:
        doc = json.loads(got["stdout"])
        if not doc.get("ok"):
            ok += f" ({doc['error']['code']})"
    except (json.JSONDecodeError, KeyError, TypeError):
        pass
    return (
        f"  {label:<34} peak {got['peak'] / 2**20:8.0f} MiB  "
        f"{got['peak'] / size:6.2f}x file  {got['seconds']:7.1f} s  {ok}"
    )


def main() -> None:
    sizes = [float(s) for s in os.environ.get("FACTORY_BENCH_DATA_MB", "200,1000").split(",") if s]
    with tempfile.TemporaryDirectory(prefix="factory-bench-data-") as tmp:
        base = Path(tmp)
        for number, megabytes in enumerate(sorted(sizes)):
            source = base / f"sales-{megabytes:g}mb.csv"
            started = time.perf_counter()
            rows = generate_csv(source, megabytes)
            size = source.stat().st_size
            print(
                f"CSV {size / 2**20:.0f} MiB, {rows:,} rows ({STORES} stores per minute), "
                f"generated in {time.perf_counter() - started:.0f} s",
                flush=True,
            )
            ws = workspace(base / f"ws-{number}", source)
            got = measure(ws, "validate", str(source), "--dataset", "sales")
            print(_line("validate (streamed)", size, got), flush=True)
            got = measure(ws, "data", "snapshot", "--dataset", "sales")
            print(_line("data snapshot (streamed)", size, got), flush=True)
            if number == 0 and megabytes <= WHOLE_MAX_MB:
                whole = {"FACTORY_DATA_CHUNK_BYTES": str(size * 2)}
                again = workspace(base / f"ws-{number}-whole", source)
                got = measure(again, "data", "snapshot", "--dataset", "sales", env=whole)
                print(_line("data snapshot (read whole, before)", size, got), flush=True)
            source.unlink()
            for folder in base.glob(f"ws-{number}*"):
                subprocess.run(["rm", "-rf", str(folder)], check=False)


if __name__ == "__main__":
    main()
