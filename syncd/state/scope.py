"""What every per-tenant store shares: its sessions, its tenant, its clock and, when fenced, its epoch.

A store is scoped to one tenant so that no query can leak another tenant's rows; with an
``epoch`` its writes are fenced (``syncd.state.leases``), so a process that lost the tenant's
lock cannot write even if it never noticed losing it. A dataclass, so a store that keeps more
(``StateStore``'s caches) adds fields instead of repeating the constructor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from syncd.state.db import Sessions
from syncd.state.leases import fence
from syncd.state.types import utcnow


@dataclass(eq=False)
class TenantScoped:
    sessions: Sessions
    tenant: str
    clock: Callable[[], datetime] = field(default=utcnow, kw_only=True)
    epoch: int | None = field(default=None, kw_only=True)

    def _fence(self, session: Session) -> None:
        """First in a write transaction: raises ``LeaseLost`` once another process took the tenant."""
        if self.epoch is not None:
            fence(session, self.tenant, self.epoch)
