"""connections (call history, seed 002) — read-only; data is added through the control API.

A call is kept with its second (when it was given one) and listed to the minute, as the document prints
it; the date bounds compare with the second, so ``date_to=… hh:mm`` read as only that minute's first
second (readings.date_to_minute "start") leaves out a call at hh:mm:30 that the listing shows as hh:mm."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from syncd.sandbox.json_http import json_response
from syncd.sandbox.thulium.errors import CODE_BAD_PARAM, ApiError
from syncd.sandbox.thulium.middleware import SANDBOX_KEY
from syncd.sandbox.thulium.params import list_param, page, widen

routes = web.RouteTableDef()


def _bound(value: str | None, *, upper: bool, whole_minute: bool = True) -> str | None:
    """``2014-07-14`` as an upper bound means the whole day; ``2014-07-14 12:34`` the whole minute, or only
    12:34:00 (``whole_minute`` False)."""
    if not value:
        return None
    wide = widen(value, upper=upper, whole_minute=whole_minute)
    if wide is None:
        raise ApiError.one(400, "Wrong date format. Expected YYYY-MM-DD or YYYY-MM-DD hh:mm.", CODE_BAD_PARAM)
    return wide


def _norm(date: str) -> str:
    return date + ":00" if len(date) == 16 else date


def _listed(conn: dict[str, Any]) -> dict[str, Any]:
    """As the document prints a call: its date to the minute."""
    return {**conn, "date": str(conn.get("date", ""))[:16]}


@routes.get("/api/connections")
async def list_connections(request: web.Request) -> web.Response:
    q = request.query
    limit, offset = page(q, maximum=100)
    store = request.app[SANDBOX_KEY].store
    whole = store.readings.date_to_minute == "whole"
    low = _bound(q.get("date_from"), upper=False)
    high = _bound(q.get("date_to"), upper=True, whole_minute=whole)
    items: list[dict[str, Any]] = []
    tags = set(list_param(q, "tags"))
    for conn in store.connections:
        date = _norm(str(conn.get("date", "")))
        if (low and date < low) or (high and date > high):
            continue
        if any(
            k in q and str(conn.get(k) if conn.get(k) is not None else "") != q[k]
            for k in ("customer_id", "user_login", "queue_id", "src", "dst", "connection_id", "topic_id")
        ):
            continue
        if tags and not tags & set(conn.get("tags", [])):
            continue
        items.append(_listed(conn))
    return json_response({"count": len(items), "result": items[offset : offset + limit]})
