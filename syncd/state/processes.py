"""Is a process of this host still alive? Asked of a run's recorded pid and of the embedded Redis.

A zombie (killed, not yet waited for, or reparented to a PID 1 that does not reap, as in many
containers) has exited: it counts as dead, which ``os.kill(pid, 0)`` alone would not say.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: it exists
    if not PROC.is_dir():
        return True  # no /proc (not Linux): the signal said it exists
    try:
        stat = (PROC / str(pid) / "stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False  # gone since the signal
    return stat.rpartition(")")[2].split()[:1] not in (["Z"], ["X"])
