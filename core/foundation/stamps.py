"""When a file's or folder's mtime can be trusted to say "nothing changed since".

mtimes move in coarse ticks (a few milliseconds on Linux, up to 2 s on some file systems), so
two writes in one tick leave one mtime. As git treats an index entry modified in the index's
own second as racily clean, a stamp is trusted only once it is older than `RACY_NS`; until
then, readers that memoise by mtime (the run index, the dashboard's change poll) look again.
"""

from __future__ import annotations

import time

RACY_NS = 2_000_000_000


def settled(*mtimes_ns: int) -> bool:
    """Every mtime is old enough that a later write would show as a new one. Real time, not
    `core.foundation.clock` (which tests pin): this compares with the file system's own clock."""
    now = time.time_ns()
    return all(now - mtime > RACY_NS for mtime in mtimes_ns)
