"""Named crash points, so tests can kill a real process at an exact step.

`FACTORY_CRASH_AT=tiers.after_card` makes the process SIGKILL itself when it reaches
`crash_point("tiers.after_card")`: the same as a `kill -9` landing between two writes,
without racing a timer. Several names may be given, comma-separated; `NAME:TEXT` fires only
when the point's detail contains TEXT (`atomic.before_rename:adrs/`). Unset (always, outside
tests), a crash point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

CRASH_ENV = "FACTORY_CRASH_AT"


def crash_point(name: str, detail: str = "") -> None:
    """SIGKILL this process if `FACTORY_CRASH_AT` names this point."""
    wanted = os.environ.get(CRASH_ENV)
    if not wanted:
        return
    for item in wanted.split(","):
        point, _, text = item.strip().partition(":")
        if point == name and (not text or text in detail):
            os.kill(os.getpid(), signal.SIGKILL)
