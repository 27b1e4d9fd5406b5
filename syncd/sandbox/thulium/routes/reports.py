"""chats/reports/summary (seed 000), agents_work_report (seed 001) and the agents they are about (GET agents,
seed 004). Only request parsing lives here; the rows are computed by ``activity.reports`` from the raw
events at every call, so an open day keeps growing."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from syncd.engine.wallclock import parse_wall_clock
from syncd.sandbox.json_http import json_response
from syncd.sandbox.thulium.activity.events import Agent
from syncd.sandbox.thulium.activity.reports import (
    AGGREGATES,
    AgentQuery,
    ChatQuery,
    Window,
    agents_work,
    chat_summary,
)
from syncd.sandbox.thulium.errors import CODE_BAD_PARAM, ApiError
from syncd.sandbox.thulium.middleware import SANDBOX_KEY
from syncd.sandbox.thulium.params import flag, list_param, page, widen

routes = web.RouteTableDef()
_FORMATS = {10: "%Y-%m-%d", 16: "%Y-%m-%d %H:%M", 19: "%Y-%m-%d %H:%M:%S"}
REPORT_MAX_LIMIT = 100


def _bad(message: str) -> ApiError:
    return ApiError.one(400, message, CODE_BAD_PARAM)


def _moment(query: Any, name: str, *, upper: bool, whole_minute: bool = True) -> str:
    """A bare date as the upper bound means the whole day and ``hh:mm`` the whole minute, or only its first
    second (``whole_minute`` False; as for connections), so ``date_from=D&date_to=D`` is one day."""
    raw = str(query.get(name, "")).strip()
    if not raw:
        raise _bad(f"Parameter {name} is required.")
    fmt = _FORMATS.get(len(raw))
    try:
        if fmt is None:
            raise ValueError(raw)
        parse_wall_clock(raw, fmt)
    except ValueError:
        raise _bad(
            f"Wrong format of {name}. Expected YYYY-MM-DD, YYYY-MM-DD hh:mm or YYYY-MM-DD hh:mm:ss."
        ) from None
    return widen(raw, upper=upper, whole_minute=whole_minute) or raw


def _window(request: web.Request) -> Window:
    query = request.query
    whole = request.app[SANDBOX_KEY].store.readings.date_to_minute == "whole"
    window = Window(
        _moment(query, "date_from", upper=False), _moment(query, "date_to", upper=True, whole_minute=whole)
    )
    if window.low > window.high:
        raise _bad("Parameter date_from must not be later than date_to.")
    return window


def _aggregate_by(query: Any) -> str:
    value = str(query.get("aggregate_by", "month"))
    if value not in AGGREGATES:
        raise _bad(f"Parameter aggregate_by must be one of: {', '.join(AGGREGATES)}.")
    return value


def _int(query: Any, name: str, default: int) -> int:
    try:
        value = int(query.get(name, default))
    except ValueError:
        raise _bad(f"Parameter {name} must be an integer.") from None
    if value < 0:
        raise _bad(f"Parameter {name} must not be negative.")
    return value


def _ints(query: Any, name: str) -> frozenset[int]:
    try:
        return frozenset(int(v) for v in list_param(query, name))
    except ValueError:
        raise _bad(f"Parameter {name} must be a list of integers.") from None


def _page_of(rows: list[dict[str, Any]], limit: int, offset: int) -> web.Response:
    """Rows come sorted by (series, user) / (period, login), so limit/offset pages never overlap."""
    return json_response(rows[offset : offset + limit])


@routes.get("/api/chats/reports/summary")
async def chats_summary(request: web.Request) -> web.Response:
    q = request.query
    limit, offset = page(q, maximum=REPORT_MAX_LIMIT)
    query = ChatQuery(
        window=_window(request),
        aggregate_by=_aggregate_by(q),
        user_logins=frozenset(list_param(q, "user_logins")),
        chat_queue_ids=_ints(q, "chat_queue_ids"),
        sum_users=bool(flag(q.get("sum_users"))),
        response_threshold=_int(q, "response_threshold", 20),
    )
    return _page_of(chat_summary(request.app[SANDBOX_KEY].store.activity.chats, query), limit, offset)


@routes.get("/api/agents_work_report")
async def agents_work_report(request: web.Request) -> web.Response:
    q = request.query
    limit, offset = page(q, maximum=REPORT_MAX_LIMIT)
    logins = frozenset(list_param(q, "agent_logins"))
    groups = _ints(q, "agent_group_ids")
    window = _window(request)
    if not logins and not groups:
        raise _bad("Parameter agent_logins or agent_group_ids is required.")
    query = AgentQuery(
        window=window,
        agent_logins=logins,
        agent_group_ids=groups,
        aggregate_by=_aggregate_by(q),
        queues_ids=_ints(q, "queues_ids"),
        outbound_threshold=_int(q, "outbound_threshold", 0),
    )
    return _page_of(agents_work(request.app[SANDBOX_KEY].store.activity, query), limit, offset)


# As printed in seed 004: the system's own "Automat" comes first, with an empty login.
AUTOMAT: dict[str, Any] = {
    "agent_id": 1,
    "login": "",
    "name": "Automat",
    "surname": "Automat",
    "email": "",
    "active": "",
    "number": "",
    "outbound_mode": "manual",
    "group_id": "",
}


def _agent_view(agent_id: int, agent: Agent) -> dict[str, Any]:
    return {
        "agent_id": agent_id,
        "login": agent.login,
        "name": agent.name,
        "surname": agent.surname,
        "email": f"{agent.login}@example.org",
        "active": True,
        "number": 550000 + agent_id,
        "outbound_mode": "manual",
        "group_id": agent.group_ids[0] if agent.group_ids else "",
    }


@routes.get("/api/agents")
async def list_agents(request: web.Request) -> web.Response:
    """A bare list, no paging (none is documented), agents in login order."""
    agents = sorted(request.app[SANDBOX_KEY].store.activity.agents.values(), key=lambda a: a.login)
    return json_response([AUTOMAT, *(_agent_view(n, a) for n, a in enumerate(agents, start=2))])
