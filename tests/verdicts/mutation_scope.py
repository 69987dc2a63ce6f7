"""`make mutate`: the decision rules mutmut mutates, and the score per module.

A test that still passes when a rule is inverted is a defect, so every rule below is mutated
(`mutmut`, configured in `[tool.mutmut]` of pyproject.toml) and the fast tests of
`tests/stats` and `tests/verdicts` must kill at least `--min` percent of the mutants.

In scope: every function of `core.stats`, of the pair and baseline verdicts (the latter
scored in `core.experiments.training.skill`), the expectation rules of `core.records.expect`, and the pure rules of the
modules whose entry points need a workspace (gates, the point-in-time check, drift,
new data). The rest of those modules is tested end to end elsewhere, not here.

    python -m tests.verdicts.mutation_scope run      # mutate, then print the score
    python -m tests.verdicts.mutation_scope          # the score of the last run
"""

from __future__ import annotations

import argparse
import collections
import fnmatch
import subprocess
import sys
from pathlib import Path

WHOLE_MODULES = (
    "core.stats.*",
    "core.verdicts.pairs",
    "core.verdicts.baselines",
    "core.experiments.training.skill",
    "core.records.expect",
)
"""Modules mutated in full (fnmatch patterns on the dotted module name)."""

RULES: dict[str, tuple[str, ...]] = {
    "core.operations.gates": (
        "ratio_within",
        "within_budget",
        "enough_wins",
        "beats",
        "comparison_criteria",
        "_beats_baseline",
        "_latency",
        "_cost",
        "_num",
        "_fmt",
        "Criterion.to_dict",
    ),
    "core.experiments.pit": (
        "same_cells",
        "plan_cuts",
        "_bit_reversed_order",
        "_coverage",
        "_compare",
        "_floats",
        "_texts",
        "_Reference.*",
        "violation_cells",
        "point_in_time_ok",
        "_summary",
    ),
    "core.operations.drift": ("column_drifted", "dataset_drifted"),
    "core.operations.newdata": ("new_data_verdict",),
}
"""Module -> the pure rule functions mutated there (`Class.method` for a method)."""

SEPARATOR = "ǁ"
"""How mutmut joins a class and its method in a mutant's name (`xǁClassǁmethod`)."""


def _mangled(function: str) -> str:
    if "." in function:
        cls, method = function.split(".", 1)
        return f"x{SEPARATOR}{cls}{SEPARATOR}{method}"
    return f"x_{function}"


def patterns() -> list[str]:
    """The mutant names in scope, as the globs `mutmut run` takes."""
    out = [f"{module}.x*__mutmut_*" for module in WHOLE_MODULES]
    for module, functions in RULES.items():
        out += [f"{module}.{_mangled(f)}__mutmut_*" for f in functions]
    return out


def split_name(mutant: str) -> tuple[str, str]:
    """(module, function) of a mutant name such as `core.stats.folds.x_fold_t__mutmut_3`."""
    parts = mutant.split(".")
    at = next(i for i, p in enumerate(parts) if p.startswith(("x_", f"x{SEPARATOR}")))
    return ".".join(parts[:at]), ".".join(parts[at:]).rsplit("__mutmut_", 1)[0]


def in_scope(mutant: str) -> bool:
    return any(fnmatch.fnmatchcase(mutant, p) for p in patterns())


def results(mutmut: str) -> dict[str, str]:
    """Mutant name -> status (`killed`, `survived`, `no tests`, `timeout`, ...)."""
    done = subprocess.run(
        [mutmut, "results", "--all", "true"], capture_output=True, text=True, check=True
    )
    out: dict[str, str] = {}
    for line in done.stdout.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and "__mutmut_" in name:
            out[name] = status
    return out


def score(statuses: dict[str, str], minimum: float) -> int:
    """Print killed / total per module and overall, then every survivor; 1 below `minimum`."""
    per_module: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for name, status in statuses.items():
        if in_scope(name):
            per_module[split_name(name)[0]][status] += 1
    if not per_module:
        print('no mutants in scope: run "make mutate" first')
        return 1
    width = max(len(m) for m in per_module)
    killed_all = total_all = 0
    for module in sorted(per_module):
        counts = per_module[module]
        killed = counts["killed"] + counts["timeout"]
        total = sum(counts.values())
        killed_all += killed
        total_all += total
        rest = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()) if s != "killed")
        print(f"{module:<{width}}  {killed:5d} / {total:5d}  {100 * killed / total:5.1f}%  {rest}")
    overall = 100 * killed_all / total_all
    print(f"{'overall':<{width}}  {killed_all:5d} / {total_all:5d}  {overall:5.1f}%")
    survivors = sorted(n for n, s in statuses.items() if in_scope(n) and s != "killed")
    if survivors:
        print("\nnot killed (mutmut show NAME):")
        for name in survivors:
            print(f"  {name}: {statuses[name]}")
    if overall < minimum:
        print(f"\nthe score {overall:.1f}% is below {minimum:g}%")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", nargs="?", choices=["run", "score", "patterns"], default="score")
    parser.add_argument("--min", type=float, default=90.0, help="lowest acceptable score (%%)")
    parser.add_argument("--max-children", type=int, default=2)
    args = parser.parse_args(argv)
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    if args.action == "patterns":
        print("\n".join(patterns()))
        return 0
    if args.action == "run":
        run = [mutmut, "run", "--max-children", str(args.max_children), *patterns()]
        subprocess.run(run, check=False)
    return score(results(mutmut), args.min)


if __name__ == "__main__":
    sys.exit(main())
