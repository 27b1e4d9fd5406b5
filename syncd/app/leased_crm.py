"""The Crm a daemon run uses: every Thulium write first checks the tenant lease.

The state DB fences commits, but Thulium cannot be fenced; a holder that slept past its
lease and then sent a create would make a duplicate the new holder never hears of. Checking
the local lease deadline right before each write shrinks that window to the request itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Any

from syncd.app.lease import Lease
from syncd.engine.campaigns.ports import CampaignCrm
from syncd.engine.campaigns.records import RecordState
from syncd.engine.ports import Crm, CrmResult, Payload, RemoteRecord


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

    def settle(
        self, stream: str, identifiers: Sequence[str], floor: int | None
    ) -> dict[str, list[RemoteRecord]]:
        return self.crm.settle(stream, identifiers, floor)

    def scan(self, stream: str) -> Iterator[RemoteRecord]:
        return self.crm.scan(stream)


class LeasedCampaigns:
    """The same check for campaign writes: a stale holder must not add or remove records either."""

    def __init__(self, campaigns: CampaignCrm, lease: Lease) -> None:
        self.campaigns, self.lease = campaigns, lease

    def max_batch(self) -> int:
        return self.campaigns.max_batch()

    def add(self, outbound_id: str, records: Sequence[tuple[int, Mapping[str, Any]]]) -> list[CrmResult]:
        self.lease.ensure()
        return self.campaigns.add(outbound_id, records)

    def remove(self, outbound_id: str, customer_ids: Sequence[int]) -> list[CrmResult]:
        self.lease.ensure()
        return self.campaigns.remove(outbound_id, customer_ids)

    def change(self, outbound_id: str, customer_id: int, fields: Mapping[str, Any]) -> CrmResult:
        self.lease.ensure()
        return self.campaigns.change(outbound_id, customer_id, fields)

    def records(self, outbound_id: str, since: date | None) -> Iterator[RecordState]:
        return self.campaigns.records(outbound_id, since)

    def newest(self, outbound_id: str, count: int) -> list[RecordState]:
        return self.campaigns.newest(outbound_id, count)

    def record(self, outbound_id: str, customer_id: int) -> RecordState | None:
        return self.campaigns.record(outbound_id, customer_id)

    def customer_exists(self, customer_id: int) -> bool | None:
        return self.campaigns.customer_exists(customer_id)


class LeaseGuard:
    """What the composition root wraps a daemon run's Thulium writers with."""

    def __init__(self, lease: Lease) -> None:
        self.lease = lease

    def crm(self, crm: Crm) -> Crm:
        return LeasedCrm(crm, self.lease)

    def campaigns(self, campaigns: CampaignCrm) -> CampaignCrm:
        return LeasedCampaigns(campaigns, self.lease)


def guarded_by(lease: Lease) -> LeaseGuard:
    return LeaseGuard(lease)
