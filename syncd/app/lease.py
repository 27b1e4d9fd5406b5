"""What a run holds while it writes a tenant, apart from how it was taken.

The lease and its refusal are read by every run, leased or not (``leased_crm`` checks a lease before
each write; the CLI says a tenant is busy); taking one needs Redis (``tenant_lease``), which a sync on
a machine with no daemon never loads.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from syncd.engine.errors import LeaseLost
from syncd.errors import Retriable


class TenantBusy(Retriable):
    """Another run holds the tenant: the trigger is recorded as skipped, not queued behind."""

    def __init__(self, tenant: str, holder: str | None) -> None:
        super().__init__(f"tenant {tenant!r} is busy (held by {holder or 'unknown'})")
        self.tenant, self.holder = tenant, holder


@dataclass
class Lease:
    tenant: str
    token: str
    epoch: int
    ttl: float
    deadline: float  # monotonic time after which the lock may belong to someone else
    lost: threading.Event = field(default_factory=threading.Event)

    def ensure(self) -> None:
        """Raise before a write if the lease may have lapsed; cheap enough to call per request."""
        if self.lost.is_set():
            raise LeaseLost(f"tenant {self.tenant!r}: lock taken over (epoch {self.epoch})")
        if time.monotonic() >= self.deadline:
            raise LeaseLost(f"tenant {self.tenant!r}: lock expired before it could be renewed")

    def renewed(self, at: float) -> None:
        self.deadline = at + self.ttl
