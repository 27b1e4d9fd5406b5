"""The run log: one row per stream run, from its start to how it ended, and the reads ops make of it.

A run is one stream of one sync (by hand or by the daemon); its counters are what the engine
counted, plus ``requests`` (Thulium API calls). ``RunRecord`` is the one shape a run has outside
this module: ``syncd runs`` lists them, ``syncd status`` shows each stream's newest, the JSON
documents of both print the same keys. Whether a ``running`` run's process still lives is
``syncd.state.runs``'s question.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from syncd.state import models
from syncd.state.rows import record_of
from syncd.state.scope import TenantScoped
from syncd.vocabulary import SUCCEEDED_RUNS, RunStatus

_RUNS: Table = models.Base.metadata.tables["runs"]
# Built once on the table, not the entity: a commit of a batch pays for the update, not for building
# and routing an ORM statement (that cost as much as writing the batch's hundred links).
_SEEN = update(_RUNS).where(_RUNS.c.id == bindparam("run_id")).values(last_seen_at=bindparam("seen_at"))

RUN_STATUSES = tuple(RunStatus)  # the order ``syncd runs --status`` lists them in


@dataclass(frozen=True, slots=True)
class RunQuery:
    """Which runs a listing shows, newest first; the filters combine with AND."""

    streams: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    limit: int = 20
    since: datetime | None = None  # runs started at or after this moment (the console's last day)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.statuses) - set(RUN_STATUSES))
        if unknown:
            raise ValueError(
                f"unknown run status(es) {', '.join(unknown)}; expected one of {', '.join(RUN_STATUSES)}"
            )
        if self.limit < 1:
            raise ValueError("limit must be at least 1")


@dataclass(frozen=True, slots=True)
class RunRecord:
    tenant: str
    id: int
    stream: str
    mode: str
    trigger: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    counters: dict[str, Any]
    error: str | None
    job_id: str | None
    last_seen_at: datetime | None = None  # when its process last showed it alive

    @property
    def seconds(self) -> float | None:
        return None if self.finished_at is None else (self.finished_at - self.started_at).total_seconds()

    @property
    def requests(self) -> int:
        return int(self.counters.get("requests", 0) or 0)


class RunLog(TenantScoped):
    """One tenant's runs. Endings are not fenced: a run stopped by ``LeaseLost`` must still be able
    to record that it was fenced."""

    def start(
        self,
        session: Session,
        streams: Sequence[str],
        trigger: str,
        mode: str,
        job_id: str | None,
        holder: str,
    ) -> list[models.Run]:
        """``running`` rows naming their holder, added to ``session``: the caller's transaction, which the
        caller has fenced (``StateStore``)."""
        now = self.clock()
        runs = [
            models.Run(
                tenant=self.tenant,
                stream=stream,
                trigger=trigger,
                mode=mode,
                status=RunStatus.RUNNING,
                started_at=now,
                counters={},
                job_id=job_id,
                holder=holder,
                epoch=self.epoch,
                last_seen_at=now,
            )
            for stream in streams
        ]
        session.add_all(runs)
        return runs

    def finish(self, run_id: int, status: str, counters: Mapping[str, Any], error: str | None) -> None:
        """A run another process closed as crashed while this one was paused gets its real ending back."""
        with self.sessions() as session, session.begin():
            run = session.get(models.Run, run_id)
            if run is None or run.tenant != self.tenant:
                raise LookupError(f"no run {run_id} for tenant {self.tenant!r}")
            run.status = status
            run.counters = dict(counters)
            run.error = error
            run.finished_at = run.last_seen_at = self.clock()

    @staticmethod
    def seen(session: Session, run_id: int, now: datetime) -> None:
        """A sign of life of the run, in the caller's transaction (each commit of a batch is one)."""
        session.connection().execute(_SEEN, {"run_id": run_id, "seen_at": now})

    # -- reads -----------------------------------------------------------------------------

    def find(self, query: RunQuery) -> list[RunRecord]:
        """Newest first, at most ``query.limit``."""
        run = models.Run
        conditions: list[ColumnElement[bool]] = [run.tenant == self.tenant]
        if query.streams:
            conditions.append(run.stream.in_(query.streams))
        if query.statuses:
            conditions.append(run.status.in_(query.statuses))
        if query.since is not None:
            conditions.append(run.started_at >= query.since)
        statement = (
            select(run).where(*conditions).order_by(run.started_at.desc(), run.id.desc()).limit(query.limit)
        )
        with self.sessions() as session:
            return [
                record_of(RunRecord, r, counters=dict(r.counters or {})) for r in session.scalars(statement)
            ]

    def newest(self, stream: str | None = None, limit: int = 20) -> list[RunRecord]:
        """Newest first; ``syncd status`` shows the latest per stream."""
        return self.find(RunQuery(streams=() if stream is None else (stream,), limit=limit))

    def last_successes(self) -> dict[str, datetime]:
        """When each stream last started a run that went through (ok or partial)."""
        run = models.Run
        statement = (
            select(run.stream, func.max(run.started_at))
            .where(run.tenant == self.tenant, run.status.in_(SUCCEEDED_RUNS))
            .group_by(run.stream)
        )
        with self.sessions() as session:
            return {stream: started for stream, started in session.execute(statement) if started is not None}

    def last_synced(self, streams: Sequence[str]) -> dict[str, datetime]:
        """When each stream's newest run that went through finished; streams with none are left out."""
        run = models.Run
        found: dict[str, datetime] = {}
        with self.sessions() as session:
            for stream in streams:
                # newest first along the (tenant, stream, started_at) index: stops at the first synced run
                finished = session.scalar(
                    select(run.finished_at)
                    .where(run.tenant == self.tenant, run.stream == stream, run.status.in_(SUCCEEDED_RUNS))
                    .order_by(run.started_at.desc())
                    .limit(1)
                )
                if finished is not None:
                    found[stream] = finished
        return found

    def counts_by_status(self) -> list[tuple[str, str, int]]:
        """(stream, status, how many runs): a run closed as crashed by any process counts here."""
        run = models.Run
        query = (
            select(run.stream, run.status, func.count())
            .where(run.tenant == self.tenant)
            .group_by(run.stream, run.status)
        )
        with self.sessions() as session:
            return [(stream, status, count) for stream, status, count in session.execute(query)]


def _record(run: models.Run) -> RunRecord:
    return record_of(RunRecord, run, counters=dict(run.counters or {}))
