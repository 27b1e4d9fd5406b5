"""companies (no batch endpoint exists for them)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from syncd.sandbox.json_http import json_response
from syncd.sandbox.thulium.middleware import SANDBOX_KEY
from syncd.sandbox.thulium.params import (
    custom_field_filters,
    json_object,
    no_content,
    order_keys,
    page,
    path_int,
)
from syncd.sandbox.thulium.store import MSG_COMPANY_NOT_FOUND, Company, Store
from syncd.sandbox.thulium.views import Includes, company_view, single_company_view

COMPANY_ORDER = ("name", "nip", "company_id", "identifier", "customer_id")

routes = web.RouteTableDef()


def _store(request: web.Request) -> Store:
    return request.app[SANDBOX_KEY].store


def _filter(store: Store, query: Any) -> list[Company]:
    out: list[Company] = []
    cf = custom_field_filters(query)
    for comp in store.companies.values():
        cust = store.customers[comp.customer_id]
        if "identifier" in query and cust.identifier != query["identifier"]:
            continue
        if "email" in query and query["email"].lower() not in (e.lower() for e in cust.emails):
            continue
        if "phone_number" in query:
            phone = query["phone_number"]
            if (phone and phone not in cust.phones) or (not phone and cust.phones):
                continue
        if any(k in query and getattr(cust, k) != query[k] for k in ("nip", "type", "group")):
            continue
        if any(cust.custom_fields.get(name) not in values for name, values in cf.items()):
            continue
        out.append(comp)
    return out


def _sort(store: Store, items: list[Company], keys: list[tuple[str, bool]]) -> list[Company]:
    def value(comp: Company, key: str) -> Any:
        cust = store.customers[comp.customer_id]
        if key == "name":
            return cust.surname.lower()
        if key in ("company_id", "customer_id"):
            return getattr(comp, key)
        return str(getattr(cust, key)).lower()

    items = sorted(items, key=lambda c: c.company_id)
    for key, desc in reversed(keys):
        items.sort(key=lambda c, k=key: value(c, k), reverse=desc)  # type: ignore[misc]
    return items


@routes.get("/api/companies")
async def list_companies(request: web.Request) -> web.Response:
    store = _store(request)
    q = request.query
    limit, offset = page(q, maximum=1000)
    items = _sort(store, _filter(store, q), order_keys(q, COMPANY_ORDER))
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
