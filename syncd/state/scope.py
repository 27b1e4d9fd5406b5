"""What every per-tenant store shares: its sessions, its tenant, its clock and, when fenced, its epoch.

A store is scoped to one tenant so that no query can leak another tenant's rows; with an
``epoch`` its writes are fenced (``syncd.state.leases``), so a process that lost the tenant's
lock cannot write even if it never noticed losing it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from syncd.state.db import Sessions
from syncd.state.leases import fence
from syncd.state.types import utcnow


class TenantScoped:
    def __init__(
        self,
        session_factory: Sessions,
        tenant: str,
        *,
        clock: Callable[[], datetime] = utcnow,
        epoch: int | None = None,
    ) -> None:
        self._sessions = session_factory
        self.tenant = tenant
        self._clock = clock
        self.epoch = epoch

    def _fence(self, session: Session) -> None:
        """First in a write transaction: raises ``LeaseLost`` once another process took the tenant."""
        if self.epoch is not None:
            fence(session, self.tenant, self.epoch)
