"""Vendor rows → table rows: every odd shape is rejected alone, with its key and a reason naming the field."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from syncd.engine.activity.convert import (
    Rejected,
    agents_work_row,
    chats_summary_row,
    connection_row,
    wolkvox_rows,
)
from syncd.engine.activity.periods import day_spans, period_start, seconds_of
from syncd.engine.wallclock import wall_clock

CONNECTION = {
    "date": "2014-07-07 11:08",
    "src": "123123",
    "dst": "1234",
    "disposition": "ANSWERED",
    "duration": 129,
    "billsec": "104",
    "user": "Bob Smith",
    "user_login": "bob_smith",
    "customer_id": 123456,
    "outbound_id": "",
    "connection_id": "1416225570.341",
    "type": "INBOUND",
    "rating": {"type": "face", "rate": "happy"},
    "queue_id": 34,
    "tags": ["tag2", "tag1"],
    "disconnected_by": "Agent",
}


def test_a_documented_connection_becomes_a_row() -> None:
    row = connection_row(CONNECTION)
    assert not isinstance(row, Rejected)
    assert row["date"] == wall_clock(2014, 7, 7, 11, 8)
    assert (row["duration"], row["billsec"], row["customer_id"], row["queue_id"]) == (129, 104, 123456, 34)
    assert row["outbound_id"] is None  # "" means none
    assert row["rating_rate"] == "happy"
    assert json.loads(row["tags"]) == ["tag1", "tag2"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"date": "yesterday"}, "date: is not a date"),
        ({"date": None}, "date: missing"),
        ({"duration": "12 s"}, "duration: is not a whole number"),
        ({"customer_id": True}, "customer_id: is a yes/no value"),
    ],
)
def test_a_connection_that_does_not_fit_is_rejected_with_its_key(
    change: dict[str, object], reason: str
) -> None:
    row = connection_row({**CONNECTION, **change})
    assert isinstance(row, Rejected)
    assert row.key == "1416225570.341"
    assert row.reason.startswith(reason)
    assert "123123" not in row.reason  # reasons never carry values (phone numbers)


def test_a_connection_without_an_id_cannot_be_stored() -> None:
    row = connection_row({**CONNECTION, "connection_id": ""})
    assert isinstance(row, Rejected)
    assert row.reason == "connection_id: missing"


def test_chat_summary_durations_become_seconds() -> None:
    raw = {
        "series": "2021-12-01",
        "user_name": "John Doe",
        "incoming": 3,
        "answered": "2",
        "service_level_percent": 100,
        "chat_time": {"min": "00:00:48", "max": "27:03:10", "sum": "27:04:00", "avg": "00:01:00"},
        "wait_time": {"min": "00:00:00", "max": "00:00:05", "sum": "00:00:05", "avg": "00:00:02"},
        "sla_percent": 50.5,
        "rating": {
            "rate": {"sad": 0, "neutral": 1, "happy": 2},
            "satisfaction_percent": 66.7,
            "rated_percent": 100,
        },
    }
    row = chats_summary_row(raw, "day", "jdoe")
    assert not isinstance(row, Rejected)
    assert (row["period"], row["user_name"], row["aggregate_by"]) == ("2021-12-01", "John Doe", "day")
    assert row["agent_login"] == "jdoe"  # the login it was read for: a display name is not unique
    assert row["chat_time_max_s"] == 27 * 3600 + 3 * 60 + 10
    assert row["wait_time_sum_s"] == 5
    assert (row["incoming"], row["answered"], row["rating_happy"], row["sla_percent"]) == (3, 2, 2, 50.5)
    bad = chats_summary_row({**raw, "chat_time": {"sum": "1:2"}}, "day", "jdoe")
    assert isinstance(bad, Rejected)
    assert bad.key == "2021-12-01|jdoe"
    assert bad.reason == 'chat_time.sum: is not a duration "HH:MM:SS"'


def test_agents_work_rows_are_keyed_by_period_and_login() -> None:
    raw = {
        "agent": {"login": "jkowalski", "name": "Janko", "surname": "Walski"},
        "period": "2019-12",
        "inbound": {
            "count": 4,
            "answered_count": 3,
            "sum": "01:00:00",
            "wait_sum": 75,
            "calls_per_hour": 1.5,
        },
        "chat": {"closed": 2, "responded": 1},
        "ticket": {"closed": 0, "responded": 0, "total_responded": 0},
        "outbound_above_threshold": {"count": 1, "sum": "00:02:00", "average": "00:02:00"},
        "outbound_below_threshold": {"count": 0, "sum": "00:00:00", "average": "00:00:00"},
        "login_date": "2019-12-01 09:00:18",
        "logout_date": "2019-12-25 10:45:02",
        "pauses": [
            {"id": "all", "count": 2, "sum": "00:10:00", "average": "00:05:00"},
            {"id": 3, "count": 0, "sum": "00:00:00"},
        ],
    }
    row = agents_work_row(raw, "month")
    assert not isinstance(row, Rejected)
    assert (row["period"], row["agent_login"], row["inbound_sum_s"], row["inbound_wait_sum_s"]) == (
        "2019-12",
        "jkowalski",
        3600,
        75,
    )
    assert row["outbound_above_sum_s"] == 120
    assert row["login_date"] == wall_clock(2019, 12, 1, 9, 0, 18)
    assert json.loads(row["pauses"])["all"] == {"count": 2, "sum_s": 600, "average_s": 300}
    missing = agents_work_row({**raw, "agent": {}}, "month")
    assert isinstance(missing, Rejected)
    assert missing.reason == "agent.login: missing"


def test_wolkvox_counts_are_integers_for_every_channel() -> None:
    window = (wall_clock(2026, 11, 1), wall_clock(2026, 11, 1, 23, 59, 59))
    rows = wolkvox_rows(
        window, [{"chanel": "whatsapp", "interaction": "12"}, {"chanel": "web", "interaction": ""}]
    )
    by_channel = {row["channel"]: row["interactions"] for row in rows if isinstance(row, dict)}
    assert by_channel == {"whatsapp": 12, "web": 0, "facebook": 0, "instagram": 0}
    bad = wolkvox_rows(window, [{"chanel": "web", "interaction": "many"}])
    assert any(isinstance(r, Rejected) and r.key == "20261101000000|web" for r in bad)


@pytest.mark.parametrize(
    ("aggregate_by", "start"),
    [
        ("minute", wall_clock(2026, 11, 25, 13, 7)),
        ("hour", wall_clock(2026, 11, 25, 13)),
        ("day", wall_clock(2026, 11, 25)),
        ("week", wall_clock(2026, 11, 23)),  # a Monday
        ("month", wall_clock(2026, 11, 1)),
        ("year", wall_clock(2026, 1, 1)),
    ],
)
def test_period_start(aggregate_by: str, start: datetime) -> None:
    assert period_start(wall_clock(2026, 11, 25, 13, 7, 42), aggregate_by) == start


def test_windows_cut_at_midnight_and_durations() -> None:
    windows = list(day_spans(wall_clock(2026, 11, 1, 22), wall_clock(2026, 11, 3, 1, 30)))
    assert windows == [
        (wall_clock(2026, 11, 1, 22), wall_clock(2026, 11, 2)),
        (wall_clock(2026, 11, 2), wall_clock(2026, 11, 3)),
        (wall_clock(2026, 11, 3), wall_clock(2026, 11, 3, 1, 30)),
    ]
    assert list(day_spans(wall_clock(2026, 11, 3), wall_clock(2026, 11, 3))) == []
    assert seconds_of("100:00:01") == 360001
    assert seconds_of(75) == 75
    for bad in ("00:61:00", "1:2", "", True, -1):
        with pytest.raises(ValueError, match=r"not a duration|is negative"):
            seconds_of(bad)
