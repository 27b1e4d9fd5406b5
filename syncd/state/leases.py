"""Fencing epochs of the tenant locks.

The Redis lock can lapse while its holder is paused and still believes it holds it. Every
acquisition therefore takes a new, larger epoch here, and each write of a run first checks
that its epoch is still the current one. The check is an UPDATE of the lease row, so on
PostgreSQL it holds the row lock until the write commits: a new holder's bump waits for it,
and once the bump has committed every older epoch fails the check.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from syncd.engine.errors import LeaseLost
from syncd.state import models
from syncd.state.db import rowcount
from syncd.state.types import utcnow
from syncd.state.upsert import upsert

_LEASES: Table = models.Base.metadata.tables["leases"]


def take_epoch(
    session_factory: Callable[[], Session],
    tenant: str,
    holder: str,
    *,
    clock: Callable[[], datetime] = utcnow,
) -> int:
    """Bump the tenant's epoch (1 for a first lease) and return it.

    One upsert, so two racing processes never read the same old epoch: the second waits for
    the first's row lock and then increments its result.
    """
    row = {"tenant": tenant, "epoch": 1, "holder": holder, "acquired_at": clock()}
    with session_factory() as session, session.begin():
        dialect = session.get_bind().dialect.name
        session.execute(_bump(dialect), [row])
        epoch = session.scalar(select(models.Lease.epoch).where(models.Lease.tenant == tenant))
    assert epoch is not None, "the upsert just wrote the row"
    return epoch


def current_epoch(session_factory: Callable[[], Session], tenant: str) -> int | None:
    with session_factory() as session:
        return session.scalar(select(models.Lease.epoch).where(models.Lease.tenant == tenant))


def fence(session: Session, tenant: str, epoch: int) -> None:
    """Raise ``LeaseLost`` unless ``epoch`` is still the tenant's; call first in a write transaction.

    The no-op UPDATE (rather than a SELECT) takes the lease row's write lock, so a competing
    ``take_epoch`` cannot commit between this check and the caller's commit.
    """
    lease = _LEASES.c
    statement = update(_LEASES).where(lease.tenant == tenant, lease.epoch == epoch).values(epoch=lease.epoch)
    if rowcount(session.execute(statement)) != 1:
        raise LeaseLost(f"tenant {tenant!r}: epoch {epoch} is no longer current")


def _bump(dialect: str) -> Insert:
    return upsert(
        dialect,
        _LEASES,
        ("tenant",),
        lambda new: {
            "epoch": _LEASES.c.epoch + 1,
            "holder": new["holder"],
            "acquired_at": new["acquired_at"],
        },
    )


def holder_of(session: Session, tenant: str, epoch: int) -> str | None:
    """The token that took ``epoch`` of the tenant's lease (the run it fences names it as its holder)."""
    lease = models.Lease
    return session.scalar(select(lease.holder).where(lease.tenant == tenant, lease.epoch == epoch))


def lease_since(session_factory: Callable[[], Session], tenant: str, holder: str | None) -> datetime | None:
    """When ``holder`` took the tenant's lease; the lease row names the same token as the Redis lock."""
    if holder is None:
        return None
    lease = models.Lease
    with session_factory() as session:
        return session.scalar(select(lease.acquired_at).where(lease.tenant == tenant, lease.holder == holder))
