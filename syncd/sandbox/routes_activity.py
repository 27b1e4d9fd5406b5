"""connections (call history, seed 002) — read-only; data is added through the control API."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from syncd.sandbox.errors import CODE_BAD_PARAM, ApiError
from syncd.sandbox.middleware import SANDBOX_KEY
from syncd.sandbox.web_utils import json_response, list_param, page, widen

routes = web.RouteTableDef()


def _bound(value: str | None, *, upper: bool) -> str | None:
    """``2014-07-14`` as an upper bound means the whole day; ``2014-07-14 12:34`` is exact to the minute."""
    if not value:
        return None
    wide = widen(value, upper=upper)
    if wide is None:
        raise ApiError.one(400, "Wrong date format. Expected YYYY-MM-DD or YYYY-MM-DD hh:mm.", CODE_BAD_PARAM)
    return wide


def _norm(date: str) -> str:
    return date + ":00" if len(date) == 16 else date


@routes.get("/api/connections")
async def list_connections(request: web.Request) -> web.Response:
    q = request.query
    limit, offset = page(q, maximum=100)
    low, high = _bound(q.get("date_from"), upper=False), _bound(q.get("date_to"), upper=True)
    items: list[dict[str, Any]] = []
    tags = set(list_param(q, "tags"))
    for conn in request.app[SANDBOX_KEY].store.connections:
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
        items.append(conn)
    return json_response({"count": len(items), "result": items[offset : offset + limit]})
