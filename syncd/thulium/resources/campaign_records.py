"""``client.campaign_records``: the records of a CRM campaign (``crm_outbounds/:id/records``), one by one
and by the batch endpoints, whose 207s are keyed by customer id."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import TypedDict

from pydantic import TypeAdapter
from typing_extensions import Unpack

from syncd.thulium.encoding import (
    Payload,
    check_limit,
    customer_ids,
    dump,
    filter_params,
    int_id,
    params,
    segment,
)
from syncd.thulium.paging import paged
from syncd.thulium.parsing import created, id_field, keyed_results, validate
from syncd.thulium.resources.id_deletes import delete_by_ids
from syncd.thulium.schemas import CampaignRecord, ItemResult, Page
from syncd.thulium.session import Resource

RECORDS_MAX_LIMIT = 100
_RECORD = TypeAdapter(CampaignRecord)
_PAGE = TypeAdapter(Page[CampaignRecord])
_ONE = "crm_outbounds/:id/records/:customer_id"


def _records(outbound_id: str) -> str:
    return f"crm_outbounds/{segment(outbound_id)}/records"


def _record(outbound_id: str, customer_id: int) -> str:
    return f"{_records(outbound_id)}/{int_id(customer_id)}"


class RecordFilters(TypedDict, total=False):
    """``GET crm_outbounds/:id/records`` filters; ``None`` leaves one out."""

    order: str | None
    status_ids: Sequence[int]
    system_statuses: Sequence[str]
    create_date_from: date | str | None
    create_date_to: date | str | None
    call_date_from: date | str | None
    call_date_to: date | str | None
    include_customer: bool


class CampaignRecords(Resource):
    def page(
        self,
        outbound_id: str,
        *,
        limit: int = RECORDS_MAX_LIMIT,
        offset: int = 0,
        **filters: Unpack[RecordFilters],
    ) -> Page[CampaignRecord]:
        """One page of ``GET crm_outbounds/:id/records`` (in the order records were added; ``count`` = all
        matches)."""
        check_limit(limit, RECORDS_MAX_LIMIT)
        path = _records(outbound_id)
        status_ids = filters.pop("status_ids", ())
        system_statuses = filters.pop("system_statuses", ())
        query = (
            params(limit=limit, offset=offset)
            + filter_params(filters)
            + [("status_id[]", str(s)) for s in status_ids]
            + [("system_status[]", s) for s in system_statuses]
        )
        return validate(_PAGE, self._session.get("GET crm_outbounds/:id/records", path, query), "GET", path)

    def iter(self, outbound_id: str, **filters: Unpack[RecordFilters]) -> Iterator[CampaignRecord]:
        """Every record of a CRM campaign (``page`` filters), 100 per request."""
        yield from paged(
            lambda limit, offset: self.page(outbound_id, limit=limit, offset=offset, **filters).result,
            RECORDS_MAX_LIMIT,
        )

    def get(self, outbound_id: str, customer_id: int) -> CampaignRecord:
        path = _record(outbound_id, customer_id)
        return validate(_RECORD, self._session.get(f"GET {_ONE}", path), "GET", path)

    def create(self, outbound_id: str, payload: Payload) -> int:
        """``POST crm_outbounds/:id/records`` → the new record id."""
        body = dump(payload)
        path = _records(outbound_id)
        sent = [str(body["customer_id"])] if body.get("customer_id") is not None else []
        response = self._session.call(
            "POST", "POST crm_outbounds/:id/records", path, json=body, identifiers=sent
        )
        return created(response, id_field("record_id"), "record_id", "POST", path, sent)

    def update(self, outbound_id: str, customer_id: int, payload: Payload) -> None:
        """``PUT crm_outbounds/:id/records/:customer_id`` (→ 204). The customer id travels in the path
        only."""
        body = dump(payload)
        body.pop("customer_id", None)
        path = _record(outbound_id, customer_id)
        self._session.call("PUT", f"PUT {_ONE}", path, json=body, identifiers=[str(customer_id)])

    def delete(self, outbound_id: str, customer_id: int) -> None:
        """(!) Thulium does not delete a record that is in a call right now."""
        path = _record(outbound_id, customer_id)
        self._session.call("DELETE", f"DELETE {_ONE}", path, identifiers=[str(customer_id)])

    def batch_add(self, outbound_id: str, records: Sequence[Payload]) -> dict[int, ItemResult]:
        """``POST batch/crm_outbounds/:id/records``; results keyed by customer id.

        Item ``status`` is ADDED, ALREADY_EXISTS (http 400, but ``record_id`` given) or FAILED — judged by the
        engine.
        """
        if not records:
            return {}
        bodies = [dump(r) for r in records]
        ids = customer_ids(bodies, "campaign record")
        path = f"batch/{_records(outbound_id)}"
        response = self._session.call(
            "POST",
            "POST batch/crm_outbounds/:id/records",
            path,
            json={"records": bodies},
            identifiers=[str(i) for i in ids],
            replayable_post=True,  # a record that is there already answers ALREADY_EXISTS
        )
        return keyed_results(response, ids, "POST", path)

    def batch_remove(self, outbound_id: str, customer_ids: Sequence[int]) -> dict[int, ItemResult]:
        """``DELETE batch/crm_outbounds/:id/records?customer_id[]=…``; statuses REMOVED / NOT_EXIST /
        CALL_IN_PROGRESS."""
        path = f"batch/{_records(outbound_id)}"
        return delete_by_ids(self._session, "DELETE batch/crm_outbounds/:id/records", path, customer_ids)
