"""StateStore on real SQLite and real PostgreSQL, on a schema built only by the migrations."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from syncd.engine.ports import Commit, FailureRecord, Link, Store
from syncd.engine.records import Position
from syncd.engine.wallclock import wall_clock
from syncd.state import models
from syncd.state.repository import CursorTooLong, StateStore
from syncd.state.stream_counts import StreamCounts
from syncd.vocabulary import FailureKind
from tests.state.helpers import T0, Clock, failure_log, run_log, stream_counter

STREAM = "customers"


@pytest.fixture
def store(sessions: sessionmaker[Session], clock: Clock) -> StateStore:
    return StateStore(sessions, "acme", clock=clock)


def failure(key: str, kind: FailureKind = FailureKind.RETRYABLE, **changes: Any) -> FailureRecord:
    return replace(FailureRecord(key, "create", kind, f"{kind} {key}"), **changes)


def failure_row(sessions: sessionmaker[Session], key: str, tenant: str = "acme") -> models.Failure:
    with sessions() as session:
        return session.scalars(
            select(models.Failure).where(models.Failure.tenant == tenant, models.Failure.source_key == key)
        ).one()


def test_is_the_engines_store(store: StateStore) -> None:
    engine_store: Store = store  # mypy checks the protocol; the engine gets nothing else
    assert engine_store.cursor(STREAM) is None


# -- cursors ---------------------------------------------------------------------------------


def test_cursor_round_trips_native_types(store: StateStore) -> None:
    assert store.cursor(STREAM) is None
    first = Position(datetime(2026, 2, 28, 23, 59, 59, 123456, tzinfo=UTC), 42)
    store.commit(STREAM, Commit(cursor=first))
    stored = store.cursor(STREAM)
    assert stored == first
    assert stored is not None
    assert isinstance(stored.key, int)

    second = Position("2026-03-01", "cust-0007")
    store.commit(STREAM, Commit(cursor=second))
    assert store.cursor(STREAM) == second
    assert store.cursor("companies") is None


def test_commit_without_cursor_leaves_it(store: StateStore) -> None:
    store.commit(STREAM, Commit(cursor=Position(5, "5")))
    store.commit(STREAM, Commit(links=[Link("5", 105, "h")]))
    assert store.cursor(STREAM) == Position(5, "5")


def test_cursor_too_long_for_its_column_is_refused_before_writing(store: StateStore) -> None:
    with pytest.raises(CursorTooLong):
        store.commit(STREAM, Commit(links=[Link("1", 1, "h")], cursor=Position("x" * 80, "1")))
    assert store.links(STREAM, ["1"]) == {}
    assert store.cursor(STREAM) is None


# -- links -----------------------------------------------------------------------------------


def test_links_upserted_and_deleted_in_one_commit(store: StateStore, clock: Clock) -> None:
    store.commit(STREAM, Commit(links=[Link("a", 1, "ha"), Link("b", 2, "hb"), Link("c", 3, "hc", 30)]))
    clock.tick(minutes=1)
    store.commit(STREAM, Commit(links=[Link("a", 11, "ha2"), Link("d", 4, None)], unlinked=["b", "zz"]))

    assert store.links(STREAM, ["a", "b", "c", "d", "missing"]) == {
        "a": Link("a", 11, "ha2"),
        "c": Link("c", 3, "hc", 30),
        "d": Link("d", 4, None),
    }
    assert [link.source_key for link in store.all_links(STREAM)] == ["a", "c", "d"]
    assert list(store.all_links("companies")) == []


def test_a_key_both_unlinked_and_linked_stays_linked(store: StateStore) -> None:
    store.commit(STREAM, Commit(links=[Link("a", 1, "h1")]))
    store.commit(STREAM, Commit(links=[Link("a", 2, "h2")], unlinked=["a"]))
    assert store.links(STREAM, ["a"]) == {"a": Link("a", 2, "h2")}


def test_only_synced_links_with_a_thulium_id_count(
    store: StateStore, sessions: sessionmaker[Session], clock: Clock
) -> None:
    with sessions.begin() as session:
        session.add(models.Link(tenant="acme", stream=STREAM, source_key="p", thulium_id=9, state="pending"))
        session.add(models.Link(tenant="acme", stream=STREAM, source_key="n", thulium_id=None))
    store.commit(STREAM, Commit(links=[Link("ok", 1, "h")]))
    assert list(store.links(STREAM, ["p", "n", "ok"])) == ["ok"]
    assert [link.source_key for link in store.all_links(STREAM)] == ["ok"]

    # Linking a pending row makes it synced again.
    store.commit(STREAM, Commit(links=[Link("p", 10, "hp")]))
    assert store.links(STREAM, ["p"]) == {"p": Link("p", 10, "hp")}


def test_links_lookup_beyond_one_in_list(store: StateStore) -> None:
    links = [Link(f"k{i:04d}", i, f"h{i}") for i in range(1, 1201)]
    for start in range(0, len(links), 100):
        store.commit(STREAM, Commit(links=links[start : start + 100]))
    found = store.links(STREAM, [link.source_key for link in links] + ["nope"])
    assert len(found) == 1200
    assert found["k1200"] == Link("k1200", 1200, "h1200")
    assert sum(1 for _ in store.all_links(STREAM)) == 1200


# -- atomicity -------------------------------------------------------------------------------


def test_a_commit_failing_midway_writes_nothing(store: StateStore) -> None:
    store.commit(STREAM, Commit(links=[Link("a", 1, "h1")], cursor=Position(1, "a")))
    naive = wall_clock(2026, 3, 1, 10, 0)  # the UTC column refuses it, after links were written
    with pytest.raises(Exception, match="naive datetime"):
        store.commit(
            STREAM,
            Commit(
                links=[Link("a", 2, "h2"), Link("b", 3, "h3")],
                unlinked=["a"],
                failures=[failure("c", next_attempt_at=naive)],
                cursor=Position(9, "c"),
            ),
        )
    assert store.links(STREAM, ["a", "b"]) == {"a": Link("a", 1, "h1")}
    assert store.cursor(STREAM) == Position(1, "a")
    assert failure_log(store).open_failures() == []


# -- failures --------------------------------------------------------------------------------


def test_failure_repeats_count_and_reopen(
    store: StateStore, sessions: sessionmaker[Session], clock: Clock
) -> None:
    store.commit(STREAM, Commit(failures=[failure("k", http_status=503, request_id="r1")]))
    row = failure_row(sessions, "k")
    assert (row.attempts, row.first_failed_at, row.last_failed_at, row.resolved_at) == (1, T0, T0, None)

    t1 = clock.tick(minutes=5)
    store.commit(
        STREAM, Commit(failures=[failure("k", FailureKind.PERMANENT, http_status=422, payload_hash="h")])
    )
    row = failure_row(sessions, "k")
    assert (row.attempts, row.first_failed_at, row.last_failed_at) == (2, T0, t1)
    assert (row.kind, row.http_status, row.request_id, row.payload_hash) == ("permanent", 422, None, "h")

    t2 = clock.tick(minutes=5)
    store.commit(STREAM, Commit(resolved=["k", "never-failed"]))
    assert failure_row(sessions, "k").resolved_at == t2
    assert failure_log(store).open_failures() == []

    t3 = clock.tick(minutes=5)
    store.commit(STREAM, Commit(failures=[failure("k", message="again")]))
    row = failure_row(sessions, "k")
    assert (row.attempts, row.first_failed_at, row.last_failed_at, row.resolved_at) == (3, T0, t3, None)
    [open_one] = failure_log(store).open_failures(STREAM)
    assert (open_one.source_key, open_one.message, open_one.attempts) == ("k", "again", 3)


def test_a_key_both_resolved_and_failed_stays_failed(store: StateStore) -> None:
    store.commit(STREAM, Commit(failures=[failure("k")]))
    store.commit(STREAM, Commit(failures=[failure("k")], resolved=["k"]))
    assert [f.source_key for f in failure_log(store).open_failures()] == ["k"]


def test_due_retries_respects_kind_and_next_attempt(store: StateStore, clock: Clock) -> None:
    now = T0 + timedelta(hours=1)
    past, future = now - timedelta(seconds=1), now + timedelta(seconds=1)
    store.commit(
        STREAM,
        Commit(
            failures=[
                failure("no-time"),
                failure("past", next_attempt_at=past),
                failure("exactly-now", next_attempt_at=now),
                failure("future", next_attempt_at=future),
                failure(FailureKind.WAITING, FailureKind.WAITING, next_attempt_at=past),
                failure(FailureKind.PERMANENT, FailureKind.PERMANENT, next_attempt_at=past),
                failure(FailureKind.REJECTED, FailureKind.REJECTED),
                failure("resolved", next_attempt_at=past),
            ]
        ),
    )
    store.commit(STREAM, Commit(resolved=["resolved"]))
    store.commit("companies", Commit(failures=[failure("other-stream")]))
    assert sorted(store.due_retries(STREAM, now)) == ["exactly-now", "no-time", "past", "waiting"]
    assert "future" in store.due_retries(STREAM, future)


def test_open_failure_hashes_only_blocking_kinds(store: StateStore) -> None:
    store.commit(
        STREAM,
        Commit(
            failures=[
                failure("perm", FailureKind.PERMANENT, payload_hash="h1"),
                failure("rej", FailureKind.REJECTED),
                failure("retry", FailureKind.RETRYABLE, payload_hash="h3"),
                failure("gone", FailureKind.PERMANENT, payload_hash="h4"),
                failure("unasked", FailureKind.PERMANENT, payload_hash="h5"),
            ],
        ),
    )
    store.commit(STREAM, Commit(resolved=["gone"]))
    keys = ["perm", "rej", "retry", "gone", "nothing"]
    assert store.open_failure_hashes(STREAM, keys) == {"perm": "h1", "rej": None}
    assert store.open_failure_hashes("companies", keys) == {}


# -- tenants and runs ------------------------------------------------------------------------


def test_tenants_are_isolated(sessions: sessionmaker[Session], clock: Clock) -> None:
    acme, other = StateStore(sessions, "acme", clock=clock), StateStore(sessions, "other", clock=clock)
    for store, offset in ((acme, 0), (other, 100)):
        store.commit(
            STREAM,
            Commit(
                links=[Link("1", 1 + offset, "h")],
                failures=[failure("2", FailureKind.PERMANENT, payload_hash=f"h{offset}")],
                cursor=Position(offset, "1"),
            ),
        )
    acme.commit(STREAM, Commit(unlinked=["1"], resolved=["2"]))

    assert acme.links(STREAM, ["1"]) == {}
    assert other.links(STREAM, ["1"]) == {"1": Link("1", 101, "h")}
    assert acme.open_failure_hashes(STREAM, ["2"]) == {}
    assert other.open_failure_hashes(STREAM, ["2"]) == {"2": "h100"}
    assert (acme.cursor(STREAM), other.cursor(STREAM)) == (Position(0, "1"), Position(100, "1"))


def test_runs_start_and_finish(store: StateStore, sessions: sessionmaker[Session], clock: Clock) -> None:
    first = store.start_run(STREAM, "cli", "incremental")
    clock.tick(seconds=30)
    store.finish_run(first, "ok", {"read": 3, "created": 2, "unchanged": 1})
    clock.tick(minutes=1)
    second = store.start_run("companies", "beat", "full")
    store.finish_run(second, "failed", {"read": 1, "failed": 1}, error="boom")
    running = store.start_run(STREAM, "cli", "incremental")

    runs = run_log(store).newest()
    assert [r.id for r in runs] == [running, second, first]
    assert runs[0].status == "running"
    assert runs[0].finished_at is None
    assert (runs[1].status, runs[1].counters, runs[1].error) == ("failed", {"read": 1, "failed": 1}, "boom")
    assert runs[2].counters["created"] == 2
    assert runs[2].finished_at == T0 + timedelta(seconds=30)
    assert [r.id for r in run_log(store).newest(STREAM, limit=1)] == [running]

    other = StateStore(sessions, "other", clock=clock)
    assert run_log(other).newest() == []
    with pytest.raises(LookupError):
        other.finish_run(first, "ok", {})


def test_runs_record_their_job(store: StateStore) -> None:
    daemon = store.start_run(STREAM, "schedule", "incremental", job_id="0123456789ab")
    manual = store.start_run(STREAM, "cli", "incremental")
    assert {r.id: r.job_id for r in run_log(store).newest()} == {daemon: "0123456789ab", manual: None}


# -- status counts ---------------------------------------------------------------------------


def test_stream_counts(store: StateStore, sessions: sessionmaker[Session]) -> None:
    assert stream_counter(store).counts(STREAM) == StreamCounts(linked=0, pending=0, failed=0, retryable=0)
    store.commit(
        STREAM,
        Commit(
            links=[Link("a", 1, "h"), Link("b", 2, "h"), Link("c", 3, "h")],
            pending=["p1", "p2"],
            failures=[
                failure("r1"),
                failure("w1", FailureKind.WAITING),
                failure("x1", FailureKind.PERMANENT),
                failure("x2", FailureKind.REJECTED),
                failure("gone"),
            ],
        ),
    )
    store.commit(STREAM, Commit(resolved=["gone"], unlinked=["c"]))
    store.commit("companies", Commit(links=[Link("z", 9, "h")], failures=[failure("z2")]))
    StateStore(sessions, "other").commit(STREAM, Commit(links=[Link("o", 1, "h")], failures=[failure("o")]))

    assert stream_counter(store).counts(STREAM) == StreamCounts(linked=2, pending=2, failed=4, retryable=2)
    assert stream_counter(store).counts("companies") == StreamCounts(
        linked=1, pending=0, failed=1, retryable=1
    )
