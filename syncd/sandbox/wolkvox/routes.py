"""The Wolkvox simulator's HTTP face: ``reports_manager.php?api=chat_13`` and the control API (``/_control/``,
no token, not limited, not logged)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict

from aiohttp import web

from syncd.engine.wallclock import parse_wall_clock
from syncd.sandbox.json_http import json_response, read_json_object
from syncd.sandbox.wolkvox.chats import STORE_FORMAT, ClosedChat, generate_chats
from syncd.sandbox.wolkvox.state import (
    REPORT_PATH,
    TOKEN_HEADER,
    WIRE_FORMAT,
    Limits,
    LogEntry,
    Refusal,
    Wolkvox,
    token_label,
)

WOLKVOX_KEY: web.AppKey[Wolkvox] = web.AppKey("wolkvox", Wolkvox)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
routes = web.RouteTableDef()


def _refused(refusal: Refusal) -> web.Response:
    body = {"code": str(refusal.status), "error": refusal.error, "msg": "Request refused", "data": []}
    resp = json_response(body, status=refusal.status)
    resp.headers.update(refusal.headers)
    return resp


def _to_store(wire: str) -> str:
    return parse_wall_clock(wire, WIRE_FORMAT).strftime(STORE_FORMAT)


@routes.get(REPORT_PATH)
async def reports_manager(request: web.Request) -> web.Response:
    wv = request.app[WOLKVOX_KEY]
    q = request.query
    token = request.headers.get(TOKEN_HEADER, "")
    label = token_label(token)
    wv.seq += 1
    entry = LogEntry(
        wv.seq, time.time(), label, q.get("api", ""), q.get("date_ini", ""), q.get("date_end", "")
    )
    wv.log.append(entry)
    stats = wv.stats_for(label)
    wv.open[label] += 1
    stats.max_concurrent = max(stats.max_concurrent, wv.open[label])
    try:
        refusal = wv.admit(token, q)
        if refusal is not None:
            stats.refused[refusal.reason] += 1
            entry.outcome = refusal.reason
            resp = _refused(refusal)
        else:
            wv.admitted[label] += 1
            try:
                await asyncio.sleep(wv.limits.latency_ms / 1000.0)
            finally:
                wv.admitted[label] -= 1
            counts = wv.counts(_to_store(entry.date_ini), _to_store(entry.date_end))
            data = [{"chanel": c, "interaction": str(n)} for c, n in counts.items()]
            body = {"code": "200", "error": None, "msg": f"{len(data)} records were found", "data": data}
            entry.outcome = "ok"
            resp = json_response(body)
        entry.status = resp.status
        return resp
    finally:
        wv.open[label] -= 1
        entry.end = time.time()


# ============================================================================================ control
@web.middleware
async def control_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/_control/"):
        return await handler(request)
    try:
        return await handler(request)
    except (ValueError, KeyError, TypeError) as exc:
        return json_response({"error": f"Bad control request: {exc}"}, status=400)


def _wv(request: web.Request) -> Wolkvox:
    return request.app[WOLKVOX_KEY]


@routes.get("/_control/health")
async def health(request: web.Request) -> web.Response:
    return json_response({"ok": True})


@routes.get("/_control/stats")
async def stats(request: web.Request) -> web.Response:
    return json_response(_wv(request).stats_json())


@routes.get("/_control/log")
async def log(request: web.Request) -> web.Response:
    since = int(request.query.get("since", 0))
    return json_response([asdict(e) for e in _wv(request).log if e.seq > since])


@routes.post("/_control/reset")
async def reset(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    _wv(request).reset(chats=bool(body.get("chats", True)), limits=bool(body.get("limits", True)))
    return json_response({"ok": True})


@routes.put("/_control/clock")
async def set_clock(request: web.Request) -> web.Response:
    wv = _wv(request)
    wv.set_clock(await read_json_object(request))
    return json_response({"frozen": wv.frozen_at is not None})


@routes.get("/_control/limits")
async def get_limits(request: web.Request) -> web.Response:
    return json_response(asdict(_wv(request).limits))


@routes.put("/_control/limits")
async def put_limits(request: web.Request) -> web.Response:
    wv = _wv(request)
    wv.limits = wv.limits.updated(await read_json_object(request))
    return json_response(asdict(wv.limits))


@routes.get("/_control/chats")
async def get_chats(request: web.Request) -> web.Response:
    return json_response([asdict(c) for c in _wv(request).chats])


@routes.post("/_control/chats")
async def add_chats(request: web.Request) -> web.Response:
    wv = _wv(request)
    items = (await read_json_object(request)).get("chats", [])
    new = [ClosedChat.from_json(raw) for raw in items]
    wv.chats.extend(new)
    return json_response({"added": len(new), "total": len(wv.chats)}, status=201)


@routes.post("/_control/generate")
async def generate(request: web.Request) -> web.Response:
    wv = _wv(request)
    body = await read_json_object(request)
    days, per_day = int(body.get("days", 1)), int(body.get("per_day", 50))
    if days < 1 or per_day < 0:
        raise ValueError("days must be >= 1 and per_day >= 0")
    date_from = dt.date.fromisoformat(str(body["date_from"]))
    new = generate_chats(date_from, days, per_day, int(body.get("seed", 0)))
    wv.chats.extend(new)
    return json_response({"added": len(new), "total": len(wv.chats)}, status=201)


def build_app(*, token: str, limits: Limits) -> web.Application:
    app = web.Application(middlewares=[control_errors])
    app[WOLKVOX_KEY] = Wolkvox(token=token, limits=limits)
    app.add_routes(routes)
    return app
