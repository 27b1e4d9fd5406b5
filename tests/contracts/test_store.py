"""The Store port: what the engine may rely on from the state DB, held by the fake and by StateStore."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from syncd.engine.ports import Commit, FailureRecord, Link, Store
from syncd.engine.records import Position
from syncd.engine.wallclock import wall_clock
from syncd.vocabulary import FailureKind

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def link(key: str, thulium_id: int, *, payload_hash: str = "h", company_key: str | None = None) -> Link:
    return Link(key, thulium_id, payload_hash, company_key=company_key)


def test_a_new_stream_has_no_cursor_no_links_and_no_failures(store: Store) -> None:
    assert store.cursor("customers") is None
    assert store.links("customers", ["a"]) == {}
    assert list(store.all_links("customers")) == []
    assert store.newest_id("customers") is None
    assert store.open_failure_keys("customers") == set()
    assert store.due_retries("customers", NOW) == []


def test_committed_links_and_cursor_read_back_and_stay_in_their_stream(store: Store) -> None:
    cursor = Position(wall_clock(2026, 2, 1, 8, 30), "b")
    store.commit("customers", Commit(links=[link("a", 11), link("b", 12, payload_hash="x")], cursor=cursor))
    assert store.links("customers", ["a", "b", "c"]) == {
        "a": link("a", 11),
        "b": link("b", 12, payload_hash="x"),
    }
    assert sorted(found.source_key for found in store.all_links("customers")) == ["a", "b"]
    assert store.cursor("customers") == cursor
    assert store.newest_id("customers") == 12
    assert store.links("companies", ["a"]) == {}
    assert store.cursor("companies") is None


def test_a_later_commit_replaces_a_link_and_unlinked_keys_are_gone(store: Store) -> None:
    store.commit("customers", Commit(links=[link("a", 11), link("b", 12)]))
    store.commit("customers", Commit(links=[link("a", 21, payload_hash="new")], unlinked=["b"]))
    assert store.links("customers", ["a", "b"]) == {"a": link("a", 21, payload_hash="new")}


def test_a_pending_create_stays_pending_until_its_link_is_committed(store: Store) -> None:
    store.commit("customers", Commit(pending=["a", "b"]))
    assert store.pending_keys("customers", ["a", "b", "c"]) == {"a", "b"}
    store.commit("customers", Commit(links=[link("a", 11)]))
    assert store.pending_keys("customers", ["a", "b"]) == {"b"}
    assert store.links("customers", ["b"]) == {}


def test_retryable_and_waiting_failures_come_due_at_their_next_attempt(store: Store) -> None:
    later = NOW + timedelta(minutes=5)
    store.commit(
        "customers",
        Commit(
            failures=[
                FailureRecord(
                    "due", "create", FailureKind.RETRYABLE, "503", next_attempt_at=NOW - timedelta(seconds=1)
                ),
                FailureRecord("later", "create", FailureKind.RETRYABLE, "503", next_attempt_at=later),
                FailureRecord(
                    "company", "create", FailureKind.WAITING, "its company is not there", next_attempt_at=NOW
                ),
                FailureRecord("bad", "create", FailureKind.REJECTED, "no surname", payload_hash="hb"),
            ]
        ),
    )
    assert sorted(store.due_retries("customers", NOW)) == ["company", "due"]
    assert sorted(store.due_retries("customers", later)) == ["company", "due", "later"]
    assert store.open_failure_keys("customers") == {"due", "later", "company", "bad"}


def test_blocked_failures_keep_the_hash_that_failed_until_resolved(store: Store) -> None:
    store.commit(
        "customers",
        Commit(
            failures=[
                FailureRecord("bad", "create", FailureKind.REJECTED, "no surname", payload_hash="hb"),
                FailureRecord(
                    "refused", "update", FailureKind.PERMANENT, "422", http_status=422, payload_hash="hr"
                ),
                FailureRecord("flaky", "update", FailureKind.RETRYABLE, "503", next_attempt_at=NOW),
            ]
        ),
    )
    assert store.open_failure_hashes("customers", ["bad", "refused", "flaky"]) == {
        "bad": "hb",
        "refused": "hr",
    }
    store.commit("customers", Commit(resolved=["bad", "flaky"]))
    assert store.open_failure_hashes("customers", ["bad", "refused"]) == {"refused": "hr"}
    assert store.open_failure_keys("customers") == {"refused"}


def test_a_moved_company_brings_its_customers_back_until_they_are_rechecked(store: Store) -> None:
    store.commit("companies", Commit(links=[link("c1", 1), link("c2", 2)]))
    customers = [link("a", 11, company_key="c1"), link("b", 12, company_key="c2")]
    store.commit("customers", Commit(links=customers))
    store.commit("companies", Commit(moved=["c1"]))
    assert store.due_retries("customers", NOW) == ["a"]
    store.commit("customers", Commit(rechecked=["a"]))
    assert store.due_retries("customers", NOW) == []
