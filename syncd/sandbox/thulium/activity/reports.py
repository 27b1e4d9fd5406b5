"""The vendor's report rows (``chats/reports/summary``, ``agents_work_report``) aggregated from raw activity.

Reports are computed from the raw events on every request and never stored, so a test can check any report
row against the events it came from, and new events (a day still "open") show up in the next read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from syncd.engine.wallclock import parse_wall_clock
from syncd.sandbox.thulium.activity.events import (
    DATE_FMT,
    PAUSE_IDS,
    RATINGS,
    Activity,
    Agent,
    AgentAction,
    AgentCall,
    Chat,
    Pause,
    Session,
)

AGGREGATES = ("hour_of_day", "minute", "hour", "day", "week", "month", "year")
# As printed in the document: these entries come without "average" (a client must treat it as optional).
PAUSES_WITHOUT_AVERAGE = frozenset({0, 3, 4})

_SLICES: dict[str, slice] = {
    "year": slice(0, 4),
    "month": slice(0, 7),
    "day": slice(0, 10),
    "hour": slice(0, 13),
    "minute": slice(0, 16),
    "hour_of_day": slice(11, 13),
}


def series_of(moment: str, aggregate_by: str) -> str:
    """``2021``, ``2021-12``, ``2021-W49`` (ISO week), ``2021-12-01``, ``2021-12-01 13``,
    ``2021-12-01 13:05``, ``13`` — each sorts chronologically as a string."""
    if aggregate_by == "week":
        year, week, _ = dt.date.fromisoformat(moment[:10]).isocalendar()
        return f"{year}-W{week:02d}"
    return moment[_SLICES[aggregate_by]]


def hms(seconds: int) -> str:
    """Hours are not wrapped at 24 (``27:03:10``), as in the vendor's reports."""
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def average(total: int, count: int) -> int:
    return (total + count // 2) // count if count else 0


def percent(part: int, whole: int) -> int | float:
    """Two decimals; whole numbers come out as ints (``100``, as in the document's example)."""
    if not whole:
        return 0
    value = round(100.0 * part / whole, 2)
    return int(value) if value.is_integer() else value


def _time_stats(values: list[int]) -> dict[str, str]:
    if not values:
        return {k: hms(0) for k in ("min", "max", "sum", "avg")}
    total = sum(values)
    return {
        "min": hms(min(values)),
        "max": hms(max(values)),
        "sum": hms(total),
        "avg": hms(average(total, len(values))),
    }


@dataclass(frozen=True)
class Window:
    low: str
    high: str

    def __contains__(self, moment: object) -> bool:
        return isinstance(moment, str) and self.low <= moment <= self.high


@dataclass(frozen=True)
class ChatQuery:
    window: Window
    aggregate_by: str = "month"
    user_logins: frozenset[str] = frozenset()
    chat_queue_ids: frozenset[int] = frozenset()
    sum_users: bool = False
    response_threshold: int = 20


def chat_summary(chats: Iterable[Chat], q: ChatQuery) -> list[dict[str, Any]]:
    """One row per (series, user) — per series only with ``sum_users`` — sorted by series, user name,
    login so paging is stable. Chats no agent took (empty, bot-only) form the row with user_name ""."""
    groups: dict[tuple[str, str], list[Chat]] = {}
    for chat in chats:
        if chat.date not in q.window:
            continue
        if q.user_logins and chat.user_login not in q.user_logins:
            continue
        if q.chat_queue_ids and chat.chat_queue_id not in q.chat_queue_ids:
            continue
        key = (series_of(chat.date, q.aggregate_by), "" if q.sum_users else chat.user_login)
        groups.setdefault(key, []).append(chat)
    rows = []
    for (series, login), items in groups.items():
        name = "" if q.sum_users else next((c.user_name for c in items if c.user_name), "")
        rows.append(((series, name, login), _chat_row(series, name, items, q.response_threshold)))
    return [row for _, row in sorted(rows, key=lambda r: r[0])]


def _chat_row(series: str, user_name: str, chats: list[Chat], threshold: int) -> dict[str, Any]:
    counted = [c for c in chats if not c.empty]
    to_agent = [c for c in counted if c.reached_agent]
    answered = [c for c in counted if c.answered]
    in_time = sum(1 for c in answered if c.wait_seconds <= threshold)
    rated: list[str] = [c.rating for c in counted if c.rating]
    return {
        "series": series,
        "user_name": user_name,
        "incoming": len(counted),
        "incoming_to_agent": len(to_agent),
        "incoming_including_empty": len(chats),
        "abandoned": sum(1 for c in counted if c.abandoned),
        "answered": len(answered),
        "incoming_to_bot": sum(1 for c in counted if c.to_bot),
        "transferred_by_bot": sum(1 for c in counted if c.transferred_by_bot),
        "finished_by_bot": sum(1 for c in counted if c.finished_by_bot),
        "service_level_percent": percent(in_time, len(to_agent)),
        "chat_time": _time_stats([c.chat_seconds for c in answered]),
        "wait_time": _time_stats([c.wait_seconds for c in to_agent]),
        "sla_percent": percent(in_time, len(answered)),
        "rating": {
            "rate": {r: rated.count(r) for r in RATINGS},
            "satisfaction_percent": percent(rated.count("happy"), len(rated)),
            "rated_percent": percent(len(rated), len(counted)),
        },
    }


@dataclass(frozen=True)
class AgentQuery:
    window: Window
    agent_logins: frozenset[str] = frozenset()
    agent_group_ids: frozenset[int] = frozenset()
    aggregate_by: str = "month"
    queues_ids: frozenset[int] = frozenset()
    outbound_threshold: int = 0


@dataclass
class _AgentPeriod:
    calls: list[AgentCall] = field(default_factory=list)
    actions: list[AgentAction] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    pauses: list[Pause] = field(default_factory=list)


def agents_work(activity: Activity, q: AgentQuery) -> list[dict[str, Any]]:
    """One row per (period, agent) with any event in the window, sorted by period then login. Agents are
    those named in ``agent_logins`` plus the members of ``agent_group_ids``."""
    logins = set(q.agent_logins) | {
        a.login for a in activity.agents.values() if q.agent_group_ids & set(a.group_ids)
    }
    groups: dict[tuple[str, str], _AgentPeriod] = {}

    def bucket(moment: str, login: str) -> _AgentPeriod | None:
        if login not in logins or moment not in q.window:
            return None
        return groups.setdefault((series_of(moment, q.aggregate_by), login), _AgentPeriod())

    def sort_in(
        items: Iterable[Any], when: Callable[[Any], str], into: Callable[[_AgentPeriod], list[Any]]
    ) -> None:
        for item in items:
            target = bucket(when(item), item.agent_login)
            if target is not None:
                into(target).append(item)

    calls = [c for c in activity.agent_calls if not q.queues_ids or c.queue_id in q.queues_ids]
    sort_in(calls, lambda c: c.date, lambda p: p.calls)
    sort_in(activity.agent_actions, lambda a: a.date, lambda p: p.actions)
    sort_in(activity.sessions, lambda s: s.login_date, lambda p: p.sessions)
    sort_in(activity.pauses, lambda p: p.date, lambda p: p.pauses)
    return [
        _agent_row(period, activity.agents.get(login, Agent(login)), data, q.outbound_threshold)
        for (period, login), data in sorted(groups.items())
    ]


def _agent_row(period: str, agent: Agent, data: _AgentPeriod, threshold: int) -> dict[str, Any]:
    inbound = [c for c in data.calls if c.direction == "inbound"]
    answered = [c for c in inbound if c.answered]
    outbound = [c for c in data.calls if c.direction == "outbound"]
    talk = sum(c.seconds for c in answered)
    wait = sum(c.wait_seconds for c in inbound)
    closed_sessions = [s for s in data.sessions if s.logout_date]
    logged_in = sum(_seconds_between(s.login_date, s.logout_date) for s in closed_sessions)
    per_hour = round(len(answered) * 3600 / logged_in, 2) if logged_in else 0
    return {
        "agent": {"login": agent.login, "name": agent.name, "surname": agent.surname},
        "period": period,
        "inbound": {
            "count": len(inbound),
            "answered_count": len(answered),
            "not_answered_count": len(inbound) - len(answered),
            "transferred_count": sum(1 for c in inbound if c.transferred),
            "sum": hms(talk),
            "average": hms(average(talk, len(answered))),
            "wait_sum": wait,
            "wait_average": hms(average(wait, len(inbound))),
            "calls_per_hour": int(per_hour) if float(per_hour).is_integer() else per_hour,
        },
        "chat": _actions(data.actions, "chat"),
        "ticket": _actions(data.actions, "ticket")
        | {"total_responded": sum(a.responses for a in data.actions if _is(a, "ticket", "responded"))},
        "outbound_above_threshold": _calls([c for c in outbound if c.seconds > threshold]),
        "outbound_below_threshold": _calls([c for c in outbound if c.seconds <= threshold]),
        "login_date": min((s.login_date for s in data.sessions), default=""),
        "logout_date": max((s.logout_date for s in closed_sessions), default=""),
        "pauses": _pauses(data.pauses),
    }


def _is(action: AgentAction, channel: str, kind: str) -> bool:
    return action.channel == channel and action.action == kind


def _actions(actions: list[AgentAction], channel: str) -> dict[str, int]:
    return {kind: sum(1 for a in actions if _is(a, channel, kind)) for kind in ("closed", "responded")}


def _calls(calls: list[AgentCall]) -> dict[str, Any]:
    total = sum(c.seconds for c in calls)
    return {"count": len(calls), "sum": hms(total), "average": hms(average(total, len(calls)))}


def _pauses(pauses: list[Pause]) -> list[dict[str, Any]]:
    def entry(pid: int | str, chosen: list[Pause]) -> dict[str, Any]:
        total = sum(p.seconds for p in chosen)
        out: dict[str, Any] = {"id": pid, "count": len(chosen), "sum": hms(total)}
        if pid not in PAUSES_WITHOUT_AVERAGE:
            out["average"] = hms(average(total, len(chosen)))
        return out

    ids = sorted(set(PAUSE_IDS) | {p.pause_id for p in pauses if p.pause_id is not None})
    return [
        entry("all", pauses),
        entry("free", [p for p in pauses if p.pause_id is None]),
        *(entry(pid, [p for p in pauses if p.pause_id == pid]) for pid in ids),
    ]


def _seconds_between(start: str, end: str) -> int:
    delta = parse_wall_clock(end, DATE_FMT) - parse_wall_clock(start, DATE_FMT)
    return max(0, int(delta.total_seconds()))
