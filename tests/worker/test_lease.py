"""The tenant lease against a real Redis and real state DBs (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from syncd.app.lease import TenantBusy
from syncd.app.tenant_lease import lock_holder, lock_key, lock_seen, tenant_lease
from syncd.engine.errors import LeaseLost
from syncd.engine.ports import Commit, Link
from syncd.engine.records import Position
from syncd.state import migrate, models
from syncd.state.db import make_engine, session_factory
from syncd.state.repository import StateStore
from syncd.state.runs import reap
from tests.waiting import wait_until

Sessions = sessionmaker[Session]
JAN, FEB = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)


@pytest.fixture
def sessions(state_url: str) -> Iterator[sessionmaker[Session]]:
    migrate.upgrade(state_url)
    engine = make_engine(state_url)
    yield session_factory(engine)
    engine.dispose()


def link(key: str, thulium_id: int) -> Link:
    return Link(source_key=key, thulium_id=thulium_id, payload_hash="h")


def test_a_second_taker_finds_the_tenant_busy_and_sees_the_holder(
    redis_client: redis.Redis, sessions: Sessions
) -> None:
    with tenant_lease(redis_client, sessions, "acme", "job1", ttl=5) as lease:
        with pytest.raises(TenantBusy) as busy, tenant_lease(redis_client, sessions, "acme", "job2", ttl=5):
            pass
        assert busy.value.holder == lease.token
        assert ":job1:" in (lock_holder(redis_client, "acme") or "")
    assert lock_holder(redis_client, "acme") is None  # released with compare-and-delete


def test_the_heartbeat_keeps_a_long_run_locked_past_its_ttl(
    redis_client: redis.Redis, sessions: Sessions
) -> None:
    ttl = 1.5
    with tenant_lease(redis_client, sessions, "acme", "job1", ttl=ttl) as lease:
        first = lease.deadline
        # renewed for longer than one TTL: the lock outlived the TTL it was taken with
        wait_until("renewals past the first TTL", lambda: lease.deadline > first + ttl)
        lease.ensure()
        assert lock_holder(redis_client, "acme") == lease.token


def test_a_holder_whose_lock_lapsed_is_fenced_in_the_state_db_and_before_writes(
    redis_client: redis.Redis, sessions: Sessions
) -> None:
    with tenant_lease(redis_client, sessions, "acme", "old", ttl=5) as old:
        stale_store = StateStore(sessions, "acme", epoch=old.epoch)
        stale_store.commit("customers", Commit(links=[link("1", 101)], cursor=Position(JAN, "1")))
        redis_client.delete(lock_key("acme"))  # the TTL ran out while the holder was paused
        with tenant_lease(redis_client, sessions, "acme", "new", ttl=5) as new:
            assert new.epoch > old.epoch
            with pytest.raises(LeaseLost):
                stale_store.commit("customers", Commit(links=[link("2", 102)], cursor=Position(FEB, "2")))
            StateStore(sessions, "acme", epoch=new.epoch).commit("customers", Commit(links=[link("3", 103)]))
        wait_until("its heartbeat to find the token gone", old.lost.is_set)
        with pytest.raises(LeaseLost):
            old.ensure()  # its heartbeat found the token gone
    reader = StateStore(sessions, "acme")
    assert set(reader.links("customers", ["1", "2", "3"])) == {"1", "3"}
    cursor = reader.cursor("customers")
    assert cursor is not None
    assert cursor.key == "1"


def run_of(sessions: Sessions, run_id: int) -> models.Run:
    with sessions() as session:
        run = session.get(models.Run, run_id)
        assert run is not None
        return run


def test_a_live_leased_run_is_seen_on_each_renewal_and_never_judged_dead(
    redis_client: redis.Redis, sessions: Sessions
) -> None:
    with tenant_lease(redis_client, sessions, "acme", "job1", ttl=0.6) as lease:
        run_id = StateStore(sessions, "acme", epoch=lease.epoch).start_run("customers", "schedule", "full")
        started = run_of(sessions, run_id)
        assert started.holder == lease.token
        # the renewals mark it seen, with no commit in between
        wait_until("a renewal to mark the run seen", lambda: seen_after(sessions, run_id, started))
        assert reap(sessions, "acme", lambda: lock_seen(redis_client, "acme"), "syncd status") == []
        assert run_of(sessions, run_id).status == "running"


def seen_after(sessions: Sessions, run_id: int, started: models.Run) -> bool:
    seen = run_of(sessions, run_id).last_seen_at
    return seen is not None and started.last_seen_at is not None and seen > started.last_seen_at


def test_a_run_whose_lock_lapsed_is_crashed_for_status_and_closed_by_the_next_lease(
    redis_client: redis.Redis, sessions: Sessions
) -> None:
    with tenant_lease(redis_client, sessions, "acme", "dead", ttl=5) as dead:
        run_id = StateStore(sessions, "acme", epoch=dead.epoch).start_run("customers", "schedule", "full")
        redis_client.delete(lock_key("acme"))  # as if its process had died: the TTL ran out
        closed = reap(sessions, "acme", lambda: lock_seen(redis_client, "acme"), "syncd status")
        assert [c.reason for c in closed] == ["its lease expired: nobody holds the tenant lock"]
    row = run_of(sessions, run_id)
    assert row.status == "crashed"
    assert "closed by syncd status" in (row.error or "")
    assert row.finished_at == row.last_seen_at


def test_the_next_lease_closes_a_dead_holder_s_run(redis_client: redis.Redis, sessions: Sessions) -> None:
    with tenant_lease(redis_client, sessions, "acme", "dead", ttl=5) as dead:
        run_id = StateStore(sessions, "acme", epoch=dead.epoch).start_run("customers", "schedule", "full")
        redis_client.delete(lock_key("acme"))
        with tenant_lease(redis_client, sessions, "acme", "next", ttl=5):
            row = run_of(sessions, run_id)
            assert row.status == "crashed"
            assert "closed by the next run" in (row.error or "")
