"""Thulium's and Wolkvox's report rows → rows of the activity tables, or a rejection with the row's key
and the reason. Pure: no I/O, so every odd shape the vendors send is pinned by unit tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from syncd.engine.activity.periods import seconds_of
from syncd.engine.wallclock import parse_wall_clock
from syncd.errors import Skippable

Row = dict[str, Any]
CHANNELS = ("facebook", "instagram", "web", "whatsapp")


@dataclass(frozen=True)
class Rejected:
    key: str
    reason: str


def text(value: object) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def integer(value: object) -> int | None:
    """Counts and ids arrive as ints or as strings of digits; ``""`` means none."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError("is a yes/no value, not a number")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise ValueError("is not a whole number")


def number(value: object) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError("is a yes/no value, not a number")
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError("is not a number") from None


def moment(value: object) -> datetime | None:
    """``YYYY-MM-DD HH:MM`` (connections) or ``YYYY-MM-DD HH:MM:SS``."""
    raw = text(value)
    if raw is None:
        return None
    for layout in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return parse_wall_clock(raw, layout)
        except ValueError:
            continue
    raise ValueError('is not a date "YYYY-MM-DD HH:MM[:SS]"')


def converted(key: str, build: Callable[[], Row]) -> Row | Rejected:
    """Run one row's conversion; a value that does not fit rejects that row alone, naming the field."""
    try:
        return build()
    except FieldError as exc:
        return Rejected(key, str(exc))


class FieldError(ValueError, Skippable):
    """One field of one activity record cannot be stored; the record is rejected, the run goes on."""


def field(raw: Mapping[str, Any], path: str, convert: Callable[[object], Any]) -> Any:
    """``raw["a"]["b"]`` for ``"a.b"``, converted; a missing part is None. Errors name the field, never the
    value (report rows carry phone numbers)."""
    value: Any = raw
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    try:
        return convert(value)
    except ValueError as exc:
        raise FieldError(f"{path}: {exc}") from None


def duration(value: object) -> int | None:
    if value is None or value == "":
        return None
    return seconds_of(value)


# -- connections ---------------------------------------------------------------------------------------


def connection_row(raw: Mapping[str, Any]) -> Row | Rejected:
    key = text(raw.get("connection_id")) if isinstance(raw, Mapping) else None
    if key is None:
        return Rejected("(no connection_id)", "connection_id: missing")

    def build() -> Row:
        date = field(raw, "date", moment)
        if date is None:
            raise FieldError("date: missing")
        return {
            "connection_id": key,
            "date": date,
            "type": field(raw, "type", text),
            "disposition": field(raw, "disposition", text),
            "src": field(raw, "src", text),
            "dst": field(raw, "dst", text),
            "duration": field(raw, "duration", integer),
            "billsec": field(raw, "billsec", integer),
            "user_login": field(raw, "user_login", text),
            "user_name": field(raw, "user", text),
            "dst_user_login": field(raw, "dst_user_login", text),
            "customer_id": field(raw, "customer_id", integer),
            "outbound_id": field(raw, "outbound_id", text),
            "queue_id": field(raw, "queue_id", integer),
            "topic_id": field(raw, "topic_id", text),
            "tags": json.dumps(sorted(str(t) for t in raw.get("tags") or []), ensure_ascii=False),
            "disconnected_by": field(raw, "disconnected_by", text),
            "transferred_to": field(raw, "transferred_to", text),
            "rating_type": field(raw, "rating.type", text),
            "rating_rate": field(raw, "rating.rate", text),
            "filename": field(raw, "filename", text),
            "operator": field(raw, "operator", text),
        }

    return converted(key, build)


# -- chats summary -------------------------------------------------------------------------------------

CHAT_COUNTS = (
    "incoming",
    "incoming_to_agent",
    "incoming_including_empty",
    "abandoned",
    "answered",
    "incoming_to_bot",
    "transferred_by_bot",
    "finished_by_bot",
)
STATS = ("min", "max", "sum", "avg")


def chats_summary_row(raw: Mapping[str, Any], aggregate_by: str, agent_login: str = "") -> Row | Rejected:
    """A chat report row names its agent by display name only, and two agents may share one, so it is
    keyed by the login it was asked for (``user_logins[]``); ``""`` is the row of chats no agent took."""
    period = text(raw.get("series")) if isinstance(raw, Mapping) else None
    user = (text(raw.get("user_name")) or "") if isinstance(raw, Mapping) else ""
    if period is None:
        return Rejected(f"(no series)|{agent_login}", "series: missing")

    def build() -> Row:
        row: Row = {"aggregate_by": aggregate_by, "period": period, "agent_login": agent_login}
        row["user_name"] = user
        row.update({name: field(raw, name, integer) for name in CHAT_COUNTS})
        for name in ("chat_time", "wait_time"):
            row.update({f"{name}_{stat}_s": field(raw, f"{name}.{stat}", duration) for stat in STATS})
        row["service_level_percent"] = field(raw, "service_level_percent", number)
        row["sla_percent"] = field(raw, "sla_percent", number)
        for rate in ("sad", "neutral", "happy"):
            row[f"rating_{rate}"] = field(raw, f"rating.rate.{rate}", integer)
        row["satisfaction_percent"] = field(raw, "rating.satisfaction_percent", number)
        row["rated_percent"] = field(raw, "rating.rated_percent", number)
        return row

    return converted(f"{period}|{agent_login}", build)


# -- agents' work --------------------------------------------------------------------------------------


def agents_work_row(raw: Mapping[str, Any], aggregate_by: str) -> Row | Rejected:
    period = text(raw.get("period")) if isinstance(raw, Mapping) else None
    login = field(raw, "agent.login", text) if isinstance(raw, Mapping) else None
    if period is None or login is None:
        missing = "period" if period is None else "agent.login"
        return Rejected(f"{period or '(no period)'}|{login or '(no login)'}", f"{missing}: missing")

    def build() -> Row:
        row: Row = {"aggregate_by": aggregate_by, "period": period, "agent_login": login}
        row["agent_name"] = field(raw, "agent.name", text)
        row["agent_surname"] = field(raw, "agent.surname", text)
        for name in ("count", "answered_count", "not_answered_count", "transferred_count"):
            row[f"inbound_{name}"] = field(raw, f"inbound.{name}", integer)
        row["inbound_sum_s"] = field(raw, "inbound.sum", duration)
        row["inbound_average_s"] = field(raw, "inbound.average", duration)
        row["inbound_wait_sum_s"] = field(raw, "inbound.wait_sum", duration)
        row["inbound_wait_average_s"] = field(raw, "inbound.wait_average", duration)
        row["inbound_calls_per_hour"] = field(raw, "inbound.calls_per_hour", number)
        for group, names in (("chat", ("closed", "responded")), ("ticket", ("closed", "responded"))):
            row.update({f"{group}_{name}": field(raw, f"{group}.{name}", integer) for name in names})
        row["ticket_total_responded"] = field(raw, "ticket.total_responded", integer)
        for side in ("above", "below"):
            part = f"outbound_{side}_threshold"
            row[f"outbound_{side}_count"] = field(raw, f"{part}.count", integer)
            row[f"outbound_{side}_sum_s"] = field(raw, f"{part}.sum", duration)
            row[f"outbound_{side}_average_s"] = field(raw, f"{part}.average", duration)
        row["login_date"] = field(raw, "login_date", moment)
        row["logout_date"] = field(raw, "logout_date", moment)
        row["pauses"] = json.dumps(pauses(raw.get("pauses")), sort_keys=True)
        return row

    return converted(f"{period}|{login}", build)


def pauses(raw: object) -> dict[str, dict[str, int | None]]:
    """Pause totals by pause id, durations in seconds."""
    result: dict[str, dict[str, int | None]] = {}
    for entry in raw if isinstance(raw, list) else []:
        if not isinstance(entry, Mapping):
            raise FieldError("pauses: an entry is not an object")
        name = str(entry.get("id"))
        result[name] = {
            "count": field(entry, "count", integer),
            "sum_s": field(entry, "sum", duration),
            "average_s": field(entry, "average", duration),
        }
    return result


# -- Wolkvox -------------------------------------------------------------------------------------------


def wolkvox_rows(window: tuple[datetime, datetime], data: object) -> list[Row | Rejected]:
    """chat_13's ``data`` (``chanel`` sic, counts as strings) → one row per channel of the window; a
    channel the answer leaves out had no closed chats."""
    start, end = window
    found: dict[str, Row | Rejected] = {}
    for entry in data if isinstance(data, list) else []:
        channel = text(entry.get("chanel") or entry.get("channel")) if isinstance(entry, Mapping) else None
        key = f"{start:%Y%m%d%H%M%S}|{channel}"
        if channel is None:
            found[key] = Rejected(key, "chanel: missing")
            continue
        found[channel] = converted(key, channel_row(start, end, channel, entry.get("interaction")))
    for channel in CHANNELS:
        found.setdefault(
            channel, {"window_start": start, "window_end": end, "channel": channel, "interactions": 0}
        )
    return list(found.values())


def channel_row(start: datetime, end: datetime, channel: str, count: object) -> Callable[[], Row]:
    def build() -> Row:
        interactions = field({"interaction": count}, "interaction", integer) or 0
        return {"window_start": start, "window_end": end, "channel": channel, "interactions": interactions}

    return build
