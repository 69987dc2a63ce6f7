"""Every `next` suggestion runs as written and does what its reason says (adrs/0025).

One walk through the whole loop on a real small workspace (init, status, snapshots, two
tiny CatBoost runs, plan, compare, gates, promotions, a refused promotion, new data, drift,
alerts, predict, trace, history, query, card, why, effects, notes, ADRs, errors), with a
frozen copy of the workspace after every step. Then every suggested command is run in the
copy of the step that offered it (a fresh copy when it writes), as written plus `--json`.
Targeted tests check that a reason is true: a `promote` only with a current passing gate,
`compare` with the incumbent first, investigation before `alerts ack`.
"""

from __future__ import annotations

import ast
import shlex
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from core.foundation.suggest import PRIORITIES, Next, from_hint, ordered, placeholder
from tests.conftest import REPO, Ran, run_factory
from tests.operations.conftest import ENV, TINY, TINY2

# One walk (about a minute of real commands) shared by every test here: one xdist worker
# builds it once instead of each worker building its own.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("next_steps")]


@dataclass
class Step:
    argv: list[str]
    ran: Ran
    state: Path
    """A frozen copy of the workspace right after this step."""

    @property
    def doc(self) -> dict[str, Any]:
        return self.ran.doc


@dataclass
class Walk:
    root: Path
    steps: list[Step] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)
    outcomes: dict[str, Ran] = field(default_factory=dict)
    """Suggested command (as offered) -> its run in the offering step's copy."""
    offered_at: dict[str, Step] = field(default_factory=dict)

    def step(self, *argv: str) -> Step:
        where = self.root if self.root.exists() else self.root.parent
        ran = run_factory(*argv, "--json", cwd=where, env=ENV)
        usage = argv[:1] == ("predict",) and "--input" not in argv  # the usage error on purpose
        assert ran.code != 4 and (ran.code != 2 or usage), f"walk step {argv}: {ran.stdout}"
        state = self.root.parent / "states" / f"{len(self.steps):02d}"
        shutil.copytree(self.root, state, symlinks=True)
        found = Step(list(argv), ran, state)
        self.steps.append(found)
        return found

    def find(self, *argv: str) -> Step:
        return next(s for s in self.steps if s.argv == list(argv))


def _get(data: dict[str, Any], *keys: str) -> Any:
    """The first of `keys` that `data` holds (names being unified across commands)."""
    return next((data[k] for k in keys if k in data), None)


def _items(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return list(doc.get("next") or [])


def _command_of(command: str) -> Any:
    """The registered command a suggestion names (None for `--help`)."""
    from core.cli.main import build_parser, load_commands

    words = shlex.split(command)[1:]
    if "--help" in words:
        return None
    args = build_parser().parse_args(words)
    return load_commands()[args.command_name]


def _run_suggestion(walk: Walk, command: str, step: Step, scratch: Path) -> Ran:
    """`command` in the state of the step that offered it: that copy when it only reads,
    a fresh copy of it when it writes. The walk's own path (in `--workspace` or a file
    argument) becomes the copy's, so the original is never touched."""
    found = _command_of(command)
    where = step.state
    if found is None or found.writes:
        where = scratch
        shutil.copytree(step.state, where, symlinks=True)
    words = shlex.split(command.replace(str(walk.root), str(where)))[1:]
    if found is not None:
        words.append("--json")
    return run_factory(*words, cwd=where, env=ENV)


def _frame() -> Any:
    import pandas as pd

    from core.data.sources import embedded_path

    frame = pd.read_csv(embedded_path("seattle-weather"))
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> Walk:
    base = tmp_path_factory.mktemp("next")
    root = base / "ws"
    w = Walk(root)
    frame = _frame()
    w.step("init", str(root))
    config = root / "factory.toml"
    config.write_text(
        config.read_text()
        .replace('hparams = "h1"', 'hparams = "tiny"')
        .replace("seed = 42", "seed = 42\nleak_check_budget_s = 1.0")
    )
    hparams = root / "components" / "hparams"
    hparams.mkdir(parents=True, exist_ok=True)
    (hparams / "tiny.toml").write_text(TINY)
    (hparams / "tiny2.toml").write_text(TINY2)
    frame[frame["date"] < "2015-06-01"].to_csv(root / "old.csv", index=False)
    frame[frame["date"].dt.month.isin([6, 7, 8])].to_csv(root / "summer.csv", index=False)

    w.step("status")
    old = _get(
        w.step("data", "snapshot", "old.csv", "--dataset", "weather").doc["data"],
        "snapshot_id",
        "id",
    )
    w.ids["old"] = old
    # The stronger hparams (tiny2: more, deeper trees) first, so the newest run is not the
    # best and `train`, `runs` and `status` each offer the comparison with the best first.
    first = w.step("train", "rain", "--hparams", "tiny2", "--snapshot", old, "--quiet")
    first_id = first.doc["data"]["run_id"]
    second_id = w.step("train", "rain", "--snapshot", old, "--quiet").doc["data"]["run_id"]
    w.step("runs", "rain")
    status = w.step("status").doc["data"]
    best = next(m for m in status["models"] if m["name"] == "rain")["best_run"]["run_id"]
    other = second_id if best == first_id else first_id
    w.ids.update(best=best, other=other, first=first_id, second=second_id)
    w.step("compare", best, other)
    w.step("compare", other, best)
    w.step(
        "plan", "rain", "--features", "weather_v1", "--intent", "same-day weather only",
        "--expect", "auc >= 0.5",
    )  # fmt: skip
    w.step("card", "rain")
    gate = w.step("gate", best, "--to", "staging")
    w.step("status")
    w.step("promote", best, "--to", "staging", *([] if gate.ran.code == 0 else ["--override", "t"]))
    w.step("status")
    to_prod = w.step("gate", best, "--to", "prod")
    w.step("promote", best, "--to", "prod", *([] if to_prod.ran.code == 0 else ["--override", "t"]))
    w.step("tiers", "rain")
    w.step("gate", other, "--to", "staging")
    w.step("promote", other, "--to", "staging")  # refused (its gate failed): an alert
    w.step("alerts")
    w.step("status")
    predicted = w.step("predict", "rain", "--input", "old.csv", "--from", "2015-05-01")
    w.step("trace", _get(predicted.doc["data"], "first_request_id", "request_id"))
    w.ids["full"] = _get(w.step("data", "snapshot").doc["data"], "snapshot_id", "id")
    w.step("drift", "rain", "--reference", "prod", "--current", "summer.csv")
    w.step("alerts")
    w.step("status")
    w.step("history", "--since", "1d")
    w.step("query", "--tables")
    w.step("components", "--kind", "features")
    w.step("why", "hparams/tiny2")
    w.step("effects", "rain")
    w.step("curves", best, "--summary")
    w.step("show", best)
    w.step("note", best, "deeper trees help on the old data")
    w.step("adr", "new", "Tiny trees in tests")
    w.step("cards")
    w.step("data", "list")
    w.step("show", "r-000000000000")  # errors: their hints' commands become `next`
    w.step("predict", "rain")
    w.step("promote", other, "--to", "prod")

    # Run every distinct suggested command once, in the state of the first step offering it.
    for step in w.steps:
        for item in _items(step.doc):
            w.offered_at.setdefault(item["command"], step)
    scratch = base / "scratch"
    scratch.mkdir()
    jobs = list(w.offered_at.items())
    with ThreadPoolExecutor(max_workers=2) as pool:
        ran = pool.map(
            lambda pair: _run_suggestion(w, pair[1][0], pair[1][1], scratch / str(pair[0])),
            enumerate(jobs),
        )
        w.outcomes = {command: r for (command, _), r in zip(jobs, ran, strict=True)}
    return w


# ------------------------------------------------------------------ every suggestion


def test_every_suggestion_is_a_whole_command_with_a_reason(walk: Walk) -> None:
    offered = [(s.argv, item) for s in walk.steps for item in _items(s.doc)]
    assert len(offered) > 40 and len(walk.outcomes) > 25
    bad = [
        (argv, item)
        for argv, item in offered
        if not item["command"].startswith("factory ")
        or placeholder(item["command"]) is not None
        or not str(item.get("reason") or "").strip()
        or item.get("priority") not in PRIORITIES
        or set(item) != {"command", "reason", "priority"}
    ]
    assert not bad, "suggestions with a placeholder, no reason or a bad priority:\n" + "\n".join(
        f"  after `factory {' '.join(argv)}`: {item}" for argv, item in bad
    )


def test_every_suggestion_runs_without_a_usage_or_internal_error(walk: Walk) -> None:
    failed = {
        command: (walk.offered_at[command].argv, ran.code, ran.stdout[-600:] + ran.stderr[-600:])
        for command, ran in walk.outcomes.items()
        if ran.code not in (0, 1)
    }
    assert not failed, "\n".join(
        f"`{c}` (offered after `factory {' '.join(a)}`) exited {code}:\n{out}"
        for c, (a, code, out) in failed.items()
    )


def test_next_is_ordered_by_priority_without_duplicates(walk: Walk) -> None:
    for step in walk.steps:
        items = _items(step.doc)
        commands = [i["command"] for i in items]
        assert len(commands) == len(set(commands)), (step.argv, commands)
        ranks = [PRIORITIES.index(i["priority"]) for i in items]
        assert ranks == sorted(ranks), (step.argv, items)


def test_the_walk_covers_the_traps(walk: Walk) -> None:
    """Each trap of issue 11 shows up in the walk, so the tests below check something."""
    commands = set(walk.outcomes)
    for word in ("promote", "compare", "alerts ack", "gate", "check new-data", "predict", "trace"):
        assert any(c.startswith(f"factory {word} ") for c in commands), word


# ------------------------------------------------------------------ reasons are true


def test_promote_is_offered_only_on_a_current_passing_gate_and_then_promotes(walk: Walk) -> None:
    from core.foundation.workspace import Workspace
    from core.operations.common import load_run
    from core.operations.gates import current_gate
    from core.operations.tier_state import read_tiers

    seen = 0
    for step in walk.steps:
        for item in _items(step.doc):
            words = shlex.split(item["command"])
            if words[1] != "promote" or "--override" in words:
                continue
            seen += 1
            run_id, tier = words[2], words[words.index("--to") + 1]
            ws = Workspace(step.state)
            verdict = current_gate(ws, load_run(ws, run_id), tier, read_tiers(ws, "rain"))
            assert verdict is not None and verdict.passed, (step.argv, item)
            assert item["priority"] == "high"
            ran = walk.outcomes[item["command"]]
            if walk.offered_at[item["command"]] is step:
                assert ran.code == 0, ran.stdout
                assert ran.doc["data"]["tiers"][tier] == run_id
    assert seen >= 3


def test_a_stale_passing_gate_offers_the_gate_again_not_promote(walk: Walk, tmp_path: Path) -> None:
    """The staging gate passed, then newer data arrived: the verdict no longer holds, so
    `status` offers the gate again, and `promote` would indeed be refused."""
    gated = walk.find("gate", walk.ids["best"], "--to", "staging")
    assert gated.ran.code == 0, "the walk's best run should pass its staging gate"
    root = tmp_path / "ws"
    shutil.copytree(gated.state, root, symlinks=True)
    assert run_factory("data", "snapshot", "--json", cwd=root, env=ENV).code == 0
    commands = [n["command"] for n in run_factory("status", "--json", cwd=root).doc["next"]]
    best = walk.ids["best"]
    assert f"factory promote {best} --to staging" not in commands
    assert f"factory gate {best} --to staging" in commands
    refused = run_factory("promote", best, "--to", "staging", "--json", cwd=root, env=ENV)
    assert refused.code == 1 and refused.doc["error"]["code"] == "gate_required"


def test_compare_puts_the_incumbent_or_baseline_first(walk: Walk) -> None:
    from core.experiments.index import best_run
    from core.foundation.workspace import Workspace

    offered_by: set[str] = set()
    for step in walk.steps:
        for item in _items(step.doc):
            words = shlex.split(item["command"])
            if words[1] != "compare":
                continue
            offered_by.add(step.argv[0])
            first, second = words[2], words[3]
            data = step.doc.get("data") or {}
            if step.argv[0] == "gate":
                expected = _get(data, "incumbent", "baseline")
            elif step.argv[0] == "why":
                expected = next(
                    _get(r, "baseline_run_id", "baseline")
                    for r in data["runs"]
                    if r["run_id"] == second
                )
            else:
                best = best_run(Workspace(step.state), "rain")
                assert best is not None
                expected = best.run_id
            assert first == expected, (step.argv, item)
            assert second != first
            ran = walk.outcomes[item["command"]]
            assert ran.code == 0 and _get(ran.doc["data"], "run_a", "baseline") == first
    assert walk.ids["best"] != walk.ids["second"], "the walk's newest run should not be its best"
    assert {"train", "runs", "status", "gate"} <= offered_by, offered_by
    gate_steps = [s for s in walk.steps if s.argv[0] == "gate" and s.ran.code == 1]
    assert any(
        shlex.split(i["command"])[1] == "compare" for s in gate_steps for i in _items(s.doc)
    ), "a failed gate against an incumbent suggests the comparison"


def test_an_alert_is_investigated_before_it_is_acknowledged(walk: Walk) -> None:
    acks = 0
    for step in walk.steps:
        items = _items(step.doc)
        commands = [i["command"] for i in items]
        for position, item in enumerate(items):
            words = shlex.split(item["command"])
            if words[1:3] != ["alerts", "ack"]:
                continue
            acks += 1
            assert step.argv[0] == "alerts", "only `alerts` offers an acknowledgement"
            assert item["priority"] == "low"
            alert = next(a for a in step.doc["data"]["alerts"] if a["alert_id"] == words[3])
            look = {
                "drift": f"factory show {alert['source']}",
                "gate_failed": f"factory show {alert['details'].get('gate_id')}",
            }[alert["kind"]]
            assert look in commands[:position], (commands, alert)
            assert items[commands.index(look)]["priority"] == "high"
            shown = walk.outcomes[look]
            assert shown.code in (0, 1) and shown.doc["ok"], shown.stdout
    assert acks >= 2
    for step in walk.steps:
        if step.argv == ["status"]:
            assert not any(" ack " in i["command"] for i in _items(step.doc))


def test_no_suggested_plan_pins_nothing(walk: Walk) -> None:
    plans = [c for c in walk.outcomes if shlex.split(c)[1] == "plan"]
    for command in plans:
        words = shlex.split(command)
        assert {"--features", "--labels", "--hparams", "--arch"} & set(words), command
        assert "--defaults" not in words
        assert walk.outcomes[command].code == 0, walk.outcomes[command].stdout


def test_new_data_is_checked_before_it_is_trained_on(walk: Walk) -> None:
    step = walk.find("data", "snapshot")
    check = f"factory check new-data rain --snapshot {walk.ids['full']}"
    assert check in [i["command"] for i in _items(step.doc)]
    verdict = walk.outcomes[check].doc["data"]["verdict"]
    assert verdict in ("helps", "does_not_help", "inconclusive")
    # The model with a champion is checked, not retrained; temp, with no run yet, may train.
    assert not any(shlex.split(i["command"])[1:3] == ["train", "rain"] for i in _items(step.doc))


# ------------------------------------------------------------------ error envelopes


def test_a_usage_error_names_its_command_and_schema(walk: Walk) -> None:
    doc = walk.find("predict", "rain").doc
    assert doc["ok"] is False and doc["error"]["code"] == "usage"
    assert doc["command"] == "predict" and doc["schema"] == "factory.predict/1"
    assert doc["next"][0]["command"] == "factory predict --help"
    nested = run_factory("--json", "alerts", "ack", cwd=walk.root)
    assert nested.code == 2
    assert (nested.doc["command"], nested.doc["schema"]) == ("alerts ack", "factory.alerts.ack/1")
    unknown = run_factory("no-such-command", "--json", cwd=walk.root)
    assert unknown.doc["command"] is None and unknown.doc["schema"] is None


def test_an_error_offers_the_commands_its_hint_names(walk: Walk) -> None:
    doc = walk.find("show", "r-000000000000").doc
    assert doc["error"]["code"] == "unknown_run"
    assert doc["next"] == [
        {"command": "factory runs", "reason": "List runs with `factory runs`.", "priority": "high"}
    ]
    refused = walk.find("promote", walk.ids["other"], "--to", "prod").doc
    assert refused["ok"] is False
    assert all(placeholder(n["command"]) is None for n in refused["next"])
    elsewhere = run_factory(
        "--workspace", str(walk.root), "show", "r-000000000000", "--json", cwd=REPO
    )
    assert elsewhere.doc["next"][0]["command"] == f"factory --workspace {walk.root} runs"


def test_a_hint_command_with_a_placeholder_or_missing_arguments_is_not_offered() -> None:
    from core.cli.main import runs_as_written
    from core.foundation.errors import FactoryError
    from core.render.envelope import failure

    error = FactoryError(
        "tier_empty",
        "No run of rain is in prod",
        hint="See `factory tiers rain`; promote one with `factory promote RUN --to prod`, "
        "or `factory data show` it.",
    )
    doc = failure("predict", "factory.predict/1", error, [], runs=runs_as_written)
    assert [n["command"] for n in doc["next"]] == ["factory tiers rain"]
    assert doc["next"][0]["reason"] == "See `factory tiers rain`"


# ------------------------------------------------------------------ the rules themselves


@pytest.mark.parametrize(
    ("command", "found"),
    [
        ("factory plan rain --intent '<a note>'", "<a note>"),
        ("factory train rain --snapshot NEW_SNAPSHOT", "NEW_SNAPSHOT"),
        ("factory predict rain --input FILE --tier prod", "FILE"),
        ("factory drift rain --reference ds-... --last 90d", "ds-..."),
        ("factory gate r-1 --to staging|prod", "staging|prod"),
        ("$EDITOR adrs/0001-x.md", "$EDITOR"),
        ('factory query "SELECT * FROM events LIMIT 10"', None),
        ("factory plan rain --hparams h2 --intent 'one change: h2' --expect 'beats best'", None),
    ],
)
def test_placeholders_are_found_and_sql_is_not_one(command: str, found: str | None) -> None:
    assert placeholder(command) == found


def test_ordering_is_by_priority_stable_and_each_command_once() -> None:
    items = [
        Next("factory a", "first", "low"),
        Next("factory b", "second"),
        Next("factory c", "third", "high"),
        Next("factory a", "again, urgent", "high"),
        "factory d",
    ]
    assert [(n.command, n.reason) for n in ordered(items)] == [
        ("factory a", "again, urgent"),
        ("factory c", "third"),
        ("factory b", "second"),
        ("factory d", ""),
    ]


def test_hint_commands_become_high_priority_suggestions() -> None:
    found = from_hint("See `factory show r-1`; train with `factory train ... --force`. Or `ls`.")
    assert found == [Next("factory show r-1", "See `factory show r-1`", "high")]


def test_no_command_module_hands_over_a_bare_command_string() -> None:
    """A suggestion is a `Next` with a reason; a bare `"factory ..."` string in a list, an
    `append` or a `next=` of a command module or a status section has none (an assistant
    would read it without knowing why). Fails naming each one still to be given a reason."""
    bare: list[str] = []
    paths = [*(REPO / "core" / "cli" / "commands").glob("*.py")]
    paths += [*(REPO / "core" / "overview").glob("*_section.py"), REPO / "core/overview/status.py"]
    paths += [REPO / "core" / "flows" / "demo.py"]
    for path in sorted(paths):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            text = _literal_start(node)
            if text is None or not text.startswith("factory "):
                continue
            parent = parents.get(node)
            listed = isinstance(parent, (ast.List, ast.ListComp, ast.Tuple))
            added = (
                isinstance(parent, ast.Call)
                and isinstance(parent.func, ast.Attribute)
                and parent.func.attr in ("append", "insert")
            )
            handed = isinstance(parent, ast.keyword) and parent.arg == "next"
            if listed or added or handed:
                bare.append(f"{path.relative_to(REPO)}:{node.lineno}: {text[:60]}")
    assert not bare, "bare suggestions (give each a Next with a reason):\n" + "\n".join(bare)


def _literal_start(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values:
        head = node.values[0]
        if isinstance(head, ast.Constant) and isinstance(head.value, str):
            return head.value
    return None
