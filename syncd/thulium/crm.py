"""The engine's ``Crm`` over ``ThuliumClient``: customers by the batch endpoints, companies one by one.

The adapter translates, it does not decide: every per-item answer and every whole-request failure becomes an
``ItemStatus`` that ``engine/resolve.py`` judges, so one table governs what a status means. Only failures no
item can own are raised — bad credentials, a response that breaks the protocol, a missing batch endpoint —
because they would fail every other item of the run the same way.

| whole-request failure of one call          | every item of that call gets                              |
|--------------------------------------------|-----------------------------------------------------------|
| ThuliumRejected (400, other 4xx)           | ItemStatus(status_code, message=its messages), request_id |
| ThuliumNotFound from companies/:id         | ItemStatus(404 or 410, message=its messages), request_id  |
| ThuliumNotFound from batch/customers       | raised: the endpoint is missing, no item was looked at    |
| OutcomeUnknown (lost answer, 504 on write) | ItemStatus(None, message="outcome unknown: ...")          |
| ThuliumUnavailable (retries spent)         | ItemStatus(last status or 503, message), request_id       |
| ThuliumRequestTooLarge (413, 414)          | sent again in halves; one item alone: ItemStatus(413/414) |
| ThuliumAuthError, ThuliumProtocolError,    | raised (fatal for the run): no item can own a refusal by  |
| ThuliumGatewayError (a proxy's 4xx)        | something in front of Thulium, or a broken protocol       |

A 2xx whose body cannot be read is never a ``ThuliumProtocolError`` on a write: the client reports it as
``OutcomeUnknown`` (single creates) or as items with ``http_status=None`` (207 bodies), so the engine looks
the records up instead of failing the run over data that was probably written. A batch-create item that says
2xx but carries no readable id is reported the same way, for the same reason.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from syncd.engine.errors import RunAborted
from syncd.engine.ports import CrmResult, Payload, RemoteRecord
from syncd.engine.resolve import ItemStatus
from syncd.thulium.client import ThuliumClient
from syncd.thulium.errors import (
    OutcomeUnknown,
    ThuliumAuthError,
    ThuliumError,
    ThuliumGatewayError,
    ThuliumNotFound,
    ThuliumPermanentError,
    ThuliumRequestTooLarge,
    ThuliumUnavailable,
)
from syncd.thulium.remote import remote_record
from syncd.thulium.schemas import ItemResult

log = logging.getLogger("syncd.thulium")

T = TypeVar("T")

CUSTOMERS = "customers"
COMPANIES = "companies"
STREAMS = (CUSTOMERS, COMPANIES)
CUSTOMERS_MAX_BATCH = 1000  # undocumented by Thulium; the same bound as its list endpoints
# Pages of the newest records read to settle unknown creates before looking the rest up one by one: the
# creates of the other batches in flight land after them, so their records may not be the very newest.
NEWEST_PAGES = 2
NEWEST_OVERLAP = 100
CREATED, NO_CONTENT = 201, 204
# Everything a payload may carry, so a found or scanned record compares with what syncd would send.
INCLUDES: dict[str, Any] = {
    "include_custom_fields": True,
    "include_address": True,
    "include_invoice_address": True,
    "include_mail_drop_address": True,
}


class ThuliumCrm:
    """One tenant's Thulium CRM as the engine's ``Crm``; share it as freely as the client it wraps."""

    def __init__(self, client: ThuliumClient) -> None:
        self._client = client

    def max_batch(self, stream: str) -> int:
        return CUSTOMERS_MAX_BATCH if _stream(stream) == CUSTOMERS else 1

    # ---- writes ------------------------------------------------------------------------------------------

    def create(self, stream: str, payloads: Sequence[Payload]) -> list[CrmResult]:
        ids: list[int | None] = [None] * len(payloads)
        if _stream(stream) == CUSTOMERS:
            return _in_calls(payloads, ids, CUSTOMERS_MAX_BATCH, self._create_customers, batch=True)
        return _in_calls(payloads, ids, 1, self._create_companies, batch=False)

    def update(self, stream: str, changes: Sequence[tuple[int, Payload]]) -> list[CrmResult]:
        ids = _unique_ids([thulium_id for thulium_id, _ in changes])
        if _stream(stream) == CUSTOMERS:
            return _in_calls(changes, ids, CUSTOMERS_MAX_BATCH, self._update_customers, batch=True)
        return _in_calls(changes, ids, 1, self._update_companies, batch=False)

    def delete(self, stream: str, thulium_ids: Sequence[int]) -> list[CrmResult]:
        ids = _unique_ids(thulium_ids)
        if _stream(stream) == CUSTOMERS:
            return _in_calls(
                thulium_ids, ids, CUSTOMERS_MAX_BATCH, self._delete_customers, batch=True, halve=False
            )
        return _in_calls(thulium_ids, ids, 1, self._delete_companies, batch=False)

    def _create_customers(self, payloads: Sequence[Payload]) -> list[CrmResult]:
        return [_created(item) for item in self._client.customers.batch_create(payloads)]

    def _update_customers(self, changes: Sequence[tuple[int, Payload]]) -> list[CrmResult]:
        bodies = [{**payload, "customer_id": thulium_id} for thulium_id, payload in changes]
        by_id = self._client.customers.batch_update(bodies)
        return [_keyed(by_id[thulium_id], thulium_id) for thulium_id, _ in changes]

    def _delete_customers(self, thulium_ids: Sequence[int]) -> list[CrmResult]:
        by_id = self._client.customers.batch_delete(thulium_ids)
        return [_keyed(by_id[thulium_id], thulium_id) for thulium_id in thulium_ids]

    def _create_companies(self, payloads: Sequence[Payload]) -> list[CrmResult]:
        results = []
        for payload in payloads:
            ids = self._client.companies.create(payload)
            results.append(
                CrmResult(ItemStatus(CREATED), thulium_id=ids.company_id, company_customer_id=ids.customer_id)
            )
        return results

    def _update_companies(self, changes: Sequence[tuple[int, Payload]]) -> list[CrmResult]:
        results = []
        for company_id, payload in changes:
            self._client.companies.update(company_id, payload)
            results.append(CrmResult(ItemStatus(NO_CONTENT), thulium_id=company_id))
        return results

    def _delete_companies(self, company_ids: Sequence[int]) -> list[CrmResult]:
        results = []
        for company_id in company_ids:
            self._detach_members(company_id)
            self._client.companies.delete(company_id)
            results.append(CrmResult(ItemStatus(NO_CONTENT), thulium_id=company_id))
        return results

    def _detach_members(self, company_id: int) -> None:
        """DELETE companies/:id "removes the company and all its dependants": whether that takes its
        employees' customer records with it is not said, so they are detached first and no customer can
        disappear with its company. Until every one is detached, the company is not deleted."""
        listed = self._client.customers.iter(company_id=company_id)
        members = [c.customer_id for c in listed if not c.company_flag and c.company_id == company_id]
        for start in range(0, len(members), CUSTOMERS_MAX_BATCH):
            chunk = members[start : start + CUSTOMERS_MAX_BATCH]
            answers = self._client.customers.batch_update(
                [{"customer_id": m, "company_id": ""} for m in chunk]
            )
            stuck = [m for m, item in answers.items() if item.http_status not in (NO_CONTENT, 404)]
            if stuck:
                raise ThuliumUnavailable(
                    f"company {company_id} kept: {len(stuck)} of its customers could not be detached first",
                    method="PUT",
                    path="batch/customers",
                    attempts=1,
                    status_code=503,
                )

    # ---- reads -------------------------------------------------------------------------------------------

    def find(self, stream: str, identifier: str) -> list[RemoteRecord]:
        """Company records are never a customer match: a company and a customer may share a source key.

        Bad credentials abort the run: the engine retries a failed lookup, which would not help.
        """
        try:
            return self._find(stream, identifier)
        except (ThuliumAuthError, ThuliumGatewayError) as exc:
            raise RunAborted(str(exc)) from exc

    def _find(self, stream: str, identifier: str) -> list[RemoteRecord]:
        """``company_flag`` is never sent: the document shows only ``true``, and a server that reads
        "false" as a non-empty string would answer with companies only. Filtered here instead."""
        if _stream(stream) == CUSTOMERS:
            found = self._client.customers.find(identifier, **INCLUDES)
            return [remote_record(c) for c in found if not c.company_flag]
        if not identifier:
            raise ValueError("identifier must not be empty: Thulium reads an empty filter as 'has none'")
        companies = self._client.companies.iter(identifier=identifier, **INCLUDES)
        return [remote_record(c) for c in companies if c.identifier == identifier]

    def settle(
        self, stream: str, identifiers: Sequence[str], floor: int | None
    ) -> dict[str, list[RemoteRecord]]:
        """Newest records first, down to ``floor``: a batch whose creates all landed, or none did, costs one
        request. What that read does not settle (it stopped early, or no floor is known) is looked up by
        identifier."""
        try:
            found, complete = self._newest(stream, identifiers, floor)
            for identifier in identifiers:
                if not found[identifier] and not complete:
                    found[identifier] = self._find(stream, identifier)
        except (ThuliumAuthError, ThuliumGatewayError) as exc:
            raise RunAborted(str(exc)) from exc
        return found

    def _newest(
        self, stream: str, identifiers: Sequence[str], floor: int | None
    ) -> tuple[dict[str, list[RemoteRecord]], bool]:
        """(records by identifier, whether every record newer than ``floor`` was read)."""
        found: dict[str, list[RemoteRecord]] = {identifier: [] for identifier in identifiers}
        if floor is None:
            return found, False
        size = CUSTOMERS_MAX_BATCH
        seen: set[int] = set()
        for page in range(NEWEST_PAGES):
            # Pages overlap: a record deleted between two reads (a purge in flight) shifts the list up, and
            # without the overlap the record after it would be skipped and taken as never created.
            records, whole = self._newest_page(stream, size, max(0, page * size - NEWEST_OVERLAP))
            for record in records:
                if record.identifier in found and record.thulium_id not in seen:
                    found[record.identifier].append(record)
                seen.add(record.thulium_id)
            if whole or any(r.thulium_id <= floor for r in records):
                return found, True
            if all(found.values()):
                return found, True  # one create per identifier: every one of them has landed
        return found, False

    def _newest_page(self, stream: str, size: int, offset: int) -> tuple[list[RemoteRecord], bool]:
        """(records of the stream, whether the page was the last one). A short page is judged before the
        company records are left out: they count in the customers' id sequence and in its pages."""
        if _stream(stream) == CUSTOMERS:
            page = self._client.customers.page(limit=size, offset=offset, order="-customer_id", **INCLUDES)
            return [remote_record(c) for c in page if not c.company_flag], len(page) < size
        companies = self._client.companies.page(limit=size, offset=offset, order="-company_id", **INCLUDES)
        return [remote_record(c) for c in companies], len(companies) < size

    def scan(self, stream: str) -> Iterator[RemoteRecord]:
        """Company records are left out of customers: they belong to the companies stream."""
        if _stream(stream) == CUSTOMERS:
            customers = self._client.customers.iter(**INCLUDES)
            return (remote_record(c) for c in customers if not c.company_flag)
        return (remote_record(c) for c in self._client.companies.iter(**INCLUDES))


# ---- per-item results --------------------------------------------------------------------------------------


def _status(item: ItemResult) -> ItemStatus:
    return ItemStatus(item.http_status, item.status, item.message)


def _created(item: ItemResult) -> CrmResult:
    """A created customer without a readable id exists but cannot be linked: reconcile it like a lost one."""
    code = item.http_status
    if code is not None and 200 <= code < 300 and item.customer_id is None:
        message = f"outcome unknown: item answered {code} without a readable customer_id"
        return CrmResult(ItemStatus(None, message=message))
    return CrmResult(_status(item), thulium_id=item.customer_id)


def _keyed(item: ItemResult, thulium_id: int) -> CrmResult:
    return CrmResult(_status(item), thulium_id=thulium_id)


# ---- whole-request failures --------------------------------------------------------------------------------


def _in_calls(
    items: Sequence[T],
    ids: Sequence[int | None],
    size: int,
    send: Callable[[Sequence[T]], list[CrmResult]],
    *,
    batch: bool,
    halve: bool = True,
) -> list[CrmResult]:
    """Send ``items`` in calls of ``size``, spreading a call's failure over its items.

    A fatal error after an earlier call of this one went through cannot be raised without losing that call's
    results (the engine would re-create what exists). The unsent rest is then reported as unknown — the engine
    looks those records up, finds nothing and sends them again, and the fatal error recurs on its next call.
    """
    results: list[CrmResult] = []
    for start in range(0, len(items), size):
        unit = items[start : start + size]
        try:
            results.extend(_sent_or_halved(unit, send) if halve else send(unit))
        except ThuliumError as exc:
            spread = spread_failure(exc, batch=batch)
            if spread is not None:
                results.extend(replace(spread, thulium_id=i) for i in ids[start : start + size])
                continue
            if not results:
                raise
            log.error("Thulium call failed after earlier calls went through; the rest is not sent: %s", exc)
            rest = CrmResult(ItemStatus(None, message=f"not sent: {exc}"))
            results.extend(replace(rest, thulium_id=i) for i in ids[start:])
            break
    return results


def _sent_or_halved(unit: Sequence[T], send: Callable[[Sequence[T]], list[CrmResult]]) -> list[CrmResult]:
    """A request too large for what stands in front of Thulium applied nothing: its halves may go through.
    One item that is too large on its own is that item's failure, not the run's."""
    try:
        return send(unit)
    except ThuliumRequestTooLarge as exc:
        if len(unit) == 1:
            message = f"too large to send: {exc}"
            return [CrmResult(ItemStatus(exc.status_code, message=message))]
        half = len(unit) // 2
        return _sent_or_halved(unit[:half], send) + _sent_or_halved(unit[half:], send)


def spread_failure(exc: ThuliumError, *, batch: bool) -> CrmResult | None:
    """What a whole-request failure means for each item of the call; ``None``: no item can own it, raise."""
    if isinstance(exc, OutcomeUnknown):
        return CrmResult(ItemStatus(None, message=f"outcome unknown: {exc}"))
    if isinstance(exc, ThuliumUnavailable):
        status = ItemStatus(exc.last_status or 503, message=str(exc))
        return CrmResult(status, request_id=exc.request_id)
    if isinstance(exc, ThuliumNotFound) and batch:
        return None  # a 404 of a batch endpoint is about the endpoint: per item it would read "deleted"
    if isinstance(exc, ThuliumPermanentError):
        message = "; ".join(m for m in exc.messages if m) or str(exc)
        return CrmResult(ItemStatus(exc.status_code, message=message), request_id=exc.request_id)
    return None


def _stream(stream: str) -> str:
    if stream not in STREAMS:
        raise ValueError(f"unknown stream {stream!r}: Thulium's CRM has {', '.join(STREAMS)}")
    return stream


def _unique_ids(ids: Sequence[int]) -> list[int | None]:
    """Checked before anything is sent: a duplicate found in a later call would strand the earlier ones."""
    dupes = sorted(i for i, n in Counter(ids).items() if n > 1)
    if dupes:
        raise ValueError(f"duplicate Thulium ids in one call: {dupes}")
    return list(ids)
