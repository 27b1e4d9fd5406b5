"""companies (no batch endpoint exists for them)."""

from __future__ import annotations

import functools
from typing import Any

from aiohttp import web

from syncd.sandbox.json_http import json_response
from syncd.sandbox.thulium.params import json_object, order_keys
from syncd.sandbox.thulium.routes.cards import CardResource, StoreOps, Views, store_of
from syncd.sandbox.thulium.routes.listing import card_filter, ordered
from syncd.sandbox.thulium.store import MSG_COMPANY_NOT_FOUND, Company, Store
from syncd.sandbox.thulium.views import company_view, single_company_view

COMPANY_ORDER = ("name", "nip", "company_id", "identifier", "customer_id")

routes = web.RouteTableDef()


def _filter(store: Store, query: Any) -> list[Company]:
    matches = card_filter(query)
    return [comp for comp in store.companies.values() if matches(store.customers[comp.customer_id])]


def _by_id(comp: Company) -> int:
    return comp.company_id


def _sort_value(store: Store, comp: Company, key: str) -> Any:
    cust = store.customers[comp.customer_id]
    if key == "name":
        return cust.surname.lower()
    if key in ("company_id", "customer_id"):
        return getattr(comp, key)
    return str(getattr(cust, key)).lower()


def _listed(store: Store, query: Any) -> list[Company]:
    matches = _filter(store, query)
    return ordered(matches, _by_id, order_keys(query, COMPANY_ORDER), functools.partial(_sort_value, store))


COMPANIES = CardResource[Company](
    path="/api/companies",
    not_found=MSG_COMPANY_NOT_FOUND,
    listed=_listed,
    views=Views(company_view, single_company_view),
    ops=StoreOps(Store.get_company, Store.update_company, Store.delete_company),
)
COMPANIES.add_routes(routes)


@routes.post("/api/companies")
async def create_company(request: web.Request) -> web.Response:
    comp = store_of(request).create_company(await json_object(request))
    return json_response(
        {"company_id": str(comp.company_id), "customer_id": str(comp.customer_id)}, status=201
    )
