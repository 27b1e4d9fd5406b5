"""JSON in and out of an aiohttp handler, shared by both simulators.

A body that cannot be read raises ``InvalidBody``; each simulator answers it in its own envelope (Thulium's
error body for the Thulium simulator). It is deliberately not a ``ValueError``: the Wolkvox control API turns
those into its 400, and a bad body there has always been left to aiohttp instead."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


class InvalidBody(Exception):
    """The message is what the client is told."""


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(data), content_type="application/json")


async def read_json(request: web.Request) -> Any:
    """An empty body reads as ``{}``: clients send none with a POST that needs no fields."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidBody("Invalid JSON in request body.") from None


async def read_json_object(request: web.Request) -> dict[str, Any]:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise InvalidBody("Request body must be a JSON object.")
    return body
