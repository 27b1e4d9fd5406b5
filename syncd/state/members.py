"""Campaign members: the state DB's view of each record syncd put in a CRM campaign.

A row exists while syncd believes the record is in the campaign; removing the record
deletes the row. Each batch's outcome is written in one transaction, fenced like the
customer links, so a stale lock holder cannot rewrite membership either.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert, Update

from syncd.engine.campaigns.plan import Member, Placed
from syncd.engine.campaigns.records import KeyedState, RecordState
from syncd.state import models
from syncd.state.cursors import read_cursor, write_cursor
from syncd.state.scope import TenantScoped
from syncd.state.upsert import upsert

__all__ = ["MemberStore", "Placed", "poll_stream"]

_MEMBERS = models.Base.metadata.tables["campaign_members"]
# The outcome columns the members table keeps of a record (the write-back table keeps them all).
_MEMBER_OUTCOME = ("status_id", "system_status", "call_date", "agent_login", "last_note")


class MemberStore(TenantScoped):
    """One tenant's campaign members; fenced writes with an ``epoch``."""

    def members(self, outbound_id: str) -> dict[str, Member]:
        member = _MEMBERS.c
        query = select(
            member.source_key,
            member.customer_id,
            member.record_id,
            member.desired_hash,
            member.sent_status_id,
            member.status_id,
            member.system_status,
        ).where(
            member.tenant == self.tenant, member.outbound_id == outbound_id, member.customer_id.is_not(None)
        )
        with self.sessions() as session:
            return {row[0]: Member(*row) for row in session.execute(query)}

    def commit(self, outbound_id: str, placed: Sequence[Placed], removed: Sequence[str]) -> None:
        now = self.clock()
        with self.sessions() as session, session.begin():
            self._fence(session)
            if removed:
                member = _MEMBERS.c
                session.execute(
                    delete(_MEMBERS).where(
                        member.tenant == self.tenant,
                        member.outbound_id == outbound_id,
                        member.source_key.in_(list(removed)),
                    )
                )
            if placed:
                dialect = session.get_bind().dialect.name
                session.execute(_place(dialect), [self._row(outbound_id, p, now) for p in placed])

    def apply_states(self, outbound_id: str, states: Sequence[RecordState]) -> list[KeyedState]:
        """Store what Thulium says of these records; returns those that belong to a member.

        A record is matched by customer id when the news has one (a poll), else by record id
        (a webhook). Records syncd did not place are ignored: they are not ours to mirror.
        """
        if not states:
            return []
        with self.sessions() as session, session.begin():
            self._fence(session)
            by_customer, by_record = self._index(session, outbound_id)
            matched: list[KeyedState] = []
            rows: list[dict[str, object]] = []
            for state in states:
                found = by_customer.get(state.customer_id) if state.customer_id else None
                found = found or (by_record.get(state.record_id) if state.record_id else None)
                if found is None:
                    continue
                row_id, key, customer_id = found
                matched.append(KeyedState(key, customer_id, state))
                rows.append(_outcome_row(row_id, state))
            if rows:
                session.execute(_set_outcome(), rows)
            return matched

    def keys_of_records(self, outbound_id: str, record_ids: Sequence[int]) -> dict[int, str]:
        member = _MEMBERS.c
        query = select(member.record_id, member.source_key).where(
            member.tenant == self.tenant,
            member.outbound_id == outbound_id,
            member.record_id.in_(list(record_ids)),
        )
        with self.sessions() as session:
            return {int(record_id): key for record_id, key in session.execute(query)}

    def forget(self, outbound_id: str, keys: Sequence[str]) -> None:
        """Drop members whose record is no longer in Thulium, so the next plan adds them again."""
        self.commit(outbound_id, [], keys)

    def poll_mark(self, outbound_id: str) -> str | None:
        """When the last poll of this campaign started (ISO date-time), or None before the first."""
        found = read_cursor(self.sessions, self.tenant, poll_stream(outbound_id))
        return None if found is None else found[0]

    def set_poll_mark(self, outbound_id: str, value: str) -> None:
        now = self.clock()
        with self.sessions() as session, session.begin():
            self._fence(session)
            dialect = session.get_bind().dialect.name
            write_cursor(session, dialect, self.tenant, poll_stream(outbound_id), (value, ""), now)

    def count(self, outbound_id: str) -> int:
        """How many records syncd placed in the campaign: what ``syncd status`` counts as its links."""
        member = _MEMBERS.c
        query = select(func.count()).where(member.tenant == self.tenant, member.outbound_id == outbound_id)
        with self.sessions() as session:
            return session.scalar(query) or 0

    def status_counts(self, outbound_id: str) -> dict[str, int]:
        """Members by the dialer's system status as last seen; ``unseen`` before the first poll."""
        member = _MEMBERS.c
        query = (
            select(member.system_status, func.count())
            .where(member.tenant == self.tenant, member.outbound_id == outbound_id)
            .group_by(member.system_status)
        )
        with self.sessions() as session:
            return {status or "unseen": int(n) for status, n in session.execute(query)}

    def _index(
        self, session: Session, outbound_id: str
    ) -> tuple[dict[int, tuple[int, str, int]], dict[int, tuple[int, str, int]]]:
        member = _MEMBERS.c
        query = select(member.id, member.source_key, member.customer_id, member.record_id).where(
            member.tenant == self.tenant, member.outbound_id == outbound_id, member.customer_id.is_not(None)
        )
        by_customer: dict[int, tuple[int, str, int]] = {}
        by_record: dict[int, tuple[int, str, int]] = {}
        for row_id, key, customer_id, record_id in session.execute(query):
            by_customer[customer_id] = (row_id, key, customer_id)
            if record_id is not None:
                by_record[record_id] = (row_id, key, customer_id)
        return by_customer, by_record

    def _row(self, outbound_id: str, placed: Placed, now: datetime) -> dict[str, object]:
        return {
            "tenant": self.tenant,
            "outbound_id": outbound_id,
            "source_key": placed.key,
            "customer_id": placed.customer_id,
            "record_id": placed.record_id,
            "desired": True,
            "desired_hash": placed.sent_hash,
            "sent_status_id": placed.sent_status_id,
            "synced_at": now,
        }


def _place(dialect: str) -> Insert:
    return upsert(
        dialect,
        _MEMBERS,
        ("tenant", "outbound_id", "source_key"),
        lambda new: {
            "customer_id": new["customer_id"],
            # a change (PUT) does not return the record id: keep the one we know
            "record_id": func.coalesce(new["record_id"], _MEMBERS.c.record_id),
            "desired": new["desired"],
            "desired_hash": new["desired_hash"],
            "sent_status_id": new["sent_status_id"],
            "synced_at": new["synced_at"],
        },
    )


def poll_stream(outbound_id: str) -> str:
    """The cursors-table name of a campaign's poll mark."""
    return f"campaign-poll:{outbound_id}"


def _set_outcome() -> Update:
    member = _MEMBERS.c
    values: dict[str, Any] = {
        name: func.coalesce(bindparam(f"new_{name}"), member[name]) for name in _MEMBER_OUTCOME
    }
    values["record_id"] = func.coalesce(bindparam("new_record_id"), member.record_id)
    return update(_MEMBERS).where(member.id == bindparam("row_id")).values(values)


def _outcome_row(row_id: int, state: RecordState) -> dict[str, object]:
    said = state.said()
    row: dict[str, object] = {f"new_{name}": said.get(name) for name in _MEMBER_OUTCOME}
    row["new_record_id"] = state.record_id
    row["row_id"] = row_id
    return row
