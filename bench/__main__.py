"""Run every benchmark module's `main()` in name order, or only those named."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    folder = Path(__file__).resolve().parent
    return sorted(
        info.name for info in pkgutil.iter_modules([str(folder)]) if not info.name.startswith("_")
    )


def main(argv: list[str]) -> int:
    names = available()
    chosen = argv or names
    unknown = [name for name in chosen if name not in names]
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(names)}",
            file=sys.stderr,
        )
        return 2
    for name in chosen:
        print(f"== bench {name} ==", flush=True)
        module = importlib.import_module(f"bench.{name}")
        module.main()
        print(flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
