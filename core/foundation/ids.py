"""Names, ids and content hashes.

Every user-given name is validated before it can become part of a path, and ids that
derive from content or inputs are short stable hashes, so the same inputs give the same id.
"""

from __future__ import annotations

import json
import re
from typing import Any

from core.foundation.errors import ExitCode, FactoryError

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
MAX_NAME_LENGTH = 128


def validate_name(value: str, kind: str = "name") -> str:
    """Return `value` if it is a safe name (`[a-z0-9][a-z0-9._-]*`), else raise.

    `..` anywhere is refused too: a name must never climb out of its folder.
    """
    if (
        not isinstance(value, str)
        or not NAME_PATTERN.match(value)
        or ".." in value
        or len(value) > MAX_NAME_LENGTH
    ):
        raise FactoryError(
            "invalid_name",
            f"Invalid {kind} {value!r}: names use lowercase letters, digits, '.', '_' and '-', "
            "start with a letter or digit, and never contain '..'.",
            hint=f"Pick a {kind} such as 'weather' or 'rain-v2'.",
            details={"kind": kind, "value": value, "pattern": NAME_PATTERN.pattern},
            exit_code=ExitCode.USAGE,
        )
    return value


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: the form every input hash is taken over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def short_hash(data: bytes | str, length: int = 12) -> str:
    """A hex SHA-256 prefix; 12 hex digits keep collisions negligible at our scale."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    import hashlib  # 5 ms at start-up, and most commands never hash

    return hashlib.sha256(data).hexdigest()[:length]


def hash_inputs(inputs: Any, length: int = 12) -> str:
    """Stable hash of a JSON-able structure (dict key order does not matter)."""
    return short_hash(canonical_json(inputs), length)
