"""companies (no batch endpoint exists for them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from syncd.sandbox.json_http import json_response
from syncd.sandbox.thulium.middleware import SANDBOX_KEY
from syncd.sandbox.thulium.params import json_object, no_content, order_keys, page, path_int
from syncd.sandbox.thulium.routes.listing import card_filter, ordered
from syncd.sandbox.thulium.store import MSG_COMPANY_NOT_FOUND, Company, Store
from syncd.sandbox.thulium.views import Includes, company_view, single_company_view

COMPANY_ORDER = ("name", "nip", "company_id", "identifier", "customer_id")

routes = web.RouteTableDef()


def _store(request: web.Request) -> Store:
    return request.app[SANDBOX_KEY].store


def _filter(store: Store, query: Any) -> list[Company]:
    matches = card_filter(query)
    return [comp for comp in store.companies.values() if matches(store.customers[comp.customer_id])]


def _by_id(comp: Company) -> int:
    return comp.company_id


def _sort_value(store: Store) -> Callable[[Company, str], Any]:
    def value(comp: Company, key: str) -> Any:
        cust = store.customers[comp.customer_id]
        if key == "name":
            return cust.surname.lower()
        if key in ("company_id", "customer_id"):
            return getattr(comp, key)
        return str(getattr(cust, key)).lower()

    return value


@routes.get("/api/companies")
async def list_companies(request: web.Request) -> web.Response:
    store = _store(request)
    q = request.query
    limit, offset = page(q, maximum=1000)
    items = ordered(_filter(store, q), _by_id, order_keys(q, COMPANY_ORDER), _sort_value(store))
    inc = Includes(dict(q))
    return json_response([company_view(store, c, inc) for c in items[offset : offset + limit]])


@routes.get("/api/companies/{id}")
async def get_company(request: web.Request) -> web.Response:
    store = _store(request)
    comp = store.get_company(path_int(request, "id", MSG_COMPANY_NOT_FOUND))
    return json_response(single_company_view(store, comp, Includes(dict(request.query))))


@routes.post("/api/companies")
async def create_company(request: web.Request) -> web.Response:
    comp = _store(request).create_company(await json_object(request))
    return json_response(
        {"company_id": str(comp.company_id), "customer_id": str(comp.customer_id)}, status=201
    )


@routes.put("/api/companies/{id}")
async def update_company(request: web.Request) -> web.Response:
    body = await json_object(request)
    _store(request).update_company(path_int(request, "id", MSG_COMPANY_NOT_FOUND), body)
    return no_content()


@routes.delete("/api/companies/{id}")
async def delete_company(request: web.Request) -> web.Response:
    _store(request).delete_company(path_int(request, "id", MSG_COMPANY_NOT_FOUND))
    return no_content()
