"""Campaign members: the state DB's view of each record syncd put in a CRM campaign.

A row exists while syncd believes the record is in the campaign; removing the record
deletes the row. Each batch's outcome is written in one transaction, fenced like the
customer links, so a stale lock holder cannot rewrite membership either.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from syncd.engine.campaign_plan import Member
from syncd.state import models
from syncd.state.leases import fence
from syncd.state.types import utcnow
from syncd.state.upsert import upsert

_MEMBERS = models.Base.metadata.tables["campaign_members"]


@dataclass(frozen=True, slots=True)
class Placed:
    """A record Thulium confirmed in the campaign (added, adopted or changed)."""

    key: str
    customer_id: int
    record_id: int | None
    sent_hash: str | None
    sent_status_id: int | None


class MemberStore:
    def __init__(
        self,
        session_factory: Callable[[], Session],
        tenant: str,
        *,
        clock: Callable[[], datetime] = utcnow,
        epoch: int | None = None,
    ) -> None:
        self._sessions, self.tenant, self._clock, self.epoch = session_factory, tenant, clock, epoch

    def members(self, outbound_id: str) -> dict[str, Member]:
        row = models.CampaignMember
        query = select(row).where(row.tenant == self.tenant, row.outbound_id == outbound_id)
        with self._sessions() as session:
            return {m.source_key: _member(m) for m in session.scalars(query) if m.customer_id is not None}

    def commit(self, outbound_id: str, placed: Sequence[Placed], removed: Sequence[str]) -> None:
        now = self._clock()
        with self._sessions() as session, session.begin():
            if self.epoch is not None:
                fence(session, self.tenant, self.epoch)
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


def _member(row: models.CampaignMember) -> Member:
    return Member(
        key=row.source_key,
        customer_id=row.customer_id or 0,
        record_id=row.record_id,
        sent_hash=row.desired_hash,
        sent_status_id=row.sent_status_id,
        status_id=row.status_id,
        system_status=row.system_status,
    )
