"""Typed, synchronous Thulium REST client.

One ``httpx.Client`` (thread-safe, pooled) per tenant; the engine calls the methods from a small thread pool
to bound concurrency. Every request goes through ``_call``: gate → count → send → ``status`` decides →
``retry`` repeats what is safe to repeat. Methods parse responses into ``schemas`` models and never judge
per-item outcomes of a 207.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, SecretStr, TypeAdapter, ValidationError

from syncd.thulium import status
from syncd.thulium.errors import (
    OutcomeUnknown,
    RetryableFailure,
    ThuliumAuthError,
    ThuliumError,
    ThuliumNotFound,
    ThuliumProtocolError,
    ThuliumRequestTooLarge,
    ThuliumUnavailable,
)
from syncd.thulium.retry import RetryPolicy, call_with_retries
from syncd.thulium.schemas import (
    CampaignRecord,
    Company,
    CompanyIds,
    Connection,
    Customer,
    CustomFieldGroup,
    ItemResult,
    Outbound,
    OutboundStats,
    OutboundStatus,
    Page,
    parse_item,
)

log = logging.getLogger("syncd.thulium")

T = TypeVar("T")

Payload = Mapping[str, Any] | BaseModel
"""A request body item: a ``schemas`` payload model (dumped with ``exclude_none``) or a plain mapping (sent as
is)."""

Params = list[tuple[str, str]]

CUSTOMERS_MAX_LIMIT = 1000
RECORDS_MAX_LIMIT = 100
CONNECTIONS_MAX_LIMIT = 100
# What front proxies commonly take in a request line (nginx: 8 KB buffers); the document states no bound.
DEFAULT_MAX_URL_BYTES = 8192
_ID_PARAM = "customer_id%5B%5D="


class RequestGate(Protocol):
    """Hook called before every HTTP attempt (retries included): a shared rate limiter or circuit breaker.

    It may block to pace requests, or raise to refuse one (its exception propagates to the caller unchanged).
    A gate that learns from outcomes (429 pauses, a circuit breaker) also defines
    ``after_response(status, retry_after)``, told of every answered attempt (``status`` None: no answer);
    it must not raise.
    """

    def before_request(self, method: str, path: str) -> None: ...


class RequestObserver(Protocol):
    """Told about every HTTP attempt and every retry, by endpoint template (``PUT customers/:id``) only.

    How metrics get in without the client importing a metrics library; it must not raise.
    """

    def request_done(self, endpoint: str, status: int | None, seconds: float) -> None:
        """``status`` is None when no response came (connect error, timeout)."""

    def retrying(self, endpoint: str, reason: str) -> None:
        """``reason``: the HTTP status that is retried, or ``transport``."""


@dataclass(frozen=True)
class Timeouts:
    """Seconds. ``connect`` is short because a connect failure is always safe to retry; ``read`` covers big
    batches."""

    connect: float = 5.0
    read: float = 30.0
    write: float = 30.0
    pool: float = 10.0

    def to_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


class ThuliumClient:
    """The Thulium API of one tenant. Safe to share between threads; close it (or use ``with``) when done."""

    def __init__(
        self,
        base_url: str,
        user: str,
        password: str | SecretStr,
        *,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        gate: RequestGate | None = None,
        observer: RequestObserver | None = None,
        max_connections: int = 8,
        accept_language: str = "en",
        sleep: Callable[[float], None] = time.sleep,
        max_url_bytes: int = DEFAULT_MAX_URL_BYTES,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        secret = password.get_secret_value() if isinstance(password, SecretStr) else password
        self.user = user
        self._max_url_bytes = max_url_bytes
        self._retry = retry or RetryPolicy()
        self._gate = gate
        # A gate that paces by outcomes (429 pauses, 5xx trips a breaker) also has ``after_response``.
        self._learn: Callable[[int | None, float | None], None] | None = getattr(gate, "after_response", None)
        self.observer = observer
        self._sleep = sleep
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            auth=httpx.BasicAuth(user, secret),
            timeout=(timeouts or Timeouts()).to_httpx(),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            headers={"Accept": "application/json", "Accept-Language": accept_language},
            follow_redirects=False,
        )

    # ---- lifecycle and counters ----------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ThuliumClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def request_counts(self) -> dict[str, int]:
        """HTTP requests actually sent (each retry counts) by endpoint, e.g. ``{"POST batch/customers":
        3}``."""
        with self._lock:
            return dict(self._counts)

    @property
    def requests_sent(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    # ---- the one request path ------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        endpoint: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        identifiers: Sequence[str] = (),
        read: Callable[[Any], None] | None = None,
        replayable_post: bool = False,
    ) -> httpx.Response:
        """``read`` takes the JSON body of each answered attempt; a body that does not parse is retried.
        ``replayable_post``: Thulium answers a repeat of this POST idempotently (it is not a create)."""
        ctx = status.RequestContext(
            method=method,
            path=path,
            endpoint=endpoint,
            api_user=self.user,
            identifiers=tuple(identifiers),
            replayable_post=replayable_post,
        )
        attempt_no = 0

        def attempt() -> httpx.Response:
            nonlocal attempt_no
            attempt_no += 1
            if self._gate is not None:
                self._gate.before_request(method, path)
            with self._lock:
                self._counts[endpoint] += 1
            try:
                response = self._send_once(ctx, params, json)
                if read is not None:
                    read(status.get_body(ctx, response))
            except ThuliumError as exc:
                _log_failure(exc, attempt_no)
                raise
            return response

        def retrying(failure: RetryableFailure) -> None:
            if self.observer is not None:
                reason = "transport" if failure.status_code is None else str(failure.status_code)
                self.observer.retrying(endpoint, reason)

        try:
            return call_with_retries(attempt, self._retry, sleep=self._sleep, on_retry=retrying)
        except ThuliumUnavailable as exc:
            line = {"method": method, "path": path, "status": exc.last_status, "request_id": exc.request_id}
            log.error("Thulium request gave up", extra={**line, "attempts": exc.attempts})
            raise

    def _send_once(self, ctx: status.RequestContext, params: Params | None, json: Any) -> httpx.Response:
        """One exchange, observed and learnt from whatever its outcome, then judged by its status."""
        started = time.monotonic()
        try:
            response = self._http.request(ctx.method, ctx.path, params=tuple(params or ()), json=json)
        except httpx.RequestError as exc:
            self._observe(ctx.endpoint, None, started)
            if self._learn is not None:
                self._learn(None, None)
            status.raise_for_transport_error(ctx, exc)
        self._observe(ctx.endpoint, response.status_code, started)
        if self._learn is not None:
            retry_after = status.parse_retry_after(response.headers.get("Retry-After"))
            self._learn(response.status_code, retry_after)
        status.check_response(ctx, response)
        return response

    def _observe(self, endpoint: str, status_code: int | None, started: float) -> None:
        if self.observer is not None:
            self.observer.request_done(endpoint, status_code, time.monotonic() - started)

    def _get(self, endpoint: str, path: str, params: Params | None = None) -> Any:
        bodies: list[Any] = []
        self._call("GET", endpoint, path, params=params, read=bodies.append)
        return bodies[-1]

    # ---- customers -----------------------------------------------------------------------------------------

    def list_customers(
        self,
        *,
        identifier: str | None = None,
        email: str | None = None,
        phone_number: str | None = None,
        nip: str | None = None,
        company_id: int | None = None,
        company_flag: bool | None = None,
        type: str | None = None,
        group: str | None = None,
        custom_fields: Mapping[str, str | Sequence[str]] | None = None,
        include_custom_fields: bool = False,
        include_address: bool = False,
        include_invoice_address: bool = False,
        include_mail_drop_address: bool = False,
        limit: int = 100,
        offset: int = 0,
        order: str | None = None,
    ) -> list[Customer]:
        """One page of ``GET customers``. (!) ``identifier=""`` / ``phone_number=""`` mean "has none", not
        "any"."""
        _check_limit(limit, CUSTOMERS_MAX_LIMIT)
        params = _params(
            identifier=identifier,
            email=email,
            phone_number=phone_number,
            nip=nip,
            company_id=company_id,
            company_flag=company_flag,
            type=type,
            group=group,
            **_includes(
                include_custom_fields, include_address, include_invoice_address, include_mail_drop_address
            ),
            limit=limit,
            offset=offset,
            order=order,
        ) + _custom_field_params(custom_fields)
        data = self._get("GET customers", "customers", params)
        return _validate(_CUSTOMERS, data, "GET", "customers")

    def iter_customers(
        self, *, page_size: int = CUSTOMERS_MAX_LIMIT, order: str = "customer_id", **filters: Any
    ) -> Iterator[Customer]:
        """Every customer matching ``filters`` (``list_customers`` keywords), page by page until a short page.

        Ordered by ``customer_id`` by default so offset paging is stable while new customers are appended.
        """
        yield from _paged(
            lambda limit, offset: self.list_customers(limit=limit, offset=offset, order=order, **filters),
            page_size,
        )

    def find_customers_by_identifier(self, identifier: str, **flags: Any) -> list[Customer]:
        """Customers whose ``identifier`` equals ``identifier`` exactly — how an ambiguous create is
        reconciled.

        The result is re-checked client-side: the filter's matching rules (case, partial match) are
        undocumented, and adopting the wrong customer would be worse than creating none.
        """
        if not identifier:
            raise ValueError(
                "identifier must not be empty: Thulium reads an empty filter as 'has no identifier'"
            )
        return [c for c in self.iter_customers(identifier=identifier, **flags) if c.identifier == identifier]

    def get_customer(
        self,
        customer_id: int,
        *,
        include_custom_fields: bool = False,
        include_address: bool = False,
        include_invoice_address: bool = False,
        include_mail_drop_address: bool = False,
    ) -> Customer:
        """``GET customers/:id``; raises ``ThuliumNotFound`` when it does not exist."""
        path = f"customers/{_int_id(customer_id)}"
        params = _params(
            **_includes(
                include_custom_fields, include_address, include_invoice_address, include_mail_drop_address
            ),
        )
        return _validate(_CUSTOMER, self._get("GET customers/:id", path, params), "GET", path)

    def create_customer(self, payload: Payload) -> int:
        """``POST customers`` → the new customer id. Raises ``OutcomeUnknown`` if the answer is lost."""
        body = _dump(payload)
        response = self._call(
            "POST", "POST customers", "customers", json=body, identifiers=_identifiers([body])
        )
        return _created_id(response, "customer_id", "POST", "customers", _identifiers([body]))

    def update_customer(self, customer_id: int, payload: Payload) -> None:
        path = f"customers/{_int_id(customer_id)}"
        self._call("PUT", "PUT customers/:id", path, json=_dump(payload), identifiers=[str(customer_id)])

    def delete_customer(self, customer_id: int) -> None:
        path = f"customers/{_int_id(customer_id)}"
        self._call("DELETE", "DELETE customers/:id", path, identifiers=[str(customer_id)])

    def batch_create_customers(self, payloads: Sequence[Payload]) -> list[ItemResult]:
        """``POST batch/customers``; result ``i`` belongs to ``payloads[i]`` (Thulium keys the 207 by
        position).

        An item whose ``http_status`` is ``None`` was missing or unreadable: it may or may not have been
        created.
        """
        if not payloads:
            return []
        bodies = [_dump(p) for p in payloads]
        path = "batch/customers"
        response = self._call(
            "POST", "POST batch/customers", path, json={"customers": bodies}, identifiers=_identifiers(bodies)
        )
        items = _multi_status(response, "POST", path)
        keys = [str(i) for i in range(len(bodies))]
        _warn_unexpected_keys(items, keys, "POST", path)
        return [parse_item(k, _lookup(items, k), missing=_missing_reason(items)) for k in keys]

    def batch_update_customers(self, payloads: Sequence[Payload]) -> dict[int, ItemResult]:
        """``PUT batch/customers``; every payload carries its ``customer_id``; results keyed by that id."""
        if not payloads:
            return {}
        bodies = [_dump(p) for p in payloads]
        ids: list[int] = []
        for body in bodies:
            if body.get("customer_id") is None:
                raise ValueError("every batch update item needs a customer_id")
            ids.append(_int_id(body["customer_id"]))
            body["customer_id"] = str(body["customer_id"])  # as in the vendor's example
        _check_unique(ids)
        path = "batch/customers"
        response = self._call(
            "PUT", "PUT batch/customers", path, json={"customers": bodies}, identifiers=[str(i) for i in ids]
        )
        return _keyed_results(response, ids, "PUT", path)

    def batch_delete_customers(self, customer_ids: Sequence[int]) -> dict[int, ItemResult]:
        """``DELETE batch/customers?customer_id[]=…``; results keyed by customer id (see ``_delete_ids``)."""
        return self._delete_ids("DELETE batch/customers", "batch/customers", customer_ids)

    def _delete_ids(self, endpoint: str, path: str, customer_ids: Sequence[int]) -> dict[int, ItemResult]:
        """Ids travel in the query string, which the document does not bound but front proxies do (~8 KB).

        Sent in as many requests as keep each request line under ``max_url_bytes``; a 414 all the same (a
        proxy stricter than that) halves the request. Deletes are idempotent, so a later request failing
        after an earlier one went through loses nothing: its items are sent again and answer "not found".
        """
        ids = [_int_id(i) for i in customer_ids]
        _check_unique(ids)
        results: dict[int, ItemResult] = {}
        for chunk in self._url_chunks(path, ids):
            results.update(self._delete_chunk(endpoint, path, chunk))
        return results

    def _delete_chunk(self, endpoint: str, path: str, ids: list[int]) -> dict[int, ItemResult]:
        try:
            response = self._call(
                "DELETE", endpoint, path, params=_id_params(ids), identifiers=[str(i) for i in ids]
            )
        except ThuliumRequestTooLarge:
            if len(ids) == 1:
                raise
            half = len(ids) // 2
            return {
                **self._delete_chunk(endpoint, path, ids[:half]),
                **self._delete_chunk(endpoint, path, ids[half:]),
            }
        return _keyed_results(response, ids, "DELETE", path)

    def _url_chunks(self, path: str, ids: list[int]) -> Iterator[list[int]]:
        """The longest runs of ``ids`` whose ``DELETE <target> HTTP/1.1`` line fits the bound."""
        base = len(self._http.build_request("DELETE", path).url.raw_path) + len("DELETE  HTTP/1.1")
        chunk: list[int] = []
        size = base
        for customer_id in ids:
            cost = len(_ID_PARAM) + len(str(customer_id)) + 1  # "customer_id%5B%5D=13" and its "?" or "&"
            if chunk and size + cost > self._max_url_bytes:
                yield chunk
                chunk, size = [], base
            chunk.append(customer_id)
            size += cost
        if chunk:
            yield chunk

    # ---- companies -----------------------------------------------------------------------------------------

    def list_companies(
        self,
        *,
        identifier: str | None = None,
        email: str | None = None,
        phone_number: str | None = None,
        nip: str | None = None,
        type: str | None = None,
        group: str | None = None,
        custom_fields: Mapping[str, str | Sequence[str]] | None = None,
        include_custom_fields: bool = False,
        include_address: bool = False,
        include_invoice_address: bool = False,
        include_mail_drop_address: bool = False,
        limit: int = 100,
        offset: int = 0,
        order: str | None = None,
    ) -> list[Company]:
        """One page of ``GET companies``."""
        _check_limit(limit, CUSTOMERS_MAX_LIMIT)
        params = _params(
            identifier=identifier,
            email=email,
            phone_number=phone_number,
            nip=nip,
            type=type,
            group=group,
            **_includes(
                include_custom_fields, include_address, include_invoice_address, include_mail_drop_address
            ),
            limit=limit,
            offset=offset,
            order=order,
        ) + _custom_field_params(custom_fields)
        return _validate(_COMPANIES, self._get("GET companies", "companies", params), "GET", "companies")

    def iter_companies(
        self, *, page_size: int = CUSTOMERS_MAX_LIMIT, order: str = "company_id", **filters: Any
    ) -> Iterator[Company]:
        """Every company matching ``filters``, ordered by ``company_id`` for stable offset paging."""
        yield from _paged(
            lambda limit, offset: self.list_companies(limit=limit, offset=offset, order=order, **filters),
            page_size,
        )

    def get_company(
        self,
        company_id: int,
        *,
        include_custom_fields: bool = False,
        include_address: bool = False,
        include_invoice_address: bool = False,
        include_mail_drop_address: bool = False,
    ) -> Company:
        path = f"companies/{_int_id(company_id)}"
        params = _params(
            **_includes(
                include_custom_fields, include_address, include_invoice_address, include_mail_drop_address
            ),
        )
        return _validate(_COMPANY, self._get("GET companies/:id", path, params), "GET", path)

    def create_company(self, payload: Payload) -> CompanyIds:
        """``POST companies`` → both ids (the answer's strings become ints)."""
        body = _dump(payload)
        ident = _identifiers([body])
        response = self._call("POST", "POST companies", "companies", json=body, identifiers=ident)
        data = _json_or_none(response)
        try:
            return CompanyIds.model_validate(data)
        except ValidationError as exc:
            raise OutcomeUnknown(
                f"POST companies answered {response.status_code} without readable ids ({_summarise(exc)}); "
                "the company was probably created",
                method="POST",
                path="companies",
                identifiers=ident,
                status_code=response.status_code,
            ) from None

    def update_company(self, company_id: int, payload: Payload) -> None:
        path = f"companies/{_int_id(company_id)}"
        self._call("PUT", "PUT companies/:id", path, json=_dump(payload), identifiers=[str(company_id)])

    def delete_company(self, company_id: int) -> None:
        path = f"companies/{_int_id(company_id)}"
        self._call("DELETE", "DELETE companies/:id", path, identifiers=[str(company_id)])

    # ---- custom fields -------------------------------------------------------------------------------------

    def list_customer_field_groups(self) -> list[CustomFieldGroup]:
        """``GET customer_field_groups`` (no documented shape: a bare list or a ``{count, result}``
        envelope)."""
        data = self._get("GET customer_field_groups", "customer_field_groups")
        if isinstance(data, Mapping) and "result" in data:
            data = data["result"]
        return _validate(_FIELD_GROUPS, data, "GET", "customer_field_groups")

    def custom_field_names(self) -> set[str]:
        """Names of the customer custom fields that exist — check mappings against it, since Thulium creates
        any unknown name it is sent."""
        return {f.name for g in self.list_customer_field_groups() for f in g.fields}

    # ---- campaigns (outbounds) -----------------------------------------------------------------------------

    def list_outbounds(self) -> list[Outbound]:
        return _validate(_OUTBOUNDS, self._get("GET outbounds", "outbounds"), "GET", "outbounds")

    def list_outbound_statuses(self, outbound_id: str) -> list[OutboundStatus]:
        path = f"outbounds/{_seg(outbound_id)}/statuses"
        return _validate(_STATUSES, self._get("GET outbounds/:id/statuses", path), "GET", path)

    def outbound_stats(self, outbound_id: str) -> OutboundStats:
        path = f"outbounds/{_seg(outbound_id)}/stats"
        return _validate(_STATS, self._get("GET outbounds/:id/stats", path), "GET", path)

    # ---- CRM campaign records ------------------------------------------------------------------------------

    def list_campaign_records(
        self,
        outbound_id: str,
        *,
        limit: int = RECORDS_MAX_LIMIT,
        offset: int = 0,
        order: str | None = None,
        status_ids: Sequence[int] = (),
        system_statuses: Sequence[str] = (),
        create_date_from: date | str | None = None,
        create_date_to: date | str | None = None,
        call_date_from: date | str | None = None,
        call_date_to: date | str | None = None,
        include_customer: bool = False,
    ) -> Page[CampaignRecord]:
        """One page of ``GET crm_outbounds/:id/records`` (in the order records were added; ``count`` = all
        matches)."""
        _check_limit(limit, RECORDS_MAX_LIMIT)
        path = f"crm_outbounds/{_seg(outbound_id)}/records"
        params = (
            _params(
                limit=limit,
                offset=offset,
                order=order,
                create_date_from=create_date_from,
                create_date_to=create_date_to,
                call_date_from=call_date_from,
                call_date_to=call_date_to,
                include_customer=include_customer or None,
            )
            + [("status_id[]", str(s)) for s in status_ids]
            + [("system_status[]", s) for s in system_statuses]
        )
        data = self._get("GET crm_outbounds/:id/records", path, params)
        return _validate(_RECORD_PAGE, data, "GET", path)

    def iter_campaign_records(self, outbound_id: str, **filters: Any) -> Iterator[CampaignRecord]:
        """Every record of a CRM campaign (``list_campaign_records`` filters), 100 per request."""
        yield from _paged(
            lambda limit, offset: (
                self.list_campaign_records(outbound_id, limit=limit, offset=offset, **filters).result
            ),
            RECORDS_MAX_LIMIT,
        )

    def get_campaign_record(self, outbound_id: str, customer_id: int) -> CampaignRecord:
        path = f"crm_outbounds/{_seg(outbound_id)}/records/{_int_id(customer_id)}"
        return _validate(_RECORD, self._get("GET crm_outbounds/:id/records/:customer_id", path), "GET", path)

    def create_campaign_record(self, outbound_id: str, payload: Payload) -> int:
        """``POST crm_outbounds/:id/records`` → the new record id."""
        body = _dump(payload)
        path = f"crm_outbounds/{_seg(outbound_id)}/records"
        ident = [str(body["customer_id"])] if body.get("customer_id") is not None else []
        response = self._call("POST", "POST crm_outbounds/:id/records", path, json=body, identifiers=ident)
        return _created_id(response, "record_id", "POST", path, ident)

    def update_campaign_record(self, outbound_id: str, customer_id: int, payload: Payload) -> None:
        """``PUT crm_outbounds/:id/records/:customer_id`` (→ 204). The customer id travels in the path
        only."""
        body = _dump(payload)
        body.pop("customer_id", None)
        path = f"crm_outbounds/{_seg(outbound_id)}/records/{_int_id(customer_id)}"
        self._call(
            "PUT",
            "PUT crm_outbounds/:id/records/:customer_id",
            path,
            json=body,
            identifiers=[str(customer_id)],
        )

    def delete_campaign_record(self, outbound_id: str, customer_id: int) -> None:
        """(!) Thulium does not delete a record that is in a call right now."""
        path = f"crm_outbounds/{_seg(outbound_id)}/records/{_int_id(customer_id)}"
        self._call(
            "DELETE", "DELETE crm_outbounds/:id/records/:customer_id", path, identifiers=[str(customer_id)]
        )

    def batch_add_campaign_records(
        self, outbound_id: str, records: Sequence[Payload]
    ) -> dict[int, ItemResult]:
        """``POST batch/crm_outbounds/:id/records``; results keyed by customer id.

        Item ``status`` is ADDED, ALREADY_EXISTS (http 400, but ``record_id`` given) or FAILED — judged by the
        engine.
        """
        if not records:
            return {}
        bodies = [_dump(r) for r in records]
        ids: list[int] = []
        for body in bodies:
            if body.get("customer_id") is None:
                raise ValueError("every campaign record needs a customer_id")
            ids.append(_int_id(body["customer_id"]))
        _check_unique(ids)
        path = f"batch/crm_outbounds/{_seg(outbound_id)}/records"
        response = self._call(
            "POST",
            "POST batch/crm_outbounds/:id/records",
            path,
            json={"records": bodies},
            identifiers=[str(i) for i in ids],
            replayable_post=True,  # a record that is there already answers ALREADY_EXISTS
        )
        return _keyed_results(response, ids, "POST", path)

    def batch_remove_campaign_records(
        self, outbound_id: str, customer_ids: Sequence[int]
    ) -> dict[int, ItemResult]:
        """``DELETE batch/crm_outbounds/:id/records?customer_id[]=…``; statuses REMOVED / NOT_EXIST /
        CALL_IN_PROGRESS."""
        path = f"batch/crm_outbounds/{_seg(outbound_id)}/records"
        return self._delete_ids("DELETE batch/crm_outbounds/:id/records", path, customer_ids)

    # ---- activity ------------------------------------------------------------------------------------------

    def list_connections(
        self,
        *,
        date_from: date | datetime | str | None = None,
        date_to: date | datetime | str | None = None,
        customer_id: int | None = None,
        user_login: str | None = None,
        queue_id: int | None = None,
        topic_id: int | None = None,
        connection_id: str | None = None,
        src: str | None = None,
        dst: str | None = None,
        tags: Sequence[str] = (),
        include_tags: bool = False,
        include_topics: bool = False,
        limit: int = CONNECTIONS_MAX_LIMIT,
        offset: int = 0,
    ) -> Page[Connection]:
        """One page of ``GET connections`` (call history); ``count`` is all matches, ignoring ``limit``."""
        _check_limit(limit, CONNECTIONS_MAX_LIMIT)
        params = _params(
            date_from=date_from,
            date_to=date_to,
            customer_id=customer_id,
            user_login=user_login,
            queue_id=queue_id,
            topic_id=topic_id,
            connection_id=connection_id,
            src=src,
            dst=dst,
            include_tags=include_tags or None,
            include_topics=include_topics or None,
            limit=limit,
            offset=offset,
        ) + [("tags[]", t) for t in tags]
        return _validate(
            _CONNECTION_PAGE, self._get("GET connections", "connections", params), "GET", "connections"
        )

    def connection_rows(
        self, *, date_from: str, date_to: str, offset: int = 0, limit: int = CONNECTIONS_MAX_LIMIT
    ) -> tuple[int, list[dict[str, Any]]]:
        """One page of ``GET connections`` as sent: the activity stream checks each row itself, so one odd
        row is rejected alone instead of failing its whole page."""
        _check_limit(limit, CONNECTIONS_MAX_LIMIT)
        params = _params(date_from=date_from, date_to=date_to, limit=limit, offset=offset)
        body = self._get("GET connections", "connections", params)
        if not isinstance(body, dict) or not isinstance(body.get("result", []), list):
            raise ThuliumProtocolError(
                "GET connections: expected {count, result}", method="GET", path="connections"
            )
        rows = [row for row in body.get("result", []) if isinstance(row, dict)]
        return int(body.get("count") or 0), rows

    def agent_logins(self) -> list[str]:
        """``GET agents``: the logins Thulium lists, sorted (its own "Automat", with no login, left out)."""
        body = self._get("GET agents", "agents")
        if not isinstance(body, list):
            raise ThuliumProtocolError("GET agents: expected a list", method="GET", path="agents")
        logins = {str(agent.get("login") or "").strip() for agent in body if isinstance(agent, dict)}
        return sorted(login for login in logins if login)

    def report_rows(self, report: str, params: Params) -> list[dict[str, Any]]:
        """One page of a KPI report (``chats/reports/summary``, ``agents_work_report``): a plain list."""
        endpoint = f"GET {report}"
        body = self._get(endpoint, report, params)
        if isinstance(body, dict) and isinstance(body.get("result"), list):  # tolerate {count, result}
            body = body["result"]
        if not isinstance(body, list):
            raise ThuliumProtocolError(f"GET {report}: expected a list", method="GET", path=report)
        return [row for row in body if isinstance(row, dict)]


# ---- module helpers (parsing and encoding; no I/O) ---------------------------------------------------------

_CUSTOMERS = TypeAdapter(list[Customer])
_CUSTOMER = TypeAdapter(Customer)
_COMPANIES = TypeAdapter(list[Company])
_COMPANY = TypeAdapter(Company)
_FIELD_GROUPS = TypeAdapter(list[CustomFieldGroup])
_OUTBOUNDS = TypeAdapter(list[Outbound])
_STATUSES = TypeAdapter(list[OutboundStatus])
_STATS = TypeAdapter(OutboundStats)
_RECORD = TypeAdapter(CampaignRecord)
_RECORD_PAGE = TypeAdapter(Page[CampaignRecord])
_CONNECTION_PAGE = TypeAdapter(Page[Connection])


def _log_failure(exc: ThuliumError, attempt: int) -> None:
    """One line per failed attempt: method, path, status, request_id — never headers, bodies or query
    strings."""
    status_code = getattr(exc, "status_code", None)
    request_id = getattr(exc, "request_id", None)
    if isinstance(exc, ThuliumNotFound):
        level = logging.INFO  # routine for existence checks
    elif isinstance(exc, ThuliumAuthError | OutcomeUnknown):
        level = logging.ERROR
    else:
        level = logging.WARNING
    kind = "retryable" if isinstance(exc, RetryableFailure) else type(exc).__name__
    line = {"method": exc.method, "path": exc.path, "status": status_code, "request_id": request_id}
    log.log(level, "Thulium request failed", extra={**line, "attempt": attempt, "kind": kind})


def _summarise(exc: ValidationError) -> str:
    """Field locations and messages only: pydantic's default text echoes input values (phones, e-mails)."""
    parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_input=False)[:5]]
    return "; ".join(parts)


def _validate(adapter: TypeAdapter[T], data: Any, method: str, path: str) -> T:
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        raise ThuliumProtocolError(
            f"{method} {path}: unexpected response shape ({_summarise(exc)})", method=method, path=path
        ) from None


def _json_or_none(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _created_id(
    response: httpx.Response, key: str, method: str, path: str, identifiers: Sequence[str]
) -> int:
    """The id from a create's answer. Without it the write happened but cannot be linked: reconcile like a
    lost one."""
    data = _json_or_none(response)
    value = data.get(key) if isinstance(data, Mapping) else None
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise OutcomeUnknown(
            f"{method} {path} answered {response.status_code} without a readable {key}; "
            "the object was probably created",
            method=method,
            path=path,
            identifiers=identifiers,
            status_code=response.status_code,
        ) from None


def _multi_status(response: httpx.Response, method: str, path: str) -> Mapping[str, Any] | None:
    """The 207 body as a mapping, or ``None`` (logged) when it is not a JSON object — every item is then
    unknown."""
    data = _json_or_none(response)
    if isinstance(data, Mapping):
        return data
    line = {"method": method, "path": path, "status": response.status_code}
    log.warning(
        "Thulium answered with a body that is not a JSON object; all item outcomes unknown", extra=line
    )
    return None


def _missing_reason(items: Mapping[str, Any] | None) -> str:
    if items is None:
        return "response body is not a JSON object; outcome unknown"
    return "item missing from the 207 response; outcome unknown"


def _lookup(items: Mapping[str, Any] | None, key: str) -> Any:
    return None if items is None else items.get(key)


def _warn_unexpected_keys(
    items: Mapping[str, Any] | None, keys: Sequence[str], method: str, path: str
) -> None:
    if items is None:
        return
    extra = set(items) - set(keys)
    if extra:
        line = {"method": method, "path": path, "items": len(extra)}
        log.warning("Thulium returned items for keys that were not sent", extra=line)


def _keyed_results(
    response: httpx.Response, ids: Sequence[int], method: str, path: str
) -> dict[int, ItemResult]:
    """Results of a 207 keyed by customer id; keys are matched as integers ("013" is 13)."""
    items = _multi_status(response, method, path)
    by_id: dict[int, Any] = {}
    if items is not None:
        for key, value in items.items():
            try:
                by_id[int(str(key).strip())] = value
            except ValueError:
                continue
        _warn_unexpected_keys({str(k): v for k, v in by_id.items()}, [str(i) for i in ids], method, path)
    missing = _missing_reason(items)
    return {i: parse_item(str(i), by_id.get(i), customer_id=i, missing=missing) for i in ids}


def _id_params(ids: Sequence[int]) -> Params:
    return [("customer_id[]", str(i)) for i in ids]


def _dump(payload: Payload) -> dict[str, Any]:
    if isinstance(payload, BaseModel):
        return payload.model_dump(mode="json", exclude_none=True)
    return dict(payload)


def _identifiers(bodies: Sequence[Mapping[str, Any]]) -> list[str]:
    return [str(b["identifier"]) for b in bodies if b.get("identifier")]


def _int_id(value: object) -> int:
    """Ids go into paths; refuse anything that is not a plain positive integer rather than build a wrong
    URL."""
    if isinstance(value, bool):
        raise ValueError(f"not an id: {value!r}")
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValueError(f"not an id: {value!r}") from None
    if number <= 0 or (isinstance(value, str) and not value.strip().isdigit()):
        raise ValueError(f"not an id: {value!r}")
    return number


def _seg(value: str) -> str:
    if not value:
        raise ValueError("empty path segment")
    return quote(str(value), safe="")


def _check_unique(ids: Sequence[int]) -> None:
    """A 207 keyed by id cannot tell two items for the same id apart; the caller must not send duplicates."""
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    if dupes:
        raise ValueError(f"duplicate customer ids in one batch: {sorted(dupes)}")


def _check_limit(limit: int, maximum: int) -> None:
    if not 1 <= limit <= maximum:
        raise ValueError(f"limit must be between 1 and {maximum}, got {limit}")


def _param_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _includes(
    custom_fields: bool, address: bool, invoice_address: bool, mail_drop_address: bool
) -> dict[str, object]:
    """Include flags are sent only when asked for; unlike filters such as company_flag, False means absent."""
    return {
        "include_custom_fields": custom_fields or None,
        "include_address": address or None,
        "include_invoice_address": invoice_address or None,
        "include_mail_drop_address": mail_drop_address or None,
    }


def _params(**values: object) -> Params:
    """Query parameters, skipping ``None`` (so an explicit ``""`` filter is still sent)."""
    return [(k, _param_value(v)) for k, v in values.items() if v is not None]


def _custom_field_params(custom_fields: Mapping[str, str | Sequence[str]] | None) -> Params:
    """PHP-style ``custom_fields[Name]=v`` / ``custom_fields[Name][i]=v`` (alternatives for one field)."""
    params: Params = []
    for name, value in (custom_fields or {}).items():
        if isinstance(value, str):
            params.append((f"custom_fields[{name}]", value))
        else:
            params.extend((f"custom_fields[{name}][{i}]", v) for i, v in enumerate(value))
    return params


def _paged(fetch: Callable[[int, int], Sequence[T]], page_size: int) -> Iterator[T]:
    offset = 0
    while True:
        page = fetch(page_size, offset)
        yield from page
        if len(page) < page_size:
            return
        offset += len(page)
