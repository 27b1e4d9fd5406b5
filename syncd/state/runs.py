"""Runs never lie: a run whose process died is closed as ``crashed`` by whoever notices first.

A run is ``running`` from ``start_run`` until its process calls ``finish_run``. A process killed
with SIGKILL, by the OOM killer or by a power cut never does, so every process that looks at a
tenant's runs (the next run of the tenant, ``syncd status``, ``syncd runs``, beat's tick) asks
``dead_runs`` about each running run and closes the dead ones.

Dead means the run's lease is gone, which a live run never is:

- a run under the tenant lease (it has an ``epoch``): the tenant lock no longer holds its token
  (nobody holds the lock, or another process does), or a newer epoch has been taken. A token,
  once lost, never comes back (renewal only extends a lock that still holds it), and while the
  lock holds it the heartbeat is renewing it: the run is alive however long it has been quiet.
- a run outside any lease (no daemon on the machine, so no lock; no ``epoch``): its process
  was on this host and no longer exists. On another host it cannot be judged and is left alone.

The lock is read *after* the running runs: a run started in between would otherwise be judged
against a lock read before it took its lease. When the lock cannot be read (no broker here, the
broker unreachable) only the epoch rule applies. ``last_seen_at`` is when the run's process last
showed it alive (start, each commit, each lease renewal); a crashed run's ``finished_at`` is that
time, the best bound on when it died.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from syncd.state import models
from syncd.state.db import Sessions, rowcount
from syncd.state.leases import current_epoch
from syncd.state.processes import pid_alive
from syncd.state.types import utcnow
from syncd.vocabulary import RunStatus

log = logging.getLogger("syncd.runs")

_RUNS: Table = models.Base.metadata.tables["runs"]


@dataclass(frozen=True, slots=True)
class OpenRun:
    """A run still marked ``running``, with what tells whether its process lives."""

    id: int
    stream: str
    holder: str | None  # host:pid:job:suffix
    epoch: int | None  # None: the run took no lease
    started_at: datetime
    last_seen_at: datetime | None = None

    @property
    def seen(self) -> datetime:
        return self.last_seen_at or self.started_at


@dataclass(frozen=True, slots=True)
class LockSeen:
    """What the lock store said about the tenant lock; ``known`` is False when it could not be asked."""

    known: bool
    holder: str | None = None


UNKNOWN_LOCK = LockSeen(False)


@dataclass(frozen=True, slots=True)
class Crashed:
    run: OpenRun
    reason: str  # why its lease is gone, without the word "crashed"


def process_token(job: str) -> str:
    """``host:pid:job:suffix``: the holder of a lease, and of a run outside any lease."""
    return f"{socket.gethostname()}:{os.getpid()}:{job}:{uuid.uuid4().hex[:8]}"


def token_process(token: str | None) -> tuple[str, int] | None:
    """The host and pid a token names, or None for a token of another shape."""
    parts = (token or "").rsplit(":", 3)
    if len(parts) != 4 or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1])


# -- judging (pure) --------------------------------------------------------------------------------


def dead_runs(
    runs: Sequence[OpenRun],
    lock: LockSeen,
    epoch: int | None,
    host: str,
    pid_alive: Callable[[int], bool],
) -> list[Crashed]:
    """The running runs whose lease is gone; ``epoch`` is the tenant's current fencing epoch."""
    found = []
    for run in runs:
        reason = (
            leased_reason(run, lock, epoch) if run.epoch is not None else local_reason(run, host, pid_alive)
        )
        if reason is not None:
            found.append(Crashed(run, reason))
    return found


def leased_reason(run: OpenRun, lock: LockSeen, epoch: int | None) -> str | None:
    if epoch is not None and run.epoch is not None and epoch > run.epoch:
        return f"its lease (epoch {run.epoch}) was taken over (epoch {epoch})"
    if not lock.known or lock.holder == run.holder:
        return None
    if lock.holder is None:
        return "its lease expired: nobody holds the tenant lock"
    return f"its lease passed to {lock.holder}"


def local_reason(run: OpenRun, host: str, pid_alive: Callable[[int], bool]) -> str | None:
    process = token_process(run.holder)
    if process is None or process[0] != host or pid_alive(process[1]):
        return None
    return f"its process {process[1]} on {host} is gone (it held no lease)"


def crash_note(crashed: Crashed, noticed_by: str) -> str:
    seen = crashed.run.seen.isoformat(sep=" ", timespec="seconds")
    return f"process died: {crashed.reason}; last seen {seen}; closed by {noticed_by}"


# -- the state DB ----------------------------------------------------------------------------------


def open_runs(sessions: Sessions, tenant: str) -> list[OpenRun]:
    run = models.Run
    query = select(run.id, run.stream, run.holder, run.epoch, run.started_at, run.last_seen_at).where(
        run.tenant == tenant, run.status == RunStatus.RUNNING
    )
    with sessions() as session:
        return [OpenRun(*row) for row in session.execute(query)]


def close_crashed(
    sessions: Sessions, tenant: str, crashed: Sequence[Crashed], noticed_by: str
) -> list[Crashed]:
    """Close each run still ``running``; a run that finished meanwhile keeps its own ending."""
    runs = _RUNS.c
    closed = []
    with sessions() as session, session.begin():
        for item in crashed:
            statement = (
                update(_RUNS)
                .where(runs.id == item.run.id, runs.tenant == tenant, runs.status == RunStatus.RUNNING)
                .values(
                    status=RunStatus.CRASHED,
                    finished_at=func.coalesce(runs.last_seen_at, runs.started_at),
                    error=crash_note(item, noticed_by),
                )
            )
            if rowcount(session.execute(statement)) == 1:
                closed.append(item)
    return closed


def touch_runs(sessions: Sessions, tenant: str, holder: str, now: datetime | None = None) -> int:
    """The lease heartbeat's sign of life for every run its holder has open."""
    runs = _RUNS.c
    statement = (
        update(_RUNS)
        .where(runs.tenant == tenant, runs.holder == holder, runs.status == RunStatus.RUNNING)
        .values(last_seen_at=now or utcnow())
    )
    with sessions() as session, session.begin():
        return rowcount(session.execute(statement))


def reap(
    sessions: Sessions,
    tenant: str,
    read_lock: Callable[[], LockSeen],
    noticed_by: str,
) -> list[Crashed]:
    """Close the tenant's dead runs as ``crashed``; cheap when nothing runs (one indexed query).

    Never raises for the state DB: whoever looks has its own work (a run, a listing), and the next
    look closes what this one could not.
    """
    try:
        return _reap(sessions, tenant, read_lock, noticed_by)
    except SQLAlchemyError as exc:
        log.warning("crashed runs not closed", extra={"tenant": tenant, "error": type(exc).__name__})
        return []


def _reap(
    sessions: Sessions, tenant: str, read_lock: Callable[[], LockSeen], noticed_by: str
) -> list[Crashed]:
    runs = open_runs(sessions, tenant)
    if not runs:
        return []
    lock = read_lock()  # after the runs: see the module docstring
    dead = dead_runs(runs, lock, current_epoch(sessions, tenant), socket.gethostname(), pid_alive)
    if not dead:
        return []
    closed = close_crashed(sessions, tenant, dead, noticed_by)
    for item in closed:
        line = {"tenant": tenant, "stream": item.run.stream, "run_id": item.run.id, "reason": item.reason}
        log.warning("run crashed", extra={**line, "last_seen": item.run.seen.isoformat(), "by": noticed_by})
    return closed
