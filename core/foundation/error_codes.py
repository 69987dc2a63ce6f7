"""The one table of error codes: each code, its exit code and what it means.

A code is part of the JSON contract (`error.code` in the envelope): an assistant branches on
it, so one fault has one code and one exit code everywhere. `FactoryError(code, ...)` takes
its exit code from here; `tests/errors/test_error_table.py` scans the source and fails when
a code is raised that is not in this table, or when an entry is never raised.

`python -m core.foundation.error_codes > docs/errors.md` writes the documented table;
`tests/errors/test_errors_doc.py` fails when docs/errors.md differs from what this prints.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from types import MappingProxyType

from core.foundation.errors import ExitCode

_USAGE = ExitCode.USAGE
_INPUT = ExitCode.INPUT
_CHECK = ExitCode.CHECK_FAILED
_BUG = ExitCode.INTERNAL


@dataclass(frozen=True)
class ErrorCode:
    """One row of the table."""

    code: str
    """The stable machine-readable code, for example `workspace_not_found`."""
    exit_code: ExitCode
    """The process exit code every error with this code ends with."""
    meaning: str
    """One line: the fault this code names."""


@dataclass(frozen=True)
class Renamed:
    """A code an error used to carry, kept in the docs so a script written against the old
    name can be fixed."""

    old: str
    new: str
    where: str
    """The fault whose code changed."""


_ROWS: tuple[tuple[str, ExitCode, str], ...] = (
    # The command line and the process.
    ("usage", _USAGE, "The command line is wrong: unknown command, missing or malformed argument."),
    ("outside_workspace", _USAGE, "A tool call over MCP named a path outside its workspace, a "
     "URL that is not loopback, or a remote other than the configured one."),
    ("internal", _BUG, "A bug in factory; re-run with FACTORY_DEBUG=1 for the traceback."),
    ("not_writable", _INPUT, "The system refused to write (or read) a path: read-only folder or "
     "file system, or no permission; the message names the path."),
    ("disk_full", _INPUT, "No room to write a path: the disk, a quota or the file-size limit "
     "is full; nothing was half-written."),
    ("invalid_session", _USAGE, "FACTORY_SESSION is not a valid session id."),
    ("face_missing", _INPUT, "The face asked for (for example the TUI) is not installed."),
    # Workspace and configuration.
    ("workspace_not_found", _INPUT, "No factory.toml in the folder given or any folder above."),
    ("config_missing", _INPUT, "The factory.toml named does not exist."),
    ("config_invalid", _INPUT, "factory.toml is invalid (syntax, types, names, or a value the "
     "components it names cannot honour); the message names file and line."),
    ("not_a_directory", _INPUT, "A path given as a workspace or demo folder is a file."),
    ("demo_target_not_empty", _INPUT, "The demo folder holds files and is not a workspace."),
    ("invalid_name", _USAGE, "A name or id does not match [a-z0-9][a-z0-9._-]*."),
    ("unknown_model", _INPUT, "No model of that name in factory.toml."),
    ("no_model", _INPUT, "factory.toml declares no model, and the command needs one."),
    ("unknown_tier", _USAGE, "Not a tier: dev, staging, prod (or retired where allowed)."),
    # Data and snapshots.
    ("unknown_dataset", _INPUT, "No dataset of that name in factory.toml."),
    ("dataset_required", _USAGE, "The workspace has several datasets: name one with --dataset."),
    ("invalid_snapshot_id", _USAGE, "Not a snapshot id (ds- and 12 hex digits)."),
    ("unknown_snapshot", _INPUT, "No snapshot with that id in data/snapshots."),
    ("no_snapshot", _INPUT, "The dataset has no snapshot yet, and the command needs one."),
    ("snapshot_mismatch", _USAGE, "The snapshot named is of another dataset than the model's."),
    ("source_not_found", _INPUT, "The source file (or embedded dataset) does not exist."),
    ("source_format", _INPUT, "The source is not a readable CSV or Parquet file."),
    ("source_encoding", _INPUT, "The source is not UTF-8 text; the message names line and column."),
    ("source_empty", _INPUT, "The source has no header or no data rows."),
    ("source_ragged", _INPUT, "A CSV line has more or fewer fields than the header."),
    ("source_too_large", _INPUT, "One CSV line or Parquet row group is larger than factory holds "
     "in memory at once; the message names it and how to split it."),
    ("schema_not_streamable", _INPUT, "A source read in chunks has a schema with checks that need "
     "every row at once (unique, DataFrame-level or custom checks)."),
    ("data_out_of_memory", _INPUT, "Reading in chunks needs more memory than the process may "
     "use (refused before reading), or the sort across chunks ran out of memory and disk."),
    ("data_invalid", _CHECK, "Data broke its schema; the details name the rows and columns."),
    ("data_too_short", _INPUT, "Too little history for the walk-forward folds asked for."),
    ("gap_too_short", _INPUT, "The validation gap is shorter than the labels' horizon (a leak)."),
    # Components.
    ("unknown_kind", _USAGE, "Not a component kind (features, labels, metrics, arch, ...)."),
    ("invalid_component_ref", _USAGE, "A component reference is not KIND/VERSION."),
    ("unknown_component", _INPUT, "No component of that kind and version."),
    ("component_clash", _INPUT, "A version is defined both in factory and in the workspace."),
    ("component_load", _INPUT, "A component module or hyperparameter file does not load."),
    ("component_contract", _INPUT, "A component broke its contract (shape, index, constants)."),
    ("component_input", _INPUT, "The data lacks columns a component needs."),
    ("component_failed", _INPUT, "A component raised an exception; the message names file and line."),
    ("component_changed", _INPUT, "A component's source changed since the run trained on it."),
    ("hparams_invalid", _INPUT, "A hyperparameter file holds an invalid value."),
    ("task_mismatch", _INPUT, "The labels are for another task than the model's."),
    ("features_leak", _CHECK, "The features version failed the point-in-time check."),
    # Runs, reports and training.
    ("unknown_run", _INPUT, "No run with that id (or id prefix)."),
    ("ambiguous_run", _INPUT, "The id prefix matches several runs: give more of it."),
    ("no_run", _INPUT, "The model has no run yet (nothing is best, latest or to compare with)."),
    ("model_mismatch", _USAGE, "The run or plan named belongs to another model than the one given."),
    ("unknown_metric", _USAGE, "The metric named is not computed by the model's metrics version."),
    ("report_invalid", _INPUT, "A run report is not what factory writes (hand-edited or damaged)."),
    ("artifact_missing", _INPUT, "A run's model file is missing (artifacts are not committed)."),
    ("training_failed", _CHECK, "The architecture failed while fitting a fold."),
    ("walkforward_invariant", _BUG, "The folds broke a walk-forward invariant (a bug)."),
    ("not_comparable", _INPUT, "Two runs cannot be compared (other model, rows or metric)."),
    # Cards, plans, notes and ADRs.
    ("card_invalid", _INPUT, "A card or ADR file does not parse; the message names file and line."),
    ("unknown_plan", _INPUT, "No plan with that id in any card."),
    ("plan_intent_missing", _USAGE, "A plan needs an intent."),
    ("plan_without_components", _USAGE, "The plan pins no component (pass --defaults to mean it)."),
    ("plan_duplicate", _USAGE, "An open plan already pins the same components."),
    ("plan_already_run", _USAGE, "A run already trained exactly these components on this data."),
    ("plan_already_trained", _USAGE, "The plan was trained; its verdict stands."),
    ("expectation_unreadable", _USAGE, "An expectation mixes a check with other words."),
    ("note_empty", _USAGE, "A note needs text."),
    ("unknown_adr", _INPUT, "No ADR with that number."),
    ("adr_title_missing", _USAGE, "A new ADR needs a title."),
    ("adr_status_invalid", _USAGE, "Not an ADR status (proposed, accepted, rejected, deprecated)."),
    ("adr_already_superseded", _INPUT, "The ADR is already superseded by another."),
    # Verdicts, tiers and serving.
    ("invalid_verdict_id", _USAGE, "Not a verdict id (gate-, drift-, pit- or newdata- and 12 hex)."),
    ("unknown_verdict", _INPUT, "No verdict (gate, drift check, ...) with that id in reports."),
    ("drift_no_columns", _INPUT, "The reference and current data share no column to compare."),
    ("drift_empty_current", _INPUT, "The current data of a drift check has no rows."),
    ("gate_required", _CHECK, "The run may not move to the tier without a passing gate."),
    ("gate_stale", _CHECK, "The tier changed since the gate compared against its incumbent."),
    ("not_in_staging", _CHECK, "A run reaches prod only from staging."),
    ("nothing_to_roll_back", _CHECK, "The tier has no previous champion to restore."),
    ("tier_empty", _INPUT, "No run of the model is in the tier asked for."),
    ("features_mismatch", _INPUT, "Scoring features lack columns the run was trained on."),
    ("nothing_to_score", _INPUT, "The input has no row to score in the window asked for."),
    ("invalid_request_id", _USAGE, "Not a request id (rq- and 16 hex digits)."),
    ("unknown_request", _INPUT, "No logged prediction with that request id."),
    # `factory serve` (HTTP status in core/serve/engine.py).
    ("request_invalid", _USAGE, "An HTTP request body is not {\"rows\": [{column: value}, ...]} as JSON."),
    ("request_too_large", _USAGE, "An HTTP request has more rows or bytes than one request may carry."),
    ("unknown_route", _USAGE, "No such HTTP route: POST /v1/MODEL[/TIER]/predict, GET /v1/MODEL/tiers, GET /v1/health."),
    ("port_unavailable", _INPUT, "`factory serve` cannot listen on the address and port given."),
    ("server_unreachable", _INPUT, "No `factory serve` answers at the URL given (`serve check --url`)."),
    ("invalid_alert_id", _USAGE, "Not an alert id (al- and 12 hex digits)."),
    ("unknown_alert", _INPUT, "No alert with that id."),
    ("unknown_job", _INPUT, "No background job with that id in .factory/jobs (`factory jobs`)."),
    ("rollout_none", _INPUT, "The model has no rollout (in progress or finished) to show or change."),
    ("rollout_active", _INPUT, "Another rollout of the model is in progress: abort it or let it finish."),
    ("rollout_finished", _INPUT, "The rollout has ended (promoted, aborted or passed): it cannot change."),
    ("rollout_superseded", _CHECK, "Prod changed by another action during the rollout."),
    ("rollout_state_invalid", _INPUT, "A rollout's spec or state file is not what factory writes."),
    ("run_retired", _INPUT, "The run was retired (`sunset retire`); the message says when and what replaced it."),
    ("run_in_use", _CHECK, "The run still serves (a tier of its own model, or a running rollout): it cannot retire."),
    ("successor_invalid", _USAGE, "The successor named cannot replace the run (the run itself, or retired)."),
    ("successor_not_rolled_out", _CHECK, "The successor has not passed a rollout (retire needs one, or --override REASON)."),
    ("outcomes_invalid", _INPUT, "An outcomes file lacks its key or label column, or holds a label that is not valid; the message names file and line."),
    ("archive_conflict", _INPUT, "archive/ already holds other content where a file goes, or a file vanished mid-move."),
    # Remotes.
    ("remote_missing", _INPUT, "No remote is configured ([remote] url, FACTORY_REMOTE or --remote)."),
    ("remote_unreachable", _INPUT, "The remote URL cannot be opened (unknown protocol or missing "
     "filesystem package, e.g. s3fs)."),
    ("remote_corrupt", _INPUT, "An item on the remote is unreadable or fails its SHA-256 check; "
     "nothing was installed."),
    ("rebuild_inputs_changed", _INPUT, "A run's recipe now gives another run (a component or "
     "setting changed): its artifact cannot be rebuilt; nothing was installed."),
    ("snapshot_missing", _INPUT, "A run's snapshot is neither here nor on the remote, and the "
     "source now holds other content."),
    # The compute engine (`[compute]`, adrs/0033).
    ("engine_unavailable", _INPUT, "The [compute] engine (dask, ray) is not installed or not "
     "built in this factory; the message says how to install it."),
    ("engine_unreachable", _INPUT, "The [compute] address answered not, or had no worker, within "
     "connect_timeout_s; the message names file and line."),
    ("engine_mismatch", _INPUT, "The engine's workers run other versions of Python, factory or "
     "the libraries a fit depends on than this process (results would differ)."),
    ("engine_failed", _INPUT, "A task on the engine failed outside factory's code (a worker "
     "died, ran out of memory or lost its connection)."),
    # Queries.
    ("sql_error", _USAGE, "The SQL does not parse or fails."),
    ("read_only", _USAGE, "`factory query` refused a statement that would write or reach out."),
    ("export_target_in_use", _INPUT, "`factory export tables` was given a folder that holds "
     "something other than an earlier export."),
    ("files_changed", _INPUT, "Files under the SQL views kept changing while a query read them."),
)  # fmt: skip

ERROR_CODES: MappingProxyType[str, ErrorCode] = MappingProxyType(
    {code: ErrorCode(code, exit_code, meaning) for code, exit_code, meaning in _ROWS}
)
"""Every error code factory raises, by code."""

RENAMED: tuple[Renamed, ...] = (
    Renamed("usage", "snapshot_mismatch", "`drift` and `check new-data` given a snapshot of "
            "another dataset (as `train` already said)"),
    Renamed("usage", "model_mismatch", "`drift --reference` and `predict --run` given a run of "
            "another model, `train --plan` a plan of another model"),
    Renamed("usage", "unknown_tier", "scoring asked of an unknown tier (`predict --tier` "
            "refuses it first with `usage`)"),
    Renamed("no_champion", "no_run", "`drift` and `check new-data` of a model with no run"),
    Renamed("unknown_run", "no_run", "MODEL:best and MODEL:latest of a model with no run"),
    Renamed("demo_target_invalid", "not_a_directory", "`factory demo FILE` (as `init FILE`)"),
    Renamed("unknown_metric", "config_invalid", "`train` when factory.toml's primary_metric is "
            "not computed by the metrics version"),
)  # fmt: skip
"""Codes that changed, for scripts written against the old names."""


def exit_code_of(code: str) -> ExitCode | None:
    """The exit code the table gives `code`, or None for a code not in the table."""
    row = ERROR_CODES.get(code)
    return row.exit_code if row is not None else None


HEADER = """\
# factory error codes

Generated from `core/foundation/error_codes.py` by
`python -m core.foundation.error_codes > docs/errors.md`; do not edit by hand.

On failure, `--json` prints `"ok": false` and `"error": {"code", "message", "hint",
"details"}`. The code is part of the contract: one fault has one code, and every error
with a code ends the process with the exit code below.

| exit | meaning |
| ---: | --- |
| 0 | done, or the check's verdict is yes |
| 1 | a check said no (gate failed, drift found, data invalid) |
| 2 | usage error: the command line is wrong |
| 3 | workspace, input or environment error |
| 4 | internal error: a bug in factory |
"""


def generate() -> str:
    """The Markdown reference: the exit codes, then every error code sorted by name."""
    lines = [HEADER, f"## Codes ({len(ERROR_CODES)})", "", "| code | exit | meaning |"]
    lines.append("| --- | ---: | --- |")
    for code in sorted(ERROR_CODES):
        row = ERROR_CODES[code]
        lines.append(f"| `{row.code}` | {int(row.exit_code)} | {row.meaning} |")
    lines += ["", "## Codes that changed", "", "| old code | new code | for |"]
    lines.append("| --- | --- | --- |")
    for item in RENAMED:
        lines.append(f"| `{item.old}` | `{item.new}` | {item.where} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    sys.stdout.write(generate())


if __name__ == "__main__":
    main()
