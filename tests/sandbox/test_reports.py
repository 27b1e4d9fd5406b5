"""chats/reports/summary and agents_work_report over real HTTP, checked against the raw events they are
computed from; the activity generator's determinism and additivity."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import httpx
import pytest

from syncd.sandbox import SandboxProcess
from tests.sandbox.conftest import assert_error_body

DAY = "2024-03-04"
NEXT_DAY = "2024-03-05"
HMS = re.compile(r"^\d{2,}:[0-5]\d:[0-5]\d$")
CHAT = "chats/reports/summary"
WORK = "agents_work_report"
CHAT_KEYS = {
    "series",
    "user_name",
    "incoming",
    "incoming_to_agent",
    "incoming_including_empty",
    "abandoned",
    "answered",
    "incoming_to_bot",
    "transferred_by_bot",
    "finished_by_bot",
    "service_level_percent",
    "chat_time",
    "wait_time",
    "sla_percent",
    "rating",
}
WORK_KEYS = {
    "agent",
    "period",
    "inbound",
    "chat",
    "ticket",
    "outbound_above_threshold",
    "outbound_below_threshold",
    "login_date",
    "logout_date",
    "pauses",
}
INBOUND_KEYS = {
    "count",
    "answered_count",
    "not_answered_count",
    "transferred_count",
    "sum",
    "average",
    "wait_sum",
    "wait_average",
    "calls_per_hour",
}
CONNECTION_KEYS = {
    "date",
    "src",
    "dst",
    "disposition",
    "duration",
    "billsec",
    "operator",
    "filename",
    "user",
    "user_login",
    "dst_user",
    "dst_user_login",
    "customer_id",
    "outbound_id",
    "connection_id",
    "type",
    "queue_id",
    "topic_id",
    "tags",
    "disconnected_by",
    "transferred_to",
}
ALL_AGENTS = {"agent_group_ids[]": ["1", "2"]}


def _get(api: httpx.Client, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    resp = api.get(path, params=params)
    assert resp.status_code == 200, resp.text
    rows: list[dict[str, Any]] = resp.json()
    assert isinstance(rows, list)
    return rows


def _all_pages(api: httpx.Client, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        chunk = _get(api, path, {**params, "limit": 100, "offset": len(rows)})
        rows += chunk
        if len(chunk) < 100:
            return rows


def _connections(api: httpx.Client, **params: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        body = api.get("connections", params={**params, "limit": 100, "offset": len(out)}).json()
        out += body["result"]
        if len(out) >= body["count"]:
            return out


# ---------------------------------------------------------------------------------------------- generator
def test_generated_connections_have_the_documented_shape(api: httpx.Client, sandbox: SandboxProcess) -> None:
    ids = [
        int(
            api.post("customers", json={"surname": f"C{i}", "phone_number": f"60010020{i}"}).json()[
                "customer_id"
            ]
        )
        for i in range(3)
    ]
    added = sandbox.control.generate_activity(DAY, per_day=40, seed=3)
    assert added["connections"] == 40
    assert added["chats"] == 40
    assert added["agent_calls"] > 0
    conns = _connections(api, date_from=DAY, date_to=DAY)
    assert len(conns) == 40
    for conn in conns:
        assert set(conn) == CONNECTION_KEYS
        assert re.match(r"^2024-03-04 \d{2}:\d{2}$", conn["date"])
        assert conn["disposition"] in {"ANSWERED", "BUSY", "FAILED", "NO ANSWER"}
        assert conn["type"] in {"INBOUND", "OUTBOUND"}
        assert isinstance(conn["queue_id"], int)
        assert isinstance(conn["duration"], int)
        assert isinstance(conn["billsec"], int)
        assert conn["disconnected_by"] in {"Agent", "Customer"}
        assert conn["outbound_id"] == ""
        assert re.match(r"^\d{10}\.\d+$", conn["connection_id"])
        assert conn["customer_id"] in [*ids, ""]
    assert len({c["connection_id"] for c in conns}) == 40
    assert {c["customer_id"] for c in conns} > {""}
    assert "" in {c["customer_id"] for c in conns}
    assert {c["type"] for c in conns} == {"INBOUND", "OUTBOUND"}
    # The agents' side of each handled call points at its connection.
    by_id = {c["connection_id"]: c for c in conns}
    for call in sandbox.control.activity()["agent_calls"]:
        conn = by_id[call["connection_id"]]
        assert conn["user_login"] == call["agent_login"]
        assert conn["billsec"] == call["seconds"]


def test_without_customers_connections_have_no_customer(api: httpx.Client, sandbox: SandboxProcess) -> None:
    sandbox.control.generate_activity(DAY, per_day=10, seed=1)
    assert {c["customer_id"] for c in _connections(api)} == {""}


def test_generation_is_deterministic(sandbox: SandboxProcess) -> None:
    ctl = sandbox.control
    ctl.generate_activity(DAY, days=2, per_day=25, seed=11)
    first = (ctl.activity(), ctl.state()["connections"])
    ctl.reset()
    ctl.generate_activity(DAY, days=2, per_day=25, seed=11)
    assert (ctl.activity(), ctl.state()["connections"]) == first
    ctl.reset()
    ctl.generate_activity(DAY, days=2, per_day=25, seed=12)
    assert ctl.activity()["chats"] != first[0]["chats"]


def test_a_later_day_adds_that_day_only(sandbox: SandboxProcess) -> None:
    ctl = sandbox.control
    ctl.generate_activity(DAY, per_day=30, seed=5)
    before, conns_before = ctl.activity(), ctl.state()["connections"]
    added = ctl.generate_activity(NEXT_DAY, per_day=30, seed=5)
    after, conns_after = ctl.activity(), ctl.state()["connections"]
    assert conns_after[: len(conns_before)] == conns_before
    new_conns = conns_after[len(conns_before) :]
    assert len(new_conns) == added["connections"] == 30
    assert all(c["date"].startswith(NEXT_DAY) for c in new_conns)
    assert len({c["connection_id"] for c in conns_after}) == len(conns_after)
    for kind, date_key in (("chats", "date"), ("agent_calls", "date"), ("sessions", "login_date")):
        assert after[kind][: len(before[kind])] == before[kind]
        new = after[kind][len(before[kind]) :]
        assert len(new) == added[kind] > 0
        assert all(e[date_key].startswith(NEXT_DAY) for e in new)
    # Day by day is the same as both days at once (only connection ids are a running counter).
    ctl.reset()
    ctl.generate_activity(DAY, days=2, per_day=30, seed=5)
    assert ctl.activity() == after


def test_until_leaves_the_day_open(api: httpx.Client, sandbox: SandboxProcess) -> None:
    until = f"{DAY} 12:00:00"
    sandbox.control.generate_activity(DAY, per_day=60, seed=2, until=until)
    act = sandbox.control.activity()
    assert act["chats"]
    assert all(c["date"] <= until for c in act["chats"])
    assert all(c["date"] <= until for c in act["agent_calls"] + act["agent_actions"] + act["pauses"])
    assert all(c["date"] <= until[:16] for c in _connections(api))
    assert act["sessions"]
    assert all(s["logout_date"] == "" for s in act["sessions"])
    rows = _get(api, WORK, {**ALL_AGENTS, "date_from": DAY, "date_to": DAY, "aggregate_by": "day"})
    assert rows
    assert all(r["logout_date"] == "" and r["login_date"].startswith(DAY) for r in rows)


def test_generate_rejects_bad_input(sandbox: SandboxProcess) -> None:
    for body in ({"days": 1}, {"date_from": "04.03.2024"}, {"date_from": DAY, "days": 0}):
        assert httpx.post(f"{sandbox.base_url}/_sandbox/activity/generate", json=body).status_code == 400
    bad = httpx.post(f"{sandbox.base_url}/_sandbox/activity/events", json={"chats": [{"date": "yesterday"}]})
    assert bad.status_code == 400
    assert sandbox.control.activity()["chats"] == []


# ---------------------------------------------------------------------------------------------- chats
def test_chat_summary_shape(api: httpx.Client, sandbox: SandboxProcess) -> None:
    sandbox.control.generate_activity(DAY, days=2, per_day=50, seed=4)
    rows = _get(api, CHAT, {"date_from": DAY, "date_to": NEXT_DAY, "aggregate_by": "day"})
    assert rows
    assert {r["series"] for r in rows} == {DAY, NEXT_DAY}
    for row in rows:
        assert set(row) == CHAT_KEYS
        for key in ("chat_time", "wait_time"):
            assert set(row[key]) == {"min", "max", "sum", "avg"}
            assert all(HMS.match(v) for v in row[key].values())
        assert set(row["rating"]) == {"rate", "satisfaction_percent", "rated_percent"}
        assert set(row["rating"]["rate"]) == {"sad", "neutral", "happy"}
        assert all(
            isinstance(row[k], int)
            for k in CHAT_KEYS
            - {"series", "user_name", "chat_time", "wait_time"}
            - {"rating", "service_level_percent", "sla_percent"}
        )
    assert [(r["series"], r["user_name"]) for r in rows] == sorted(
        (r["series"], r["user_name"]) for r in rows
    )
    assert "" in {r["user_name"] for r in rows}  # chats no agent took (empty, finished by the bot)
    month = _get(api, CHAT, {"date_from": DAY, "date_to": NEXT_DAY, "sum_users": "true"})
    assert [(r["series"], r["user_name"]) for r in month] == [("2024-03", "")]


def _expected_chats(chats: list[dict[str, Any]], key_len: int, sum_users: bool) -> dict[tuple[str, str], Any]:
    out: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for c in chats:
        row = out[(c["date"][:key_len], "" if sum_users else c["user_name"])]
        row["incoming_including_empty"] += 1
        row["incoming"] += not c["empty"]
        row["answered"] += c["answered"]
        row["abandoned"] += c["abandoned"]
        row["incoming_to_bot"] += c["to_bot"]
        row["finished_by_bot"] += c["finished_by_bot"]
        row["chat_seconds"] += c["chat_seconds"] if c["answered"] else 0
        row["happy"] += c["rating"] == "happy"
    return out


def _hms_seconds(text: str) -> int:
    h, m, s = (int(x) for x in text.split(":"))
    return h * 3600 + m * 60 + s


@pytest.mark.parametrize(("aggregate_by", "key_len", "sum_users"), [("day", 10, False), ("month", 7, True)])
def test_chat_summary_matches_the_raw_chats(
    api: httpx.Client, sandbox: SandboxProcess, aggregate_by: str, key_len: int, sum_users: bool
) -> None:
    sandbox.control.generate_activity("2024-02-27", days=5, per_day=40, seed=9)  # crosses a month end
    chats = sandbox.control.activity()["chats"]
    params = {"date_from": "2024-02-27", "date_to": "2024-03-02", "aggregate_by": aggregate_by}
    rows = _all_pages(api, CHAT, {**params, "sum_users": str(sum_users).lower()})
    expected = _expected_chats(chats, key_len, sum_users)
    assert {(r["series"], r["user_name"]) for r in rows} == set(expected)
    for row in rows:
        want = expected[(row["series"], row["user_name"])]
        for key in ("incoming_including_empty", "incoming", "answered", "abandoned", "incoming_to_bot"):
            assert row[key] == want[key], (row, key)
        assert row["finished_by_bot"] == want["finished_by_bot"]
        assert _hms_seconds(row["chat_time"]["sum"]) == want["chat_seconds"]
        assert row["rating"]["rate"]["happy"] == want["happy"]
    assert sum(r["incoming_including_empty"] for r in rows) == len(chats)


def test_chat_summary_exact_figures_and_filters(api: httpx.Client, sandbox: SandboxProcess) -> None:
    t = f"{DAY} 10:00:00"
    base = {"date": t, "user_login": "anna.nowak", "chat_queue_id": 1}
    sandbox.control.add_activity(
        chats=[
            {**base, "answered": True, "chat_seconds": 48, "wait_seconds": 10, "rating": "happy"},
            {**base, "answered": True, "chat_seconds": 3700, "wait_seconds": 30, "rating": "sad"},
            {**base, "abandoned": True, "wait_seconds": 50},
            {
                **base,
                "chat_queue_id": 2,
                "answered": True,
                "chat_seconds": 60,
                "to_bot": True,
                "transferred_by_bot": True,
            },
            {"date": t, "to_bot": True, "finished_by_bot": True},
            {"date": t, "empty": True},
            {"date": f"{NEXT_DAY} 00:00:00", "user_login": "anna.nowak", "answered": True},
        ]
    )
    rows = _get(api, CHAT, {"date_from": DAY, "date_to": DAY, "aggregate_by": "day"})
    assert [r["user_name"] for r in rows] == ["", "Anna Nowak"]
    anna = rows[1]
    assert anna == {
        "series": DAY,
        "user_name": "Anna Nowak",
        "incoming": 4,
        "incoming_to_agent": 4,
        "incoming_including_empty": 4,
        "abandoned": 1,
        "answered": 3,
        "incoming_to_bot": 1,
        "transferred_by_bot": 1,
        "finished_by_bot": 0,
        "service_level_percent": 50,  # answered within 20 s (10 s, 0 s) of the 4 that reached an agent
        "chat_time": {"min": "00:00:48", "max": "01:01:40", "sum": "01:03:28", "avg": "00:21:09"},
        "wait_time": {"min": "00:00:00", "max": "00:00:50", "sum": "00:01:30", "avg": "00:00:23"},
        "sla_percent": 66.67,
        "rating": {
            "rate": {"sad": 1, "neutral": 0, "happy": 1},
            "satisfaction_percent": 50,
            "rated_percent": 50,
        },
    }
    bot = rows[0]
    assert (bot["incoming"], bot["incoming_including_empty"], bot["incoming_to_agent"]) == (1, 2, 0)
    assert bot["finished_by_bot"] == 1
    assert bot["chat_time"]["avg"] == "00:00:00"
    wide = _get(
        api, CHAT, {"date_from": DAY, "date_to": DAY, "response_threshold": 30, "user_logins[]": "anna.nowak"}
    )
    assert [(r["series"], r["sla_percent"], r["service_level_percent"]) for r in wide] == [
        ("2024-03", 100, 75)
    ]
    queue2 = _get(api, CHAT, {"date_from": DAY, "date_to": DAY, "chat_queue_ids[]": ["2"]})
    assert [(r["user_name"], r["incoming"]) for r in queue2] == [("Anna Nowak", 1)]
    minute = _get(
        api, CHAT, {"date_from": f"{DAY} 10:00", "date_to": f"{DAY} 10:00", "aggregate_by": "minute"}
    )
    assert {r["series"] for r in minute} == {f"{DAY} 10:00"}
    assert _get(api, CHAT, {"date_from": f"{DAY} 10:00:01", "date_to": NEXT_DAY, "user_logins[]": "x"}) == []


def test_series_formats(api: httpx.Client, sandbox: SandboxProcess) -> None:
    sandbox.control.add_activity(chats=[{"date": "2021-12-01 13:05:09", "answered": True}])
    expected = {
        "year": "2021",
        "month": "2021-12",
        "week": "2021-W48",
        "day": "2021-12-01",
        "hour": "2021-12-01 13",
        "minute": "2021-12-01 13:05",
        "hour_of_day": "13",
    }
    for aggregate_by, series in expected.items():
        rows = _get(
            api, CHAT, {"date_from": "2021-12-01", "date_to": "2021-12-01", "aggregate_by": aggregate_by}
        )
        assert [r["series"] for r in rows] == [series]


def test_reports_require_their_parameters(api: httpx.Client, sandbox: SandboxProcess) -> None:
    ok = {"date_from": DAY, "date_to": DAY}
    for path, extra in ((CHAT, {}), (WORK, ALL_AGENTS)):
        assert_error_body(
            api.get(path, params={"date_to": DAY, **extra}), 400, "Parameter date_from is required."
        )
        assert_error_body(
            api.get(path, params={"date_from": DAY, **extra}), 400, "Parameter date_to is required."
        )
        assert_error_body(api.get(path, params={**ok, "date_from": "2024-3-4", **extra}), 400)
        assert_error_body(api.get(path, params={**ok, "date_to": "2024-03-04T10:00", **extra}), 400)
        assert_error_body(api.get(path, params={**ok, "date_from": NEXT_DAY, **extra}), 400)
        assert_error_body(api.get(path, params={**ok, "aggregate_by": "quarter", **extra}), 400)
        assert_error_body(
            api.get(path, params={**ok, "limit": 101, **extra}), 400, "Limit must be between 1 and 100."
        )
        assert api.get(path, params={**ok, "limit": 100, **extra}).json() == []
    assert_error_body(api.get(WORK, params=ok), 400, "Parameter agent_logins or agent_group_ids is required.")
    assert_error_body(api.get(CHAT, params={**ok, "chat_queue_ids[]": "x"}), 400)


# ---------------------------------------------------------------------------------------------- agents
def test_agents_work_report_exact_row(api: httpx.Client, sandbox: SandboxProcess) -> None:
    login = "jan.kowalski"
    calls = [
        {"date": f"{DAY} 09:00:00", "seconds": 50000, "wait_seconds": 10, "transferred": True, "queue_id": 1},
        {"date": f"{DAY} 10:00:00", "seconds": 47390, "wait_seconds": 20, "queue_id": 2},
        {"date": f"{DAY} 11:00:00", "answered": False, "wait_seconds": 31, "queue_id": 1},
        {"date": f"{DAY} 12:00:00", "direction": "outbound", "seconds": 0},
        {"date": f"{DAY} 12:30:00", "direction": "outbound", "seconds": 120},
        {"date": f"{DAY} 13:00:00", "direction": "outbound", "seconds": 30},
    ]
    sandbox.control.add_activity(
        agent_calls=[{**c, "agent_login": login} for c in calls],
        agent_actions=[
            {"date": f"{DAY} 09:10:00", "agent_login": login, "channel": "chat", "action": "responded"},
            {"date": f"{DAY} 09:20:00", "agent_login": login, "channel": "chat", "action": "closed"},
            {
                "date": f"{DAY} 09:30:00",
                "agent_login": login,
                "channel": "ticket",
                "action": "responded",
                "responses": 3,
            },
            {"date": f"{DAY} 09:40:00", "agent_login": login, "channel": "ticket", "action": "responded"},
            {"date": f"{DAY} 09:50:00", "agent_login": login, "channel": "ticket", "action": "closed"},
        ],
        sessions=[
            {"agent_login": login, "login_date": f"{DAY} 08:00:18", "logout_date": f"{DAY} 12:00:18"},
            {"agent_login": login, "login_date": f"{DAY} 13:00:00", "logout_date": f"{DAY} 13:00:00"},
        ],
        pauses=[
            {"date": f"{DAY} 10:30:00", "agent_login": login, "seconds": 600, "pause_id": 1},
            {"date": f"{DAY} 11:30:00", "agent_login": login, "seconds": 300, "pause_id": 1},
            {"date": f"{DAY} 11:45:00", "agent_login": login, "seconds": 61},
            {"date": f"{DAY} 11:50:00", "agent_login": login, "seconds": 100, "pause_id": 3},
        ],
    )
    rows = _get(
        api, WORK, {"agent_logins[]": login, "date_from": DAY, "date_to": DAY, "outbound_threshold": 60}
    )
    assert rows == [
        {
            "agent": {"login": login, "name": "Jan", "surname": "Kowalski"},
            "period": "2024-03",
            "inbound": {
                "count": 3,
                "answered_count": 2,
                "not_answered_count": 1,
                "transferred_count": 1,
                "sum": "27:03:10",
                "average": "13:31:35",
                "wait_sum": 61,
                "wait_average": "00:00:20",
                "calls_per_hour": 0.5,
            },
            "chat": {"closed": 1, "responded": 1},
            "ticket": {"closed": 1, "responded": 2, "total_responded": 4},
            "outbound_above_threshold": {"count": 1, "sum": "00:02:00", "average": "00:02:00"},
            "outbound_below_threshold": {"count": 2, "sum": "00:00:30", "average": "00:00:15"},
            "login_date": f"{DAY} 08:00:18",
            "logout_date": f"{DAY} 13:00:00",
            "pauses": [
                {"id": "all", "count": 4, "sum": "00:17:41", "average": "00:04:25"},
                {"id": "free", "count": 1, "sum": "00:01:01", "average": "00:01:01"},
                {"id": 0, "count": 0, "sum": "00:00:00"},
                {"id": 1, "count": 2, "sum": "00:15:00", "average": "00:07:30"},
                {"id": 2, "count": 0, "sum": "00:00:00", "average": "00:00:00"},
                {"id": 3, "count": 1, "sum": "00:01:40"},
                {"id": 4, "count": 0, "sum": "00:00:00"},
            ],
        }
    ]
    queue1 = _get(api, WORK, {"agent_logins[]": login, "date_from": DAY, "date_to": DAY, "queues_ids[]": "1"})
    assert queue1[0]["inbound"]["count"] == 2
    assert queue1[0]["outbound_below_threshold"]["count"] == 0


def test_agents_are_selected_by_login_or_group(api: httpx.Client, sandbox: SandboxProcess) -> None:
    sandbox.control.generate_activity(DAY, per_day=20, seed=6)
    window = {"date_from": DAY, "date_to": DAY}
    group2 = _get(api, WORK, {**window, "agent_group_ids[]": "2"})
    assert [r["agent"]["login"] for r in group2] == ["ewa.lis", "piotr.zielinski"]
    rows = _get(api, WORK, {**window, "agent_logins[]": "anna.nowak", "agent_group_ids[]": "2"})
    assert [r["agent"]["login"] for r in rows] == ["anna.nowak", "ewa.lis", "piotr.zielinski"]
    assert all(set(r) == WORK_KEYS and set(r["inbound"]) == INBOUND_KEYS for r in rows)
    assert all(set(p) >= {"id", "count", "sum"} for r in rows for p in r["pauses"])
    assert _get(api, WORK, {**window, "agent_logins[]": "nobody"}) == []


@pytest.mark.parametrize(("aggregate_by", "key_len"), [("day", 10), ("month", 7)])
def test_agents_work_matches_the_raw_events(
    api: httpx.Client, sandbox: SandboxProcess, aggregate_by: str, key_len: int
) -> None:
    sandbox.control.generate_activity("2024-02-28", days=3, per_day=40, seed=8)
    act = sandbox.control.activity()
    want: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for c in act["agent_calls"]:
        row = want[(c["date"][:key_len], c["agent_login"])]
        if c["direction"] == "inbound":
            row["count"] += 1
            row["answered_count"] += c["answered"]
            row["wait_sum"] += c["wait_seconds"]
            row["talk"] += c["seconds"] if c["answered"] else 0
        else:
            row["outbound"] += 1
    for a in act["agent_actions"]:
        want[(a["date"][:key_len], a["agent_login"])][f"{a['channel']}_{a['action']}"] += 1
    for p in act["pauses"]:
        want[(p["date"][:key_len], p["agent_login"])]["pauses"] += 1
    for s in act["sessions"]:
        want[(s["login_date"][:key_len], s["agent_login"])]["sessions"] += 1
    params = {**ALL_AGENTS, "date_from": "2024-02-28", "date_to": "2024-03-01", "aggregate_by": aggregate_by}
    rows = _all_pages(api, WORK, params)
    assert [(r["period"], r["agent"]["login"]) for r in rows] == sorted(want)
    for r in rows:
        w = want[(r["period"], r["agent"]["login"])]
        inbound = r["inbound"]
        assert (inbound["count"], inbound["answered_count"], inbound["wait_sum"]) == (
            w["count"],
            w["answered_count"],
            w["wait_sum"],
        )
        assert _hms_seconds(inbound["sum"]) == w["talk"]
        out = r["outbound_above_threshold"]["count"] + r["outbound_below_threshold"]["count"]
        assert out == w["outbound"]
        assert (r["chat"]["closed"], r["chat"]["responded"]) == (w["chat_closed"], w["chat_responded"])
        assert (r["ticket"]["closed"], r["ticket"]["responded"]) == (
            w["ticket_closed"],
            w["ticket_responded"],
        )
        assert r["pauses"][0]["count"] == w["pauses"]


# ---------------------------------------------------------------------------------------------- paging
def test_paging_reads_every_row_exactly_once(api: httpx.Client, sandbox: SandboxProcess) -> None:
    sandbox.control.generate_activity(DAY, per_day=400, seed=10)
    chats = sandbox.control.activity()["chats"]
    params = {"date_from": DAY, "date_to": DAY, "aggregate_by": "minute"}
    rows = _all_pages(api, CHAT, params)
    keys = [(r["series"], r["user_name"]) for r in rows]
    assert len(rows) > 200
    assert len(set(keys)) == len(keys)
    assert keys == sorted(keys)
    assert keys == sorted({(c["date"][:16], c["user_name"]) for c in chats})
    assert _get(api, CHAT, {**params, "offset": len(rows)}) == []
    assert _get(api, CHAT, {**params, "limit": 7, "offset": 100}) == rows[100:107]
    work = _all_pages(api, WORK, {**ALL_AGENTS, **params})
    work_keys = [(r["period"], r["agent"]["login"]) for r in work]
    assert len(work) > 100
    assert work_keys == sorted(set(work_keys))
