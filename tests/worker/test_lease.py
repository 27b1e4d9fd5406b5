"""The tenant lease against a real Redis and real state DBs (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from syncd.engine.errors import LeaseLost
from syncd.engine.ports import Commit, Link
from syncd.engine.records import Position
from syncd.state import migrate
from syncd.state.db import make_engine, session_factory
from syncd.state.repository import StateStore
from syncd.worker.lease import TenantBusy, lock_holder, lock_key, tenant_lease
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
    assert cursor is not None and cursor.key == "1"
