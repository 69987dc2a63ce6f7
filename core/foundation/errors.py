"""Exit codes and the one error type every command raises.

A `FactoryError` carries what the CLI needs to fill the JSON envelope's `error` object
(code, message, hint, details) and the process exit code, so no face invents its own errors.
The exit code comes from the one table of codes, `core/foundation/error_codes.py`
(documented in docs/errors.md), so one code always ends with one exit code.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, ClassVar


class ExitCode(IntEnum):
    """Process exit codes, the same for every command (DESIGN.md, CLI contract)."""

    OK = 0
    """Done, or the check's verdict is yes."""
    CHECK_FAILED = 1
    """A check said no: gate failed, drift found, data invalid."""
    USAGE = 2
    """The command line is wrong."""
    INPUT = 3
    """Workspace, input or environment error: missing file, bad config, unknown name,
    read-only folder, full disk."""
    INTERNAL = 4
    """A bug: something the code did not expect."""


class FactoryError(Exception):
    """An error a user can act on: what went wrong, where, and what to do.

    `code` must be a row of `core.foundation.error_codes.ERROR_CODES`, which gives the exit
    code. `exit_code=` is accepted only so older call sites keep working: the table wins,
    and `tests/errors/test_error_table.py` fails on a call site whose `exit_code=` says
    otherwise. A code outside the table (only a workspace's own component can raise one;
    the same test keeps factory's source clean) keeps `exit_code`, default 3.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        hint: str | None = None,
        details: dict[str, Any] | None = None,
        exit_code: ExitCode | None = None,
    ) -> None:
        from core.foundation.error_codes import exit_code_of

        super().__init__(message)
        self.code = code
        """Stable machine-readable code, for example `workspace_not_found`."""
        self.message = message
        self.hint = hint
        """What the user can do about it."""
        self.details = details or {}
        self.exit_code: ExitCode = exit_code_of(code) or exit_code or ExitCode.INPUT

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "details": self.details,
        }


class UsageError(FactoryError):
    """The command line itself is wrong (exit 2)."""

    CODE: ClassVar[str] = "usage"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(self.CODE, message, hint=hint)


class DataInvalidError(FactoryError):
    """Data broke its contract (exit 1): the details name rows and columns at fault."""

    CODE: ClassVar[str] = "data_invalid"

    def __init__(
        self, message: str, *, hint: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(self.CODE, message, hint=hint, details=details)
