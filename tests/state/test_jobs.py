"""The daemon's job log and schedule slots on real SQLite and real PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from syncd.state import migrate, models
from syncd.state.db import make_engine, session_factory
from syncd.state.jobs import JobInfo, JobStore
from tests.state.helpers import T0, Clock

HOUR = timedelta(hours=1)
RACERS = 8


@pytest.fixture
def jobs(sessions: sessionmaker[Session], clock: Clock) -> JobStore:
    return JobStore(sessions, "acme", clock=clock)


def schedule_row(sessions: sessionmaker[Session], kind: str) -> models.Schedule:
    with sessions() as session:
        query = select(models.Schedule).where(models.Schedule.tenant == "acme", models.Schedule.kind == kind)
        return session.scalars(query).one()


# -- jobs ------------------------------------------------------------------------------------


def test_create_and_get(jobs: JobStore) -> None:
    job = jobs.create("incremental", "schedule")
    assert job == JobInfo(
        id=job.id,
        tenant="acme",
        kind="incremental",
        streams=None,
        trigger="schedule",
        status="queued",
        attempts=0,
        created_at=T0,
        started_at=None,
        finished_at=None,
        holder=None,
        error=None,
    )
    assert len(job.id) == 12
    assert jobs.get(job.id) == job

    some = jobs.create("full", "cli", streams=["customers", "companies"])
    assert jobs.get(some.id) == some
    assert some.streams == ("customers", "companies")
    assert jobs.get("missing") is None


def test_jobs_are_per_tenant(sessions: sessionmaker[Session], jobs: JobStore) -> None:
    other = JobStore(sessions, "other")
    job = jobs.create("full", "resync")
    assert other.get(job.id) is None
    assert other.recent() == []
    assert other.active() == []
    with pytest.raises(LookupError):
        other.begin_attempt(job.id, "host")
    with pytest.raises(LookupError):
        other.finish(job.id, "ok")
    assert jobs.get(job.id) == job


def test_begin_attempt_counts_deliveries(jobs: JobStore, clock: Clock) -> None:
    job = jobs.create("incremental", "schedule")
    first = clock.tick(minutes=1)
    running = jobs.begin_attempt(job.id, "host-a")
    assert (running.status, running.attempts, running.started_at, running.holder) == (
        "running",
        1,
        first,
        "host-a",
    )

    clock.tick(minutes=5)
    again = jobs.begin_attempt(job.id, "host-b")  # redelivered after host-a died
    assert (again.attempts, again.started_at, again.holder) == (2, first, "host-b")
    assert jobs.get(job.id) == again

    with pytest.raises(LookupError):
        jobs.begin_attempt("missing", "host-a")


def test_finish_records_outcome(jobs: JobStore, clock: Clock) -> None:
    job = jobs.create("full", "schedule")
    jobs.begin_attempt(job.id, "host")
    done = clock.tick(minutes=3)
    jobs.finish(job.id, "partial", "2 rows failed")
    finished = jobs.get(job.id)
    assert finished is not None
    assert (finished.status, finished.finished_at, finished.error, finished.attempts) == (
        "partial",
        done,
        "2 rows failed",
        1,
    )


def test_recent_newest_first_and_active_oldest_first(jobs: JobStore, clock: Clock) -> None:
    created = []
    for kind in ("incremental", "full", "incremental", "incremental"):
        created.append(jobs.create(kind, "schedule").id)
        clock.tick(seconds=10)
    first, second, third, fourth = created
    jobs.begin_attempt(third, "host")
    jobs.finish(first, "ok")
    jobs.finish(second, "dead", "poison")

    assert [j.id for j in jobs.recent()] == [fourth, third, second, first]
    assert [j.id for j in jobs.recent(limit=2)] == [fourth, third]
    assert [(j.id, j.status) for j in jobs.active()] == [(third, "running"), (fourth, "queued")]


# -- schedule slots --------------------------------------------------------------------------


def test_first_claim_seeds_the_slot(jobs: JobStore, sessions: sessionmaker[Session]) -> None:
    assert jobs.next_due("incremental") is None
    assert jobs.claim("incremental", first_due=T0, next_due=T0 + HOUR, job_id="j1") is True
    row = schedule_row(sessions, "incremental")
    assert (row.next_due_at, row.last_job_id) == (T0 + HOUR, "j1")


def test_a_first_slot_in_the_future_is_not_due(jobs: JobStore) -> None:
    assert jobs.claim("full", first_due=T0 + HOUR, next_due=T0 + 2 * HOUR) is False
    assert jobs.next_due("full") == T0 + HOUR
    # Later claims do not move an existing slot to their own first_due.
    assert jobs.claim("full", first_due=T0, next_due=T0 + 2 * HOUR) is False
    assert jobs.next_due("full") == T0 + HOUR


def test_a_due_slot_is_claimed_once(sessions: sessionmaker[Session], clock: Clock) -> None:
    beat_a, beat_b = JobStore(sessions, "acme", clock=clock), JobStore(sessions, "acme", clock=clock)
    assert beat_a.claim("incremental", first_due=T0, next_due=T0 + HOUR, job_id="a1") is True
    assert beat_b.claim("incremental", first_due=T0, next_due=T0 + HOUR, job_id="b1") is False
    assert schedule_row(sessions, "incremental").last_job_id == "a1"

    clock.tick(minutes=59)
    assert beat_b.claim("incremental", first_due=T0, next_due=clock() + HOUR) is False
    clock.tick(minutes=1)  # exactly due
    assert beat_b.claim("incremental", first_due=T0, next_due=clock() + HOUR, job_id="b2") is True
    assert beat_a.claim("incremental", first_due=T0, next_due=clock() + HOUR) is False
    assert schedule_row(sessions, "incremental").last_job_id == "b2"
    assert beat_a.next_due("incremental") == T0 + 2 * HOUR


def test_slots_are_per_kind_and_tenant(sessions: sessionmaker[Session], jobs: JobStore, clock: Clock) -> None:
    other = JobStore(sessions, "other", clock=clock)
    assert jobs.claim("incremental", first_due=T0, next_due=T0 + HOUR)
    assert jobs.claim("full", first_due=T0, next_due=T0 + HOUR)
    assert other.claim("incremental", first_due=T0, next_due=T0 + HOUR)
    assert other.next_due("retry") is None


def test_defer_moves_the_slot_either_way(jobs: JobStore, clock: Clock) -> None:
    jobs.defer("full", T0 + HOUR)  # no slot yet
    assert jobs.next_due("full") == T0 + HOUR
    jobs.claim("full", first_due=T0, next_due=T0 + 24 * HOUR, job_id="j")  # not due: no change
    assert jobs.next_due("full") == T0 + HOUR

    clock.tick(hours=1)
    assert jobs.claim("full", first_due=T0, next_due=T0 + 25 * HOUR, job_id="j")
    jobs.defer("full", T0 + 2 * HOUR)  # the run failed: retry sooner than the daily slot
    assert jobs.next_due("full") == T0 + 2 * HOUR
    clock.tick(hours=1)
    assert jobs.claim("full", first_due=T0, next_due=T0 + 25 * HOUR)


@pytest.mark.postgres
def test_racing_beats_claim_a_slot_once(postgres_url: str) -> None:
    migrate.upgrade(postgres_url)
    engine = make_engine(postgres_url, pool_size=RACERS)
    sessions = session_factory(engine)
    barrier = threading.Barrier(RACERS)

    def claim(n: int) -> bool:
        beat = JobStore(sessions, "acme", clock=lambda: T0)
        barrier.wait()
        return beat.claim("incremental", first_due=T0, next_due=T0 + HOUR, job_id=f"j{n}")

    try:
        with ThreadPoolExecutor(RACERS) as pool:
            won = list(pool.map(claim, range(RACERS)))
    finally:
        engine.dispose()
    assert won.count(True) == 1
