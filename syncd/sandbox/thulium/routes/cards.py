"""The REST handlers customers and companies share: list, get one, update and delete. A company's data lives
on its own customer record, so the two resources answer these four alike and differ only in what a
``CardResource`` names; create stays each resource's own (the answers and the side effects differ)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar

from aiohttp import web

from syncd.sandbox.json_http import json_response
from syncd.sandbox.thulium.middleware import SANDBOX_KEY
from syncd.sandbox.thulium.params import json_object, no_content, page, path_int
from syncd.sandbox.thulium.store import Store
from syncd.sandbox.thulium.views import Includes

T = TypeVar("T")


def store_of(request: web.Request) -> Store:
    return request.app[SANDBOX_KEY].store


class Views(NamedTuple, Generic[T]):
    item: Callable[[Store, T, Includes], dict[str, Any]]
    """One item of the list."""
    single: Callable[[Store, T, Includes], dict[str, Any]]
    """GET of one item, which prints a few keys fewer."""


class StoreOps(NamedTuple, Generic[T]):
    get: Callable[[Store, int], T]
    update: Callable[[Store, int, Any], T]
    delete: Callable[[Store, int], None]


@dataclass(frozen=True)
class CardResource(Generic[T]):
    """One resource's pieces; ``add_routes`` serves ``path`` (GET) and ``path/{id}`` (GET, PUT, DELETE)."""

    path: str
    not_found: str
    listed: Callable[[Store, Any, int, int], list[T]]
    """``(store, query, limit, offset)``: that page of the items the list's filters keep, in the order its
    ``order`` asks for."""
    views: Views[T]
    ops: StoreOps[T]

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
        items = self.listed(store, q, limit, offset)
        inc = Includes(dict(q))
        return json_response([self.views.item(store, i, inc) for i in items])

    async def get_item(self, request: web.Request) -> web.Response:
        store = store_of(request)
        item = self.ops.get(store, self._id(request))
        return json_response(self.views.single(store, item, Includes(dict(request.query))))

    async def update_item(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        self.ops.update(store_of(request), self._id(request), body)
        return no_content()

    async def delete_item(self, request: web.Request) -> web.Response:
        self.ops.delete(store_of(request), self._id(request))
        return no_content()
