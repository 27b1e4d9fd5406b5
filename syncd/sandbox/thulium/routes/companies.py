"""companies (no batch endpoint exists for them)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection
from typing import Any

from aiohttp import web

from syncd.sandbox.json_http import json_response
from syncd.sandbox.thulium.params import json_object, order_keys
from syncd.sandbox.thulium.routes.cards import CardResource, StoreOps, Views, store_of
from syncd.sandbox.thulium.routes.listing import Listing, card_filter
from syncd.sandbox.thulium.store import MSG_COMPANY_NOT_FOUND, Company, Store
from syncd.sandbox.thulium.views import company_view, single_company_view

COMPANY_ORDER = ("name", "nip", "company_id", "identifier", "customer_id")

routes = web.RouteTableDef()


def _keep(store: Store, query: Any) -> Callable[[Company], bool] | None:
    card = card_filter(query)
    if card is None:
        return None
    return lambda comp: card(store.customers[comp.customer_id])


def _candidates(store: Store, query: Any) -> Collection[int] | None:
    """The companies whose customer record an index finds; the filters themselves still decide."""
    if "identifier" in query:
        customer_ids = store.by_identifier.ids(query["identifier"])
    elif "nip" in query:
        customer_ids = store.by_nip.ids(query["nip"])
    else:
        return None
    owners = (store.company_of_customer.get(customer_id) for customer_id in customer_ids)
    return {company_id for company_id in owners if company_id is not None}


def _by_id(comp: Company) -> int:
    return comp.company_id


def _sort_value(store: Store, comp: Company, key: str) -> Any:
    cust = store.customers[comp.customer_id]
    if key == "name":
        return cust.surname.lower()
    if key in ("company_id", "customer_id"):
        return getattr(comp, key)
    return str(getattr(cust, key)).lower()


def _listed(store: Store, query: Any, limit: int, offset: int) -> list[Company]:
    return Listing(
        order=store.company_order,
        get=store.companies.__getitem__,
        by_id=_by_id,
        id_key="company_id",
        keys=order_keys(query, COMPANY_ORDER),
        value=functools.partial(_sort_value, store),
        keep=_keep(store, query),
        candidates=_candidates(store, query),
    ).page(limit, offset)


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
