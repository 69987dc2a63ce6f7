"""Exit codes and the one error type every command raises.

A `FactoryError` carries what the CLI needs to fill the JSON envelope's `error` object
(code, message, hint, details) and the process exit code, so no face invents its own errors.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """Process exit codes, the same for every command (DESIGN.md, CLI contract)."""

    OK = 0
    """Done, or the check's verdict is yes."""
    CHECK_FAILED = 1
    """A check said no: gate failed, drift found, data invalid."""
    USAGE = 2
    """The command line is wrong."""
    INPUT = 3
    """Workspace or input error: missing file, bad config, unknown name."""
    INTERNAL = 4
    """A bug: something the code did not expect."""


class FactoryError(Exception):
    """An error a user can act on: what went wrong, where, and what to do."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        hint: str | None = None,
        details: dict[str, Any] | None = None,
        exit_code: ExitCode = ExitCode.INPUT,
    ) -> None:
        super().__init__(message)
        self.code = code
        """Stable machine-readable code, for example `workspace_not_found`."""
        self.message = message
        self.hint = hint
        """What the user can do about it."""
        self.details = details or {}
        self.exit_code = exit_code

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "details": self.details,
        }


class UsageError(FactoryError):
    """The command line itself is wrong (exit 2)."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__("usage", message, hint=hint, exit_code=ExitCode.USAGE)


class DataInvalidError(FactoryError):
    """Data broke its contract (exit 1): the details name rows and columns at fault."""

    def __init__(
        self, message: str, *, hint: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(
            "data_invalid", message, hint=hint, details=details, exit_code=ExitCode.CHECK_FAILED
        )
