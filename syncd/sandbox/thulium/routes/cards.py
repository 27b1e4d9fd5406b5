"""The REST handlers customers and companies share: list, get one, update and delete. A company's data lives
on its own customer record, so the two resources answer these four alike and differ only in what a
``CardResource`` names; create stays each resource's own (the answers and the side effects differ)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiohttp import web

from syncd.sandbox.json_http import json_response
from syncd.sandbox.thulium.middleware import SANDBOX_KEY
from syncd.sandbox.thulium.params import json_object, no_content, order_keys, page, path_int
from syncd.sandbox.thulium.routes.listing import ordered
from syncd.sandbox.thulium.store import Store
from syncd.sandbox.thulium.views import Includes

T = TypeVar("T")


def store_of(request: web.Request) -> Store:
    return request.app[SANDBOX_KEY].store


@dataclass(frozen=True)
class CardResource(Generic[T]):
    """One resource's pieces; ``add_routes`` serves ``path`` (GET) and ``path/{id}`` (GET, PUT, DELETE)."""

    path: str
    not_found: str
    order: tuple[str, ...]
    """The keys ``order`` may name."""
    select: Callable[[Store, Any], list[T]]
    """The items the list's filters keep."""
    by_id: Callable[[T], int]
    sort_value: Callable[[Store, T, str], Any]
    view: Callable[[Store, T, Includes], dict[str, Any]]
    single_view: Callable[[Store, T, Includes], dict[str, Any]]
    get: Callable[[Store, int], T]
    update: Callable[[Store, int, Any], T]
    delete: Callable[[Store, int], None]

    def add_routes(self, routes: web.RouteTableDef) -> None:
        item = self.path + "/{id}"
        routes.get(self.path)(self.list_items)
        routes.get(item)(self.get_item)
        routes.put(item)(self.update_item)
        routes.delete(item)(self.delete_item)

    def _id(self, request: web.Request) -> int:
        return path_int(request, "id", self.not_found)

    async def list_items(self, request: web.Request) -> web.Response:
        store = store_of(request)
        q = request.query
        limit, offset = page(q, maximum=1000)
        value = functools.partial(self.sort_value, store)
        items = ordered(self.select(store, q), self.by_id, order_keys(q, self.order), value)
        inc = Includes(dict(q))
        return json_response([self.view(store, item, inc) for item in items[offset : offset + limit]])

    async def get_item(self, request: web.Request) -> web.Response:
        store = store_of(request)
        item = self.get(store, self._id(request))
        return json_response(self.single_view(store, item, Includes(dict(request.query))))

    async def update_item(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        self.update(store_of(request), self._id(request), body)
        return no_content()

    async def delete_item(self, request: web.Request) -> web.Response:
        self.delete(store_of(request), self._id(request))
        return no_content()
