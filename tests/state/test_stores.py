"""State-layer reads that ops used to write as their own SQL, on real SQLite and real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from syncd.engine.ports import Commit, FailureRecord, Link
from syncd.state.db import StateDb, StateDbs
from syncd.state.errors import StateDbError
from syncd.state.jobs import JobStore
from syncd.state.leases import lease_since, take_epoch
from syncd.state.members import MemberStore, Placed
from syncd.state.repository import StateStore
from syncd.state.stream_counts import StreamCounter, StreamCounts
from syncd.vocabulary import FailureKind
from tests.state.helpers import T0, Clock

UNREACHABLE = "postgresql+psycopg://syncd:secret@127.0.0.1:1/state?connect_timeout=2"


def test_a_campaign_streams_links_are_its_members(sessions: sessionmaker[Session]) -> None:
    MemberStore(sessions, "acme").commit(
        "00002", [Placed("1", 101, 901, "h", 3), Placed("2", 102, 902, "h", 3)], []
    )
    MemberStore(sessions, "acme").commit("00003", [Placed("9", 109, 909, "h", 3)], [])
    MemberStore(sessions, "other").commit("00002", [Placed("1", 101, 901, "h", 3)], [])
    StateStore(sessions, "acme").commit(
        "campaign:00002",
        Commit(failures=[FailureRecord("3", "add", FailureKind.WAITING, "customer 3 is not linked")]),
    )

    counts = StreamCounter(sessions, "acme").counts
    assert counts("campaign:00002") == StreamCounts(linked=2, pending=0, failed=1, retryable=1)
    assert counts("campaign:00004") == StreamCounts(linked=0, pending=0, failed=0, retryable=0)


def test_warnings_are_counted_apart_from_failures(sessions: sessionmaker[Session]) -> None:
    StateStore(sessions, "acme").commit(
        "customers",
        Commit(
            links=[Link("1", 11, "h")],
            failures=[FailureRecord("1", "create", FailureKind.WARNING, "sent without its company")],
        ),
    )
    assert StreamCounter(sessions, "acme").counts("customers") == StreamCounts(1, 0, 0, 0, warnings=1)


def test_since_when_the_daemon_runs_a_tenant(sessions: sessionmaker[Session], clock: Clock) -> None:
    jobs = JobStore(sessions, "acme", clock=clock)
    assert jobs.first_created_at() is None
    jobs.create("incremental", "schedule")
    clock.tick(minutes=5)
    jobs.create("full", "resync")
    assert jobs.first_created_at() == T0
    assert JobStore(sessions, "other").first_created_at() is None


def test_since_when_the_lock_holder_holds_the_lease(sessions: sessionmaker[Session], clock: Clock) -> None:
    take_epoch(sessions, "acme", "host:1:job:old", clock=clock)
    taken = clock.tick(minutes=2)
    take_epoch(sessions, "acme", "host:2:job:new", clock=clock)
    assert lease_since(sessions, "acme", "host:2:job:new") == taken
    assert lease_since(sessions, "acme", "host:1:job:old") is None, "the lease row names its newest holder"
    assert lease_since(sessions, "acme", None) is None
    assert lease_since(sessions, "other", "host:2:job:new") is None


def test_one_state_db_per_url_until_disposed(tmp_path: Path) -> None:
    dbs = StateDbs()
    url = f"sqlite:///{tmp_path}/state.sqlite"
    first = dbs.get(url)
    assert dbs.get(url) is first
    first.ping()
    dbs.dispose()
    assert dbs.get(url) is not first
    dbs.dispose()


def test_a_state_db_that_does_not_answer_raises_the_state_layers_error() -> None:
    with StateDb.open(UNREACHABLE) as db, pytest.raises(StateDbError):
        db.ping()
