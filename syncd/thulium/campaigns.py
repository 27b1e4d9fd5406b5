"""The campaign run's ``CampaignCrm`` over ``ThuliumClient``: batch adds and removals, single changes.

Like ``crm.py`` it translates and does not decide: per-item answers and whole-request
failures become ``ItemStatus`` values for ``engine/resolve.py``. A missing campaign (a 404
of the batch endpoint) is raised: no item can own it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Any

from syncd.engine.campaigns.records import RecordState
from syncd.engine.errors import RunAborted
from syncd.engine.ports import CrmResult
from syncd.engine.resolve import ItemStatus
from syncd.thulium.client import ThuliumClient
from syncd.thulium.crm import spread_failure
from syncd.thulium.errors import ThuliumAuthError, ThuliumError, ThuliumNotFound
from syncd.thulium.schemas import CampaignRecord, ItemResult

CAMPAIGN_MAX_BATCH = 100  # the vendor documents no bound; the records list pages by 100 too
RECORDS_PAGE = 100  # the most GET crm_outbounds/:id/records returns at once
NO_CONTENT = 204


class ThuliumCampaigns:
    def __init__(self, client: ThuliumClient, max_batch: int = CAMPAIGN_MAX_BATCH) -> None:
        self._client, self._max_batch = client, max_batch

    def max_batch(self) -> int:
        return self._max_batch

    def add(self, outbound_id: str, records: Sequence[tuple[int, Mapping[str, Any]]]) -> list[CrmResult]:
        bodies = [{**fields, "customer_id": customer_id} for customer_id, fields in records]
        try:
            by_id = self._client.batch_add_campaign_records(outbound_id, bodies)
        except ThuliumError as exc:
            return _spread(exc, len(records))
        return [_result(by_id[customer_id]) for customer_id, _ in records]

    def remove(self, outbound_id: str, customer_ids: Sequence[int]) -> list[CrmResult]:
        try:
            by_id = self._client.batch_remove_campaign_records(outbound_id, customer_ids)
        except ThuliumError as exc:
            return _spread(exc, len(customer_ids))
        return [_result(by_id[customer_id]) for customer_id in customer_ids]

    def change(self, outbound_id: str, customer_id: int, fields: Mapping[str, Any]) -> CrmResult:
        try:
            self._client.update_campaign_record(outbound_id, customer_id, fields)
        except ThuliumError as exc:
            return _spread(exc, 1, batch=False)[0]
        return CrmResult(ItemStatus(NO_CONTENT))

    def records(self, outbound_id: str, since: date | None) -> Iterator[RecordState]:
        filters = {} if since is None else {"call_date_from": since}
        try:
            yield from map(record_state, self._client.iter_campaign_records(outbound_id, **filters))
        except ThuliumAuthError as exc:
            raise RunAborted(str(exc)) from exc

    def newest(self, outbound_id: str, count: int) -> list[RecordState]:
        """The list's ``count`` says how many records there are; the newest are the last pages."""
        if count <= 0:
            return []
        total = self._client.list_campaign_records(outbound_id, limit=1).count
        found: list[RecordState] = []
        for offset in range(max(0, total - count), total, RECORDS_PAGE):
            page = self._client.list_campaign_records(outbound_id, limit=RECORDS_PAGE, offset=offset)
            found.extend(map(record_state, page.result))
        return found

    def record(self, outbound_id: str, customer_id: int) -> RecordState | None:
        try:
            return record_state(self._client.get_campaign_record(outbound_id, customer_id))
        except ThuliumNotFound:
            return None

    def customer_exists(self, customer_id: int) -> bool | None:
        """404/410 means gone; any other failure (after the client's own retries) cannot tell."""
        try:
            self._client.get_customer(customer_id)
        except ThuliumNotFound:
            return False
        except ThuliumAuthError as exc:
            raise RunAborted(str(exc)) from exc
        except ThuliumError:
            return None
        return True


def record_state(record: CampaignRecord) -> RecordState:
    return RecordState(
        record_id=record.record_id,
        customer_id=record.customer_id,
        status_id=record.status_id,
        status=record.status or "",
        system_status=record.system_status or "",
        call_date=record.call_date or "",
        create_date=record.create_date or "",
        next_call_date=record.next_call_date or "",
        agent_login=record.agent_login or "",
        agent_name=record.agent_name or "",
        last_note=record.last_note or "",
        record_order=record.order,
    )


def _result(item: ItemResult) -> CrmResult:
    return CrmResult(ItemStatus(item.http_status, item.status, item.message), thulium_id=item.record_id)


def _spread(exc: ThuliumError, count: int, *, batch: bool = True) -> list[CrmResult]:
    spread = spread_failure(exc, batch=batch)
    if spread is None:
        if isinstance(exc, ThuliumAuthError):
            raise RunAborted(str(exc)) from exc
        raise exc
    return [spread] * count
