"""The webhook event log: one row per distinct event a tenant received, ids only, never content.

Claiming an event is an insert that does nothing when the (tenant, digest) row exists, so a
replay (also one racing the original) finds the claim and is a duplicate; the claim is settled
with what the event did, or released when acting on it failed (``syncd.web.webhook_store``).
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import delete, update

from syncd.state import models
from syncd.state.scope import TenantScoped
from syncd.state.upsert import insert_missing

_EVENTS = models.Base.metadata.tables["webhook_events"]


class EventIds(Protocol):
    """What the log keeps of an event: how to recognise it again, and the ids it names."""

    @property
    def digest(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def outbound_id(self) -> str | None: ...
    @property
    def record_id(self) -> int | None: ...
    @property
    def customer_id(self) -> int | None: ...


class EventLog(TenantScoped):
    """One tenant's rows in ``webhook_events``."""

    def claim(self, event: EventIds, outcome: str) -> bool:
        """False when the tenant has seen this event already.

        Decided on RETURNING, not on the row count: with an autoincrement key PostgreSQL's driver
        reports -1 for an INSERT that SQLAlchemy gave an implicit RETURNING.
        """
        row = {
            "tenant": self.tenant,
            "digest": event.digest,
            "action": event.action,
            "outbound_id": event.outbound_id,
            "record_id": event.record_id,
            "customer_id": event.customer_id,
            "outcome": outcome,
            "received_at": self.clock(),
        }
        with self.sessions() as session, session.begin():
            statement = insert_missing(session.get_bind().dialect.name, _EVENTS, ("tenant", "digest"))
            return session.execute(statement.returning(_EVENTS.c.id), row).first() is not None

    def settle(self, event: EventIds, outcome: str) -> None:
        with self.sessions() as session, session.begin():
            session.execute(update(_EVENTS).where(*self._this(event)).values(outcome=outcome))

    def release(self, event: EventIds) -> None:
        with self.sessions() as session, session.begin():
            session.execute(delete(_EVENTS).where(*self._this(event)))

    def _this(self, event: EventIds) -> tuple[Any, ...]:
        return _EVENTS.c.tenant == self.tenant, _EVENTS.c.digest == event.digest
