"""customers, batch/customers and customer_field_groups."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from aiohttp import web

from syncd.sandbox.json_http import json_response
from syncd.sandbox.thulium.errors import ApiError
from syncd.sandbox.thulium.middleware import SANDBOX_KEY, decision_of
from syncd.sandbox.thulium.params import flag, json_object, list_param, order_keys, path_int
from syncd.sandbox.thulium.routes.cards import CardResource, StoreOps, Views, store_of
from syncd.sandbox.thulium.routes.listing import Listing, card_filter
from syncd.sandbox.thulium.store import MSG_CUSTOMER_NOT_FOUND, Customer, Store
from syncd.sandbox.thulium.views import customer_view, single_customer_view
from syncd.sandbox.thulium.webhook_events import CUSTOMER_CREATED, customer_created

CUSTOMER_ORDER = ("surname", "name", "nip", "company_id", "customer_id", "identifier")
MSG_UNAVAILABLE = "Service temporarily unavailable."

routes = web.RouteTableDef()


def _announce_created(request: web.Request, cust: Customer) -> None:
    """Sent only when the webhook target opts in with ``api_writes``: the document does not say whether
    Thulium announces customers its API created, and a client must survive both answers."""
    request.app[SANDBOX_KEY].webhooks.emit(CUSTOMER_CREATED, customer_created(cust), api_write=True)


def _by_id(cust: Customer) -> int:
    return cust.customer_id


def _sort_value(cust: Customer, key: str) -> tuple[int, Any]:
    value: Any = getattr(cust, key)
    if key == "company_id":
        return (0, -1 if value is None else value)
    if isinstance(value, str):
        return (0, value.lower())
    return (0, value)


def _keep(store: Store, query: Any) -> Callable[[Customer], bool] | None:
    """The card's filters, and two only customers have: company_id (empty = none) and company_flag."""
    tests: list[Callable[[Customer], bool]] = []
    card = card_filter(query)
    if card is not None:
        tests.append(card)
    if "company_id" in query:
        raw = query["company_id"]
        tests.append(lambda c: str(c.company_id) == raw if raw else c.company_id is None)
    company_flag = flag(query.get("company_flag"))
    if company_flag is False and store.readings.company_flag_param == "php":
        company_flag = True  # PHP reads any non-empty string, "false" included, as true
    if company_flag is not None:
        tests.append(lambda c: c.company_flag == company_flag)
    if not tests:
        return None
    return tests[0] if len(tests) == 1 else lambda c: all(test(c) for test in tests)


def _candidates(store: Store, query: Any) -> Collection[int] | None:
    """The ids an index narrows the filters to; the filters themselves still decide."""
    if "identifier" in query:
        return store.by_identifier.ids(query["identifier"])
    if "nip" in query:
        return store.by_nip.ids(query["nip"])
    raw = query.get("company_id", "")
    if raw.isdigit() and str(int(raw)) == raw:
        return store.by_company.ids(int(raw))
    return None


def _listed(store: Store, query: Any, limit: int, offset: int) -> list[Customer]:
    return Listing(
        order=store.customer_order,
        get=store.customers.__getitem__,
        by_id=_by_id,
        id_key="customer_id",
        keys=order_keys(query, CUSTOMER_ORDER),
        value=_sort_value,
        keep=_keep(store, query),
        candidates=_candidates(store, query),
    ).page(limit, offset)


CUSTOMERS = CardResource[Customer](
    path="/api/customers",
    not_found=MSG_CUSTOMER_NOT_FOUND,
    listed=_listed,
    views=Views(customer_view, single_customer_view),
    ops=StoreOps(Store.get_customer, Store.update_customer, Store.delete_customer),
)
CUSTOMERS.add_routes(routes)


@routes.post("/api/customers/{id}/notes")
async def add_note(request: web.Request) -> web.Response:
    store = store_of(request)
    cust = store.get_customer(path_int(request, "id", MSG_CUSTOMER_NOT_FOUND))
    body = await json_object(request)
    message = body.get("message")
    if not isinstance(message, str) or not message.strip():
        raise ApiError.one(400, "Field message is required.")
    cust.notes.append(message)
    return web.Response(status=201)


@routes.post("/api/customers")
async def create_customer(request: web.Request) -> web.Response:
    cust = store_of(request).create_customer(await json_object(request))
    _announce_created(request, cust)
    return json_response({"customer_id": str(cust.customer_id)}, status=201)


def _item_error(err: ApiError) -> dict[str, Any]:
    return {"http_status": err.status, "message": err.errors[0].message if err.errors else "Error."}


def _customer_list(body: dict[str, Any]) -> list[Any]:
    items = body.get("customers")
    if not isinstance(items, list):
        raise ApiError.one(400, "Field customers is required and must be a list.")
    return items


@routes.post("/api/batch/customers")
async def batch_create(request: web.Request) -> web.Response:
    store = store_of(request)
    decision = decision_of(request)
    out: dict[str, Any] = {}
    for pos, item in enumerate(_customer_list(await json_object(request))):
        if decision is not None and decision.item_hit():
            out[str(pos)] = {"http_status": 503, "message": MSG_UNAVAILABLE}
            continue
        try:
            cust = store.create_customer(item)
        except ApiError as err:
            out[str(pos)] = _item_error(err)
        else:
            out[str(pos)] = {"http_status": 201, "customer_id": str(cust.customer_id)}
            _announce_created(request, cust)
    return json_response(out, status=207)


@routes.put("/api/batch/customers")
async def batch_update(request: web.Request) -> web.Response:
    store = store_of(request)
    decision = decision_of(request)
    out: dict[str, Any] = {}
    for item in _customer_list(await json_object(request)):
        raw_id = item.get("customer_id") if isinstance(item, dict) else None
        key = str(raw_id if raw_id is not None else "")
        if decision is not None and decision.item_hit():
            out[key] = {"http_status": 503, "message": MSG_UNAVAILABLE}
            continue
        try:
            customer_id = int(raw_id)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            out[key] = {"http_status": 404, "message": MSG_CUSTOMER_NOT_FOUND}
            continue
        changes = {k: v for k, v in item.items() if k != "customer_id"}
        try:
            store.update_customer(customer_id, changes)
        except ApiError as err:
            out[key] = _item_error(err)
        else:
            out[key] = {"http_status": 204}
    return json_response(out, status=207)


@routes.delete("/api/batch/customers")
async def batch_delete(request: web.Request) -> web.Response:
    store = store_of(request)
    decision = decision_of(request)
    ids = list_param(request.query, "customer_id")
    if not ids:
        raise ApiError.one(400, "Parameter customer_id[] is required.")
    out: dict[str, Any] = {}
    for raw in ids:
        if decision is not None and decision.item_hit():
            out[raw] = {"http_status": 503, "message": MSG_UNAVAILABLE}
            continue
        try:
            store.delete_customer(int(raw))
        except (ApiError, ValueError):
            out[raw] = {"http_status": 404, "message": MSG_CUSTOMER_NOT_FOUND}
        else:
            out[raw] = {"http_status": 204}
    return json_response(out, status=207)


@routes.get("/api/customer_field_groups")
async def field_groups(request: web.Request) -> web.Response:
    """Only the index line exists in the seed ("returns the list of customer custom field groups"); the
    shape is ours: one group holding every field, so a client can list the names that already exist."""
    store = store_of(request)
    fields = [
        {"id": i + 1, "name": name, "type": "TEXT", "read_only": False}
        for i, name in enumerate(store.custom_fields)
    ]
    return json_response([{"id": 1, "name": "Default", "fields": fields}])
