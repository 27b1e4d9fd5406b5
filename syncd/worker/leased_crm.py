"""The Crm a daemon run uses: every Thulium write first checks the tenant lease.

The state DB fences commits, but Thulium cannot be fenced; a holder that slept past its
lease and then sent a create would make a duplicate the new holder never hears of. Checking
the local lease deadline right before each write shrinks that window to the request itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from syncd.engine.ports import Crm, CrmResult, Payload, RemoteRecord
from syncd.worker.lease import Lease


class LeasedCrm:
    def __init__(self, crm: Crm, lease: Lease) -> None:
        self.crm, self.lease = crm, lease

    def max_batch(self, stream: str) -> int:
        return self.crm.max_batch(stream)

    def create(self, stream: str, payloads: Sequence[Payload]) -> list[CrmResult]:
        self.lease.ensure()
        return self.crm.create(stream, payloads)

    def update(self, stream: str, changes: Sequence[tuple[int, Payload]]) -> list[CrmResult]:
        self.lease.ensure()
        return self.crm.update(stream, changes)

    def delete(self, stream: str, thulium_ids: Sequence[int]) -> list[CrmResult]:
        self.lease.ensure()
        return self.crm.delete(stream, thulium_ids)

    def find(self, stream: str, identifier: str) -> list[RemoteRecord]:
        return self.crm.find(stream, identifier)

    def scan(self, stream: str) -> Iterator[RemoteRecord]:
        return self.crm.scan(stream)


def guarded_by(lease: Lease) -> Callable[[Crm], Crm]:
    """The ``guard`` the composition root wraps a run's Crm with."""

    def guard(crm: Crm) -> Crm:
        return LeasedCrm(crm, lease)

    return guard
