"""The daemon's job log and schedule slots for one tenant.

A Celery message can be redelivered, lost or duplicated; the job row is what survives, so
attempts can be counted across deliveries and ``syncd status`` can say what ran. Schedule
slots live here rather than in beat's memory so that several beat processes, or a restarted
one, enqueue each due slot exactly once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, Table, func, literal, select, update

from syncd.state import models
from syncd.state.db import rowcount
from syncd.state.rows import record_of
from syncd.state.scope import TenantScoped
from syncd.state.types import UTCDateTime
from syncd.state.upsert import insert_missing, upsert
from syncd.vocabulary import ACTIVE_JOBS, JobStatus

_JOBS: Table = models.Base.metadata.tables["jobs"]
_SCHEDULES: Table = models.Base.metadata.tables["schedules"]


@dataclass(frozen=True, slots=True)
class JobInfo:
    id: str
    tenant: str
    kind: str
    streams: tuple[str, ...] | None
    trigger: str
    status: str
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    holder: str | None
    error: str | None


class JobStore(TenantScoped):
    """Jobs and schedule slots of one tenant, so no call can touch another tenant's rows."""

    # -- jobs ------------------------------------------------------------------------------

    def create(self, kind: str, trigger: str, streams: Sequence[str] | None = None) -> JobInfo:
        job = models.Job(
            id=uuid.uuid4().hex[:12],
            tenant=self.tenant,
            kind=kind,
            streams=None if streams is None else list(streams),
            trigger=trigger,
            status=JobStatus.QUEUED,
            attempts=0,
            created_at=self.clock(),
        )
        with self.sessions() as session, session.begin():
            session.add(job)
        return _info(job)

    def get(self, job_id: str) -> JobInfo | None:
        with self.sessions() as session:
            job = session.scalars(self._jobs().where(models.Job.id == job_id)).one_or_none()
        return None if job is None else _info(job)

    def begin_attempt(self, job_id: str, holder: str) -> JobInfo:
        """Count a delivery before the work starts, so a job that kills its worker is still counted."""
        jobs = _JOBS.c
        statement = (
            update(_JOBS)
            .where(jobs.id == job_id, jobs.tenant == self.tenant)
            .values(
                attempts=jobs.attempts + 1,
                status=JobStatus.RUNNING,
                started_at=func.coalesce(jobs.started_at, literal(self.clock(), UTCDateTime())),
                holder=holder,
            )
        )
        with self.sessions() as session, session.begin():
            if rowcount(session.execute(statement)) != 1:
                raise LookupError(f"no job {job_id!r} for tenant {self.tenant!r}")
            job = session.scalars(self._jobs().where(models.Job.id == job_id)).one()
            return _info(job)

    def finish(self, job_id: str, status: str, error: str | None = None) -> None:
        jobs = _JOBS.c
        statement = (
            update(_JOBS)
            .where(jobs.id == job_id, jobs.tenant == self.tenant)
            .values(status=status, finished_at=self.clock(), error=error)
        )
        with self.sessions() as session, session.begin():
            if rowcount(session.execute(statement)) != 1:
                raise LookupError(f"no job {job_id!r} for tenant {self.tenant!r}")

    def recent(self, limit: int = 10, status: str | None = None) -> list[JobInfo]:
        """Newest first; with ``status``, the newest of that status (not that status among the newest)."""
        job = models.Job
        query = self._jobs() if status is None else self._jobs().where(job.status == status)
        return self._list(query.order_by(job.created_at.desc(), job.id.desc()).limit(limit))

    def active(self) -> list[JobInfo]:
        """Queued or running, oldest first: the order the queue works through them."""
        job = models.Job
        return self._list(self._jobs().where(job.status.in_(ACTIVE_JOBS)).order_by(job.created_at, job.id))

    def first_created_at(self) -> datetime | None:
        """When the tenant's first job was queued: since when the daemon runs it."""
        with self.sessions() as session:
            return session.scalar(
                select(func.min(models.Job.created_at)).where(models.Job.tenant == self.tenant)
            )

    # -- schedule slots --------------------------------------------------------------------

    def claim(self, kind: str, *, first_due: datetime, next_due: datetime, job_id: str | None = None) -> bool:
        """Take the due slot of ``kind`` and move it to ``next_due``; False if not due or taken.

        The move is a compare-and-set on ``next_due_at <= now``: of two beats claiming the same
        slot, the second sees the moved time and matches nothing. A tenant seen for the first
        time gets a slot at ``first_due``.
        """
        slot = _SCHEDULES.c
        seed = {"tenant": self.tenant, "kind": kind, "next_due_at": first_due, "last_job_id": None}
        move = (
            update(_SCHEDULES)
            .where(slot.tenant == self.tenant, slot.kind == kind, slot.next_due_at <= self.clock())
            .values(next_due_at=next_due, last_job_id=job_id)
        )
        with self.sessions() as session, session.begin():
            dialect = session.get_bind().dialect.name
            session.execute(insert_missing(dialect, _SCHEDULES, ("tenant", "kind")), [seed])
            return rowcount(session.execute(move)) == 1

    def defer(self, kind: str, until: datetime) -> None:
        """Set when ``kind`` is next due, whatever it was: a failed full reconcile is retried sooner."""
        row = {"tenant": self.tenant, "kind": kind, "next_due_at": until, "last_job_id": None}
        with self.sessions() as session, session.begin():
            dialect = session.get_bind().dialect.name
            statement = upsert(
                dialect, _SCHEDULES, ("tenant", "kind"), lambda new: {"next_due_at": new["next_due_at"]}
            )
            session.execute(statement, [row])

    def next_due(self, kind: str) -> datetime | None:
        schedule = models.Schedule
        query = select(schedule.next_due_at).where(schedule.tenant == self.tenant, schedule.kind == kind)
        with self.sessions() as session:
            return session.scalar(query)

    # -- internals -------------------------------------------------------------------------

    def _jobs(self) -> Select[models.Job]:
        return select(models.Job).where(models.Job.tenant == self.tenant)

    def _list(self, query: Select[models.Job]) -> list[JobInfo]:
        with self.sessions() as session:
            return [_info(job) for job in session.scalars(query)]


def _info(job: models.Job) -> JobInfo:
    return record_of(JobInfo, job, streams=None if job.streams is None else tuple(job.streams))
