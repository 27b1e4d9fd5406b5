"""How often Python's cycle collector runs in a syncd process.

Start-up leaves some 130,000 objects (modules, classes, SQLAlchemy's and pydantic's tables) that live
as long as the process; a sync allocates a few hundred thousand short-lived ones per page. With the
default thresholds the collector runs every 700 allocations and, every so often, walks everything
alive: a tenth of a sync's CPU time, spent finding almost nothing, since nearly all of a run's objects
are freed by their reference counts. So what exists once start-up is done is frozen (never walked
again), and the youngest generation is collected every 10,000 allocations: cycles are still found,
and a run's memory stays where it was (bench/scale.py prints its peak RSS).
"""

from __future__ import annotations

import gc

THRESHOLDS = (10_000, 10, 10)  # young, middle, old: see gc.set_threshold


def freeze_start_up() -> None:
    """Called once a process has loaded what it runs with, before its first sync."""
    gc.freeze()  # no collection first: start-up's garbage is a few kB, a collection 40 ms of every start
    gc.set_threshold(*THRESHOLDS)
