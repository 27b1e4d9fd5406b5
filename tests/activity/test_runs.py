"""Activity runs against in-memory fakes of their ports: what is read, what the cursor says afterwards."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from syncd.engine.activity.convert import Row
from syncd.engine.activity.ports import Written
from syncd.engine.activity.runs import ChatsRun, ConnectionsRun, WolkvoxRun
from syncd.engine.ports import Commit
from syncd.engine.records import Position
from syncd.engine.wallclock import wall_clock


@dataclass
class FakeState:
    cursors: dict[str, Position] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    links: dict[int, tuple[str, str]] = field(default_factory=dict)

    def cursor(self, stream: str) -> Position | None:
        return self.cursors.get(stream)

    def commit(self, stream: str, commit: Commit) -> None:
        self.failures.update({f.source_key: f.message for f in commit.failures})
        for key in commit.resolved:
            self.failures.pop(key)
        if commit.cursor is not None:
            self.cursors[stream] = commit.cursor

    def open_failure_keys(self, stream: str) -> set[str]:
        return set(self.failures)

    def source_keys_of(self, customer_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
        return {i: self.links[i] for i in customer_ids if i in self.links}


@dataclass
class FakeSink:
    keys: tuple[str, ...]
    rows: dict[tuple[Any, ...], Row] = field(default_factory=dict)

    def write(self, rows: Sequence[Row]) -> Written:
        written = Written()
        for row in rows:
            key = tuple(row[k] for k in self.keys)
            old = self.rows.get(key)
            written.inserted += old is None
            written.updated += old is not None and old != row
            written.unchanged += old == row
            self.rows[key] = dict(row)
        return written


@dataclass
class FakeClock:
    at: datetime
    slept: list[float] = field(default_factory=list)

    def now(self) -> datetime:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.at += timedelta(seconds=seconds)


def ports(stream: str, state: FakeState, sink: FakeSink, clock: FakeClock, start: date) -> dict[str, Any]:
    """What every activity run is built with (the fakes of its ports, and where it starts)."""
    return {"stream": stream, "state": state, "sink": sink, "clock": clock, "start": start, "days_back": 7}


def chat(series: str, user: str, incoming: int, login: str | None = None) -> dict[str, Any]:
    """A report row as the fake Thulium holds it: ``_login`` is whose it is (the report does not say)."""
    row = {"series": series, "user_name": user, "incoming": incoming, "chat_time": {"sum": "00:01:00"}}
    return {**row, "_login": user.replace(" ", ".") if login is None else login}


CHAT_KEY = ("aggregate_by", "period", "agent_login")


def report_run(
    state: FakeState,
    sink: FakeSink,
    clock: FakeClock,
    source: list[dict[str, Any]],
    asked: list[Any],
    listed: list[str] | None = None,
) -> ChatsRun:
    """A chats report of ``source``, read per login of ``listed`` (default: every login the source has)."""

    def fetch(params: list[tuple[str, str]]) -> list[dict[str, Any]]:
        asked.append(dict(params))
        offset, limit = int(dict(params)["offset"]), int(dict(params)["limit"])
        low = dict(params)["date_from"][:10]
        logins = {value for name, value in params if name == "user_logins[]"}
        rows = [r for r in source if r["series"] >= low and (not logins or r["_login"] in logins)]
        return [{k: v for k, v in r.items() if k != "_login"} for r in rows][offset : offset + limit]

    agents = sorted({r["_login"] for r in source if r["_login"]}) if listed is None else listed
    return ChatsRun(
        **ports("chats_summary", state, sink, clock, date(2026, 11, 1)),
        fetch=fetch,
        aggregate_by="day",
        logins=lambda: agents,
        whole_team=True,
    )


def test_a_report_reads_from_its_first_open_period_and_pages_by_100() -> None:
    state, sink, clock = FakeState(), FakeSink(CHAT_KEY), FakeClock(wall_clock(2026, 11, 3, 12))
    source = [chat(f"2026-11-0{d}", f"user {u:03}", u) for d in (1, 2, 3) for u in range(70)]
    source.append(chat("2026-11-03", "", 4, login=""))  # chats no agent took
    asked: list[Any] = []
    counters = report_run(state, sink, clock, source, asked).run()
    assert counters.inserted == 211
    assert len(asked) == 70 + 3
    assert asked[0]["date_from"] == "2026-11-01 00:00:00"
    assert asked[0]["date_to"] == "2026-11-03 12:00:00"
    assert asked[0]["user_logins[]"] == "user.000"
    assert "user_logins[]" not in asked[-1]
    assert state.cursors["chats_summary"].updated_at == wall_clock(2026, 11, 3)  # today is still open
    assert sink.rows[("day", "2026-11-03", "")]["incoming"] == 4

    source[-2] = chat("2026-11-03", "user 069", 999)  # today's figures grow
    clock.at = wall_clock(2026, 11, 4, 0, 5)  # and tomorrow's begin
    source.append(chat("2026-11-04", "user 000", 1))
    asked.clear()
    again = report_run(state, sink, clock, source, asked).run()
    assert asked[0]["date_from"] == "2026-11-03 00:00:00"
    assert (again.inserted, again.updated, again.unchanged) == (1, 1, 70)
    assert sink.rows[("day", "2026-11-03", "user.069")]["incoming"] == 999
    assert state.cursors["chats_summary"].updated_at == wall_clock(2026, 11, 4)


def test_namesakes_stay_two_rows_and_an_unlisted_agent_is_a_failure_of_its_period() -> None:
    state, sink, clock = FakeState(), FakeSink(CHAT_KEY), FakeClock(wall_clock(2026, 11, 2, 12))
    source = [
        chat("2026-11-02", "Jan Kowalski", 3, login="jan.kowalski"),
        chat("2026-11-02", "Jan Kowalski", 5, login="jkowalski"),
        chat("2026-11-02", "Ewa Lis", 2, login="ewa.lis"),
    ]
    counters = report_run(state, sink, clock, source, [], listed=["jan.kowalski", "jkowalski"]).run()
    assert {k[2]: r["incoming"] for k, r in sink.rows.items()} == {"jan.kowalski": 3, "jkowalski": 5}
    assert {r["user_name"] for r in sink.rows.values()} == {"Jan Kowalski"}
    assert counters.rejected == 1
    assert list(state.failures) == ["2026-11-02|(agent not listed)"]
    report_run(state, sink, clock, source, [], listed=["ewa.lis", "jan.kowalski", "jkowalski"]).run()
    assert state.failures == {}
    assert sink.rows[("day", "2026-11-02", "ewa.lis")]["incoming"] == 2


def test_a_bad_report_row_is_recorded_and_resolved_when_it_reads_well() -> None:
    state, sink, clock = FakeState(), FakeSink(CHAT_KEY), FakeClock(wall_clock(2026, 11, 2, 8))
    source = [chat("2026-11-02", "a", 1), {**chat("2026-11-02", "b", 2), "incoming": "lots"}]
    counters = report_run(state, sink, clock, source, []).run()
    assert (counters.inserted, counters.rejected) == (1, 1)
    assert state.failures == {"2026-11-02|b": "incoming: is not a whole number"}
    source[1] = chat("2026-11-02", "b", 2)
    report_run(state, sink, clock, source, []).run()
    assert state.failures == {}
    assert len(sink.rows) == 2


@pytest.mark.parametrize("whole_minute", [True, False], ids=["date_to-whole-minute", "date_to-first-second"])
def test_connections_cover_each_second_once_under_either_reading_of_date_to(whole_minute: bool) -> None:
    """Calls carry their second here (Thulium lists them to the minute but keeps the second); ``date_to``
    at a minute covers that whole minute, or only its first second."""
    state = FakeState(links={7: ("customers", "C-7")})
    sink, clock = FakeSink(("connection_id",)), FakeClock(wall_clock(2026, 11, 2, 10, 30, 40))
    calls: list[dict[str, Any]] = [
        {"connection_id": "1.1", "at": "2026-11-01 09:00:00", "customer_id": 7},
        {"connection_id": "1.2", "at": "2026-11-01 23:59:30", "customer_id": 8},
        {"connection_id": "1.3", "at": "2026-11-02 00:00:00"},
        {"connection_id": "1.4", "at": "2026-11-02 10:29:30"},
        {"connection_id": "1.5", "at": "2026-11-02 10:30:10"},  # the minute still running
    ]
    windows: list[tuple[str, str]] = []

    def fetch(date_from: str, date_to: str, offset: int) -> tuple[int, list[dict[str, Any]]]:
        windows.append((date_from, date_to))
        high = date_to + (":59" if whole_minute else ":00")
        found = [{**c, "date": c["at"][:16]} for c in calls if date_from + ":00" <= c["at"] <= high]
        return len(found), found[offset : offset + 100]

    def run() -> Any:
        return ConnectionsRun(
            **ports("connections", state, sink, clock, date(2026, 11, 1)),
            fetch=fetch,
            overlap=timedelta(minutes=60),
        ).run()

    first = run()
    assert windows == [("2026-11-01 00:00", "2026-11-02 00:00"), ("2026-11-02 00:00", "2026-11-02 10:30")]
    assert {k[0] for k in sink.rows} >= {"1.1", "1.2", "1.3", "1.4"}
    assert first.read == first.inserted == len(sink.rows)  # 1.3 came in both windows, read once
    assert sink.rows[("1.1",)]["source_key"] == "C-7"
    assert sink.rows[("1.2",)]["source_key"] is None
    assert state.cursors["connections"].updated_at == wall_clock(2026, 11, 2, 10, 30)
    windows.clear()
    clock.at = wall_clock(2026, 11, 2, 11, 0, 5)
    second = run()
    assert windows == [("2026-11-02 09:30", "2026-11-02 11:00")]
    assert {k[0] for k in sink.rows} == {c["connection_id"] for c in calls}
    assert second.inserted == (0 if whole_minute else 1)
    assert second.updated == 0


def test_wolkvox_polls_whole_windows_no_sooner_than_allowed() -> None:
    state, sink, clock = (
        FakeState(),
        FakeSink(("window_start", "window_end", "channel")),
        FakeClock(wall_clock(2026, 11, 3, 12)),
    )
    polls: list[tuple[datetime, datetime]] = []
    allowed = [True, True, False]

    def poll(start: datetime, end: datetime) -> list[dict[str, Any]]:
        polls.append((start, end))
        return [{"chanel": "web", "interaction": str(start.day)}]

    def run() -> Any:
        return WolkvoxRun(
            **ports("wolkvox_chats", state, sink, clock, date(2026, 11, 2)),
            poll=poll,
            claim_poll=lambda: allowed.pop(0),
            min_poll_seconds=300,
            max_polls=5,
        ).run()

    first = run()
    assert (first.polls, first.deferred) == (2, 0)
    assert clock.slept == [300]
    assert polls == [
        (wall_clock(2026, 11, 2), wall_clock(2026, 11, 2, 23, 59, 59)),
        (wall_clock(2026, 11, 3), wall_clock(2026, 11, 3, 12, 5)),  # the open day, polled up to now
    ]
    # stored under the window's full bounds, so a later poll of the same day replaces its rows
    assert ("2026-11-03 23:59:59", "web") in {(f"{k[1]}", k[2]) for k in sink.rows}
    assert state.cursors["wolkvox_chats"].updated_at == wall_clock(2026, 11, 3)  # today is still open
    assert len(sink.rows) == 8
    second = run()  # the third claim is refused: polled too recently
    assert (second.polls, second.deferred) == (0, 1)
    assert len(polls) == 2


def test_a_report_whose_start_is_still_to_come_reads_nothing() -> None:
    state, sink = FakeState(), FakeSink(CHAT_KEY)
    asked: list[Any] = []
    run = report_run(state, sink, FakeClock(wall_clock(2026, 10, 20, 9)), [chat("2026-10-20", "a", 1)], asked)
    assert run.run().read == 0
    assert asked == []
    assert state.cursors == {}
