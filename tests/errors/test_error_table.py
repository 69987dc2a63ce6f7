"""One table of error codes: every code raised is in it, every entry is raised, and one
code always ends with the table's exit code."""

from __future__ import annotations

import re

import pytest

from core.foundation.error_codes import ERROR_CODES, RENAMED
from core.foundation.errors import DataInvalidError, ExitCode, FactoryError, UsageError
from tests.errors.scan import compared_codes, raise_sites

PENDING_EXIT_CODES = {
    ("core/records/runs.py", "report_invalid"): ExitCode.INTERNAL,
}
"""Raise sites in modules another owner is reorganising (core/records, core/render) whose
`exit_code=` still contradicts the table. The table wins at run time; the owner drops the
argument (or picks another code), then the entry goes."""


@pytest.mark.slow
def test_every_code_raised_in_the_source_is_in_the_table() -> None:
    unknown = [
        f"{site.where}: {code}"
        for site in raise_sites()
        for code in site.codes
        if code not in ERROR_CODES
    ]
    assert not unknown, (
        "codes raised but missing from core/foundation/error_codes.py (add a row, or use "
        "the existing code for the same fault): " + ", ".join(unknown)
    )


def test_every_code_in_the_table_is_raised_somewhere() -> None:
    raised = {code for site in raise_sites() for code in site.codes}
    unused = sorted(set(ERROR_CODES) - raised)
    assert not unused, f"table rows no code raises (remove them): {unused}"


def test_every_raise_site_names_its_code_with_a_literal() -> None:
    dynamic = [site.where for site in raise_sites() if not site.codes]
    assert not dynamic, (
        "a FactoryError code must be a string literal (or `a if cond else b` of literals) so "
        f"this table test can see it: {dynamic}"
    )


@pytest.mark.slow
def test_no_raise_site_contradicts_the_tables_exit_code() -> None:
    wrong: list[str] = []
    still_pending: set[tuple[str, str]] = set()
    for site in raise_sites():
        if site.explicit_exit_text is not None:
            wrong.append(f"{site.where}: exit_code={site.explicit_exit_text} is not ExitCode.X")
            continue
        if site.exit_code is None:
            continue
        for code in site.codes:
            row = ERROR_CODES.get(code)
            if row is None or row.exit_code == site.exit_code:
                continue
            if PENDING_EXIT_CODES.get((site.path, code)) == site.exit_code:
                still_pending.add((site.path, code))
                continue
            wrong.append(
                f"{site.where}: {code} with exit_code={site.exit_code.name}, the table says "
                f"{row.exit_code.name} (drop the argument: the table decides)"
            )
    assert not wrong, "\n".join(wrong)
    fixed = sorted(set(PENDING_EXIT_CODES) - still_pending)
    assert not fixed, f"no longer contradicting the table, drop from PENDING_EXIT_CODES: {fixed}"


def test_codes_the_source_compares_with_are_in_the_table() -> None:
    stale = [f"{where}: {code}" for where, code in compared_codes() if code not in ERROR_CODES]
    assert not stale, f"comparisons with codes no error carries: {stale}"


def test_each_row_is_a_code_an_exit_code_and_one_line() -> None:
    assert len(ERROR_CODES) >= 70
    for code, row in ERROR_CODES.items():
        assert row.code == code
        assert re.fullmatch(r"[a-z][a-z0-9_]*", code), code
        assert row.exit_code is not ExitCode.OK, code
        assert row.meaning and "\n" not in row.meaning and row.meaning.endswith("."), code


def test_each_renamed_code_points_at_a_code_in_the_table() -> None:
    for item in RENAMED:
        assert item.new in ERROR_CODES, item
        assert item.old != item.new, item


def test_an_error_takes_its_exit_code_from_the_table() -> None:
    assert FactoryError("snapshot_mismatch", "x").exit_code == ExitCode.USAGE
    assert FactoryError("gate_required", "x").exit_code == ExitCode.CHECK_FAILED
    assert FactoryError("walkforward_invariant", "x").exit_code == ExitCode.INTERNAL
    assert FactoryError("unknown_run", "x").exit_code == ExitCode.INPUT


def test_an_explicit_exit_code_cannot_overrule_the_table() -> None:
    error = FactoryError("unknown_run", "x", exit_code=ExitCode.INTERNAL)
    assert error.exit_code == ExitCode.INPUT


def test_a_code_outside_the_table_keeps_working_for_a_users_own_component() -> None:
    # Only a workspace's own component can raise one; factory's own are checked above.
    assert FactoryError("my_component_says_no", "x").exit_code == ExitCode.INPUT
    given = FactoryError("my_component_says_no", "x", exit_code=ExitCode.CHECK_FAILED)
    assert given.exit_code == ExitCode.CHECK_FAILED


@pytest.mark.parametrize(
    ("error", "code", "exit_code"),
    [
        (UsageError("bad flag"), "usage", ExitCode.USAGE),
        (DataInvalidError("bad rows"), "data_invalid", ExitCode.CHECK_FAILED),
    ],
)
def test_the_fixed_code_errors_agree_with_the_table(
    error: FactoryError, code: str, exit_code: ExitCode
) -> None:
    assert error.code == code and error.exit_code == exit_code
    assert ERROR_CODES[code].exit_code == exit_code
