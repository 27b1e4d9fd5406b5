"""Request parsing and response helpers shared by the Thulium routes (one behaviour for every bad input)."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from syncd.sandbox.json_http import InvalidBody, read_json, read_json_object
from syncd.sandbox.thulium.errors import CODE_BAD_PARAM, CODE_INVALID_JSON, CODE_NOT_FOUND, ApiError


def no_content() -> web.Response:
    return web.Response(status=204)


async def json_body(request: web.Request) -> Any:
    try:
        return await read_json(request)
    except InvalidBody as err:
        raise ApiError.one(400, str(err), CODE_INVALID_JSON) from None


async def json_object(request: web.Request) -> dict[str, Any]:
    try:
        return await read_json_object(request)
    except InvalidBody as err:
        raise ApiError.one(400, str(err), CODE_INVALID_JSON) from None


def path_int(request: web.Request, name: str, not_found: str) -> int:
    try:
        return int(request.match_info[name])
    except ValueError:
        raise ApiError.one(404, not_found, CODE_NOT_FOUND) from None


def page(query: Any, *, default: int = 100, maximum: int) -> tuple[int, int]:
    """The vendor states the maximum but not what happens above it; we answer 400 so a client relying on
    silent clamping finds out in tests rather than by missing records in production."""
    try:
        limit = int(query.get("limit", default))
    except ValueError:
        raise ApiError.one(400, "Limit must be an integer.", CODE_BAD_PARAM) from None
    if limit < 1 or limit > maximum:
        raise ApiError.one(400, f"Limit must be between 1 and {maximum}.", CODE_BAD_PARAM)
    try:
        offset = int(query.get("offset", 0))
    except ValueError:
        raise ApiError.one(400, "Offset must be an integer.", CODE_BAD_PARAM) from None
    if offset < 0:
        raise ApiError.one(400, "Offset must not be negative.", CODE_BAD_PARAM)
    return limit, offset


def order_keys(query: Any, allowed: tuple[str, ...]) -> list[tuple[str, bool]]:
    """``order=name,-customer_id`` → [("name", False), ("customer_id", True)] (True = descending)."""
    raw = str(query.get("order", "")).strip()
    if not raw:
        return []
    out: list[tuple[str, bool]] = []
    for part in raw.split(","):
        part = part.strip()
        desc = part.startswith("-")
        name = part.lstrip("-+")
        if name not in allowed:
            raise ApiError.one(400, f"Unknown order field: {name}.", CODE_BAD_PARAM)
        out.append((name, desc))
    return out


def list_param(query: Any, name: str) -> list[str]:
    """PHP-style ``name[]=a&name[]=b`` (also accepts plain repeated ``name=a``)."""
    return [str(v) for v in query.getall(f"{name}[]", [])] + [str(v) for v in query.getall(name, [])]


_CF_RE = re.compile(r"^custom_fields\[([^\]]+)\](?:\[\d*\])?$")


def custom_field_filters(query: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in query.items():
        m = _CF_RE.match(key)
        if m:
            out.setdefault(m.group(1), []).append(str(value))
    return out


def flag(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.strip().lower() in ("true", "1", "yes")


def widen(moment: str, *, upper: bool, whole_minute: bool = True) -> str | None:
    """``YYYY-MM-DD[ hh:mm[:ss]]`` as a full timestamp: a bare date as an upper bound means the whole day and
    ``hh:mm`` the whole minute (``whole_minute``, readings.date_to_minute "whole") or only its first second
    ("start"). None for any other length."""
    if len(moment) == 10:
        return moment + (" 23:59:59" if upper else " 00:00:00")
    if len(moment) == 16:
        return moment + (":59" if upper and whole_minute else ":00")
    return moment if len(moment) == 19 else None
