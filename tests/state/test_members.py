"""Campaign members in the state DB (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from syncd.engine.errors import LeaseLost
from syncd.state.leases import take_epoch
from syncd.state.members import MemberStore, Placed


def test_placed_records_become_members_and_removed_ones_go(sessions: sessionmaker[Session]) -> None:
    store = MemberStore(sessions, "acme")
    store.commit("00002", [Placed("1", 101, 901, "h1", 3), Placed("2", 102, 902, "h2", 3)], [])
    store.commit("00002", [], ["2"])
    members = store.members("00002")
    assert set(members) == {"1"}
    assert (members["1"].customer_id, members["1"].record_id, members["1"].sent_status_id) == (101, 901, 3)
    assert MemberStore(sessions, "other").members("00002") == {}
    assert store.members("00003") == {}


def test_a_change_without_a_record_id_keeps_the_known_one(sessions: sessionmaker[Session]) -> None:
    store = MemberStore(sessions, "acme")
    store.commit("00002", [Placed("1", 101, 901, "h1", 3)], [])
    store.commit("00002", [Placed("1", 101, None, "h2", 4)], [])
    member = store.members("00002")["1"]
    assert (member.record_id, member.sent_hash, member.sent_status_id) == (901, "h2", 4)


def test_a_stale_epoch_cannot_rewrite_membership(sessions: sessionmaker[Session]) -> None:
    old = take_epoch(sessions, "acme", "old")
    take_epoch(sessions, "acme", "new")
    with pytest.raises(LeaseLost):
        MemberStore(sessions, "acme", epoch=old).commit("00002", [Placed("1", 101, 901, "h", 3)], [])
    assert MemberStore(sessions, "acme").members("00002") == {}
