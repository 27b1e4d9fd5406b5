"""Everything around an API route: log/count, latency, rate limit, auth, faults, the error envelope."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from typing import NoReturn

from aiohttp import web

from syncd.sandbox.thulium.capacity import Full
from syncd.sandbox.thulium.errors import (
    CODE_AUTH,
    CODE_METHOD,
    CODE_NOT_FOUND,
    CODE_RATE,
    CODE_SERVER,
    ApiError,
    error_response,
)
from syncd.sandbox.thulium.faults import DEFAULT_HANG_MS, Decision, FaultRule
from syncd.sandbox.thulium.runtime import LogEntry, Sandbox

API_PREFIX = "/api/"
SANDBOX_KEY: web.AppKey[Sandbox] = web.AppKey("sandbox", Sandbox)
DECISION_KEY = "syncd_fault_decision"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# What a front proxy (nginx) answers for a request line past its buffer: HTML, no Thulium error body.
URI_TOO_LONG_PAGE = (
    "<html>\r\n<head><title>414 Request-URI Too Large</title></head>\r\n<body>\r\n"
    "<center><h1>414 Request-URI Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def route_template(request: web.Request) -> str:
    """``PUT customers/:id`` style keys, the way the vendor document names endpoints."""
    info = request.match_info
    resource = info.route.resource if info.http_exception is None else None
    if resource is None:
        return request.path[len(API_PREFIX) :]
    canonical = resource.canonical
    template = canonical[len(API_PREFIX) :] if canonical.startswith(API_PREFIX) else canonical
    for name in info:
        template = template.replace("{" + name + "}", ":" + name)
    return template


def decision_of(request: web.Request) -> Decision | None:
    d = request.get(DECISION_KEY)
    return d if isinstance(d, Decision) else None


def _authorized(request: web.Request, sb: Sandbox) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or not token:
        return False
    try:
        user, _, password = base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return hmac.compare_digest(user, sb.config.user) & hmac.compare_digest(password, sb.config.password)


def _request_id_of(resp: web.StreamResponse) -> str | None:
    if isinstance(resp, web.Response) and resp.status >= 400 and resp.text:
        try:
            rid = json.loads(resp.text).get("request_id")
        except (ValueError, AttributeError):
            return None
        return rid if isinstance(rid, str) else None
    return None


def _drop_items(resp: web.Response, decision: Decision, share: float) -> web.Response:
    try:
        body = json.loads(resp.text or "")
    except ValueError:
        return resp
    if not isinstance(body, dict) or not body:
        return resp
    rng = decision.rng
    keys = list(body)
    dropped = [k for k in keys if rng is not None and rng.random() < share] or [keys[-1]]
    for key in dropped:
        del body[key]
    return web.Response(status=resp.status, text=json.dumps(body), content_type="application/json")


async def _run_api(
    request: web.Request, handler: Handler, sb: Sandbox, entry: LogEntry
) -> web.StreamResponse:
    """A real gateway's order: a free slot (or a place in the queue), admission, then an injected failure
    or the handler, then the answer's fate. The slot is held to the end, latency included: a request is
    the server's work for as long as it takes."""
    try:
        async with sb.faults.capacity.slot():
            return await _serve(request, handler, sb, entry)
    except Full as full:
        entry.faults.append("capacity")
        raise ApiError.one(429, "Too many requests.", CODE_RATE).with_headers(
            {"Retry-After": str(full.retry_after)}
        ) from None


async def _serve(request: web.Request, handler: Handler, sb: Sandbox, entry: LogEntry) -> web.StreamResponse:
    await _admit(request, sb, entry)
    decision = sb.faults.decide(request.method, entry.path)
    entry.faults.extend(decision.names())
    request[DECISION_KEY] = decision
    if decision.pre is not None:
        await _fail_before_answer(request, handler, sb, decision.pre)
    resp = await handler(request)
    await _lose_or_delay(request, decision)
    return _damage_answer(resp, decision)


async def _admit(request: web.Request, sb: Sandbox, entry: LogEntry) -> None:
    """Latency, rate limit and auth: what the API meets before any route-level fault is decided."""
    delay = sb.faults.latency_s()
    if delay:
        await asyncio.sleep(delay)
    retry = sb.faults.rate_limited()
    if retry is not None:
        entry.faults.append("rate_limit")
        raise ApiError.one(429, "Too many requests.", CODE_RATE).with_headers({"Retry-After": str(retry)})
    if not _authorized(request, sb):
        raise ApiError.one(401, "Authorization failed. Wrong user or password.", CODE_AUTH)


async def _fail_before_answer(
    request: web.Request, handler: Handler, sb: Sandbox, pre: FaultRule
) -> NoReturn:
    if pre.kind != "too_many_requests" and sb.readings.errors_apply_writes and request.method != "GET":
        await handler(request)  # no rollback promised: the write stays, the answer is the error
    if pre.kind == "hang":
        await asyncio.sleep((pre.delay_ms or DEFAULT_HANG_MS) / 1000.0)
        raise ApiError.one(504, "Gateway timeout.", CODE_SERVER)
    if pre.kind == "too_many_requests":
        raise ApiError.one(429, "Too many requests.", CODE_RATE).with_headers(
            {"Retry-After": str(pre.retry_after)}
        )
    raise ApiError.one(pre.status, "Internal server error.", CODE_SERVER)


async def _lose_or_delay(request: web.Request, decision: Decision) -> None:
    if decision.post_rule("lost_response") is not None:
        transport = request.transport
        if transport is not None:
            transport.abort()
        raise asyncio.CancelledError
    slow = decision.post_rule("slow")
    if slow is not None:
        await asyncio.sleep(slow.delay_ms / 1000.0)


def _damage_answer(resp: web.StreamResponse, decision: Decision) -> web.StreamResponse:
    """Only a successful answer with a body is worth damaging: errors and empty bodies pass as they are."""
    if not (isinstance(resp, web.Response) and 200 <= resp.status < 300 and resp.text):
        return resp
    partial = decision.post_rule("partial_207")
    if partial is not None and resp.status == 207:
        resp = _drop_items(resp, decision, partial.item_probability)
    if decision.post_rule("malformed_207") is not None:
        text = resp.text or ""
        resp = web.Response(
            status=resp.status, text=text[: max(1, len(text) // 2)], content_type="application/json"
        )
    return resp


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith(API_PREFIX):
        return await handler(request)
    sb = request.app[SANDBOX_KEY]
    path = request.path[len(API_PREFIX) :]
    route = route_template(request)
    entry = sb.log.start(request.method, path, request.query_string, route)
    sb.counters.add(request.method, route)
    started = time.monotonic()
    limit = sb.readings.max_url_bytes
    if limit is not None and len(request.raw_path) > limit:
        entry.faults.append("uri_too_long")
        entry.duration_ms, entry.status = 0.0, 414
        return web.Response(status=414, text=URI_TOO_LONG_PAGE, content_type="text/html")
    try:
        try:
            resp = await _run_api(request, handler, sb, entry)
        except web.HTTPException as exc:
            if exc.status == 405:
                raise ApiError.one(405, "Method not allowed.", CODE_METHOD) from None
            if exc.status == 404:
                raise ApiError.one(404, "Resource not found.", CODE_NOT_FOUND) from None
            raise
    except ApiError as err:
        resp = error_response(err)
    finally:
        # Also set when no response is sent (lost response, client gave up on a hang): status stays None.
        entry.duration_ms = round((time.monotonic() - started) * 1000.0, 3)
    entry.status = resp.status
    entry.request_id = _request_id_of(resp)
    return resp
