"""Fencing epochs: a store whose lease was taken over must not write, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from syncd.engine.errors import LeaseLost, RunAborted
from syncd.engine.ports import Commit, FailureRecord, Link
from syncd.engine.records import Position
from syncd.state import migrate, models
from syncd.state.db import make_engine, session_factory
from syncd.state.leases import current_epoch, fence, take_epoch
from syncd.state.repository import StateStore
from syncd.vocabulary import FailureKind
from tests.state.helpers import T0, Clock, failure_log, run_log

STREAM = "customers"
RACERS = 8


def fenced(sessions: sessionmaker[Session], clock: Clock, epoch: int) -> StateStore:
    return StateStore(sessions, "acme", clock=clock, epoch=epoch)


def lease_row(sessions: sessionmaker[Session], tenant: str = "acme") -> models.Lease:
    with sessions() as session:
        return session.scalars(select(models.Lease).where(models.Lease.tenant == tenant)).one()


def run_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return len(session.scalars(select(models.Run.id)).all())


def test_lease_lost_is_an_aborted_run() -> None:
    assert issubclass(LeaseLost, RunAborted)


def test_epochs_increase_per_tenant(sessions: sessionmaker[Session], clock: Clock) -> None:
    assert current_epoch(sessions, "acme") is None
    assert take_epoch(sessions, "acme", "host-a:1", clock=clock) == 1
    later = clock.tick(minutes=1)
    assert take_epoch(sessions, "acme", "host-b:2", clock=clock) == 2
    assert take_epoch(sessions, "other", "host-a:3", clock=clock) == 1
    assert take_epoch(sessions, "acme", "host-c:4", clock=clock) == 3

    assert (current_epoch(sessions, "acme"), current_epoch(sessions, "other")) == (3, 1)
    row = lease_row(sessions)
    assert (row.epoch, row.holder, row.acquired_at) == (3, "host-c:4", later)


def test_current_epoch_commits_and_starts_runs(sessions: sessionmaker[Session], clock: Clock) -> None:
    epoch = take_epoch(sessions, "acme", "me")
    store = fenced(sessions, clock, epoch)
    run_id = store.start_run(STREAM, "schedule", "incremental", job_id="job1")
    store.commit(STREAM, Commit(links=[Link("a", 1, "h")], cursor=Position(1, "a")))
    store.finish_run(run_id, "ok", {"created": 1})

    assert store.links(STREAM, ["a"]) == {"a": Link("a", 1, "h")}
    assert store.cursor(STREAM) == Position(1, "a")
    [run] = run_log(store).newest()
    assert (run.status, run.job_id) == ("ok", "job1")
    assert current_epoch(sessions, "acme") == epoch  # the fence check does not move it


def test_stale_epoch_writes_nothing(sessions: sessionmaker[Session], clock: Clock) -> None:
    stale = fenced(sessions, clock, take_epoch(sessions, "acme", "old"))
    stale.commit(STREAM, Commit(links=[Link("a", 1, "h1")], cursor=Position(1, "a")))
    run_id = stale.start_run(STREAM, "schedule", "incremental")
    take_epoch(sessions, "acme", "new")  # another worker took the tenant over

    with pytest.raises(LeaseLost):
        stale.commit(
            STREAM,
            Commit(
                links=[Link("a", 2, "h2"), Link("b", 3, "h3")],
                pending=["p"],
                unlinked=["a"],
                failures=[FailureRecord("c", "create", FailureKind.RETRYABLE, "boom")],
                cursor=Position(9, "c"),
            ),
        )
    with pytest.raises(LeaseLost):
        stale.start_run(STREAM, "schedule", "incremental")

    assert stale.links(STREAM, ["a", "b"]) == {"a": Link("a", 1, "h1")}
    assert stale.pending_keys(STREAM, ["p"]) == set()
    assert stale.cursor(STREAM) == Position(1, "a")
    assert failure_log(stale).open_failures() == []
    assert run_count(sessions) == 1
    assert lease_row(sessions).holder == "new"

    # The fenced run can still say how it ended.
    stale.finish_run(run_id, "fenced", {}, error="lease lost")
    assert [(r.id, r.status) for r in run_log(stale).newest()] == [(run_id, "fenced")]


def test_epoch_without_a_lease_row_is_fenced(sessions: sessionmaker[Session], clock: Clock) -> None:
    with pytest.raises(LeaseLost):
        fenced(sessions, clock, 1).commit(STREAM, Commit(links=[Link("a", 1, "h")]))
    assert StateStore(sessions, "acme").links(STREAM, ["a"]) == {}


def test_another_tenants_epoch_does_not_fence(sessions: sessionmaker[Session], clock: Clock) -> None:
    store = fenced(sessions, clock, take_epoch(sessions, "acme", "me"))
    take_epoch(sessions, "other", "someone")
    store.commit(STREAM, Commit(links=[Link("a", 1, "h")]))
    assert store.links(STREAM, ["a"]) == {"a": Link("a", 1, "h")}


def test_unfenced_store_ignores_leases(sessions: sessionmaker[Session], clock: Clock) -> None:
    take_epoch(sessions, "acme", "someone")
    store = StateStore(sessions, "acme", clock=clock)
    store.commit(STREAM, Commit(cursor=Position(T0, "1")))
    assert store.cursor(STREAM) == Position(T0, "1")


@pytest.mark.postgres
def test_racing_takes_get_distinct_epochs(postgres_url: str) -> None:
    migrate.upgrade(postgres_url)
    engine = make_engine(postgres_url, pool_size=RACERS)
    sessions = session_factory(engine)
    barrier = threading.Barrier(RACERS)

    def take(n: int) -> int:
        barrier.wait()
        return take_epoch(sessions, "acme", f"racer-{n}")

    try:
        with ThreadPoolExecutor(RACERS) as pool:
            epochs = sorted(pool.map(take, range(RACERS)))
    finally:
        engine.dispose()
    assert epochs == list(range(1, RACERS + 1))


@pytest.mark.postgres
def test_a_takeover_waits_for_a_fenced_write_to_commit(postgres_url: str) -> None:
    migrate.upgrade(postgres_url)
    engine = make_engine(postgres_url)
    sessions = session_factory(engine)
    epoch = take_epoch(sessions, "acme", "old")
    try:
        with ThreadPoolExecutor(1) as pool, sessions() as session:
            fence(session, "acme", epoch)  # autobegun transaction, left open until the commit below
            takeover = pool.submit(take_epoch, sessions, "acme", "new")
            with pytest.raises(FuturesTimeout):
                takeover.result(timeout=0.5)  # blocked on the lease row our write holds
            session.commit()
            assert takeover.result(timeout=10) == epoch + 1
    finally:
        engine.dispose()
