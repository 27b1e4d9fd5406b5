"""A rule query's rows as the planner wants them: checked one by one, bad ones rejected with a reason.

A rule may return, besides ``key``, per-row ``status_id``, ``order``, ``next_call_date`` and
``agent_login``. Thulium answers a bad value with a 400 for the record, or — worse — accepts
a status that needs a date and leaves the record stuck, so the row is judged here against the
campaign's statuses before anything is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from syncd.engine.campaigns.plan import Wanted
from syncd.engine.wallclock import parse_wall_clock

THULIUM_DATE = "%Y-%m-%d %H:%M"
NEEDS_DATE = frozenset({"MY_RECORD", "CALL_NO_SOONER_THAN"})
NEEDS_AGENT = frozenset({"MY_RECORD"})
MAX_ORDER = 99999


@dataclass(frozen=True, slots=True)
class RowRejected:
    key: str
    reason: str


@dataclass(frozen=True, slots=True)
class RuleRows:
    wanted: list[Wanted]
    rejected: list[RowRejected]


def parse_rule_rows(
    rows: Iterable[Mapping[str, Any]], statuses: Mapping[int, str], initial_status_id: int | None
) -> RuleRows:
    """``statuses`` maps the campaign's status ids to their system status."""
    wanted: list[Wanted] = []
    rejected: list[RowRejected] = []
    for row in rows:
        key = _key(row.get("key"))
        if key is None:
            rejected.append(RowRejected("", "the rule returned a row without a key"))
            continue
        try:
            wanted.append(parse_row(key, row, statuses, initial_status_id))
        except ValueError as exc:
            rejected.append(RowRejected(key, str(exc)))
    return RuleRows(wanted, rejected)


def parse_row(
    key: str, row: Mapping[str, Any], statuses: Mapping[int, str], initial_status_id: int | None
) -> Wanted:
    status_id = _int(row.get("status_id"), "status_id")
    if status_id is not None and status_id not in statuses:
        raise ValueError(f"status_id {status_id} is not a status of this campaign")
    order = _int(row.get("order"), "order")
    if order is not None and not 1 <= order <= MAX_ORDER:
        raise ValueError(f"order must be between 1 and {MAX_ORDER}, got {order}")
    wanted = Wanted(
        key,
        status_id=status_id,
        order=order,
        next_call_date=_when(row.get("next_call_date")),
        agent_login=_text(row.get("agent_login")),
    )
    system_status = statuses.get(wanted.fields(initial_status_id).get("status_id", -1))
    if system_status in NEEDS_DATE and wanted.next_call_date is None:
        raise ValueError(f"a {system_status} status needs next_call_date")
    if system_status in NEEDS_AGENT and wanted.agent_login is None:
        raise ValueError(f"a {system_status} status needs agent_login")
    return wanted


def _key(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _int(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None
    return number


def _when(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.strftime(THULIUM_DATE)
    if isinstance(value, date):
        return f"{value.isoformat()} 00:00"
    text = str(value).strip()
    for pattern in (THULIUM_DATE, "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"):
        try:
            return parse_wall_clock(text, pattern).strftime(THULIUM_DATE)
        except ValueError:
            continue
    raise ValueError(f"next_call_date must be a date-time like 2026-12-01 10:30, got {text[:30]!r}")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
