"""Activity runs against in-memory fakes of their ports: what is read, what the cursor says afterwards."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from syncd.activity.convert import Row, chats_summary_row
from syncd.activity.runs import ConnectionsRun, ReportRun, WolkvoxRun
from syncd.activity.tables import Written
from syncd.engine.ports import Commit
from syncd.engine.records import Position


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


def chat(series: str, user: str, incoming: int) -> dict[str, Any]:
    return {"series": series, "user_name": user, "incoming": incoming, "chat_time": {"sum": "00:01:00"}}


def report_run(
    state: FakeState, sink: FakeSink, clock: FakeClock, source: list[dict[str, Any]], asked: list[Any]
) -> ReportRun:
    def fetch(params: list[tuple[str, str]]) -> list[dict[str, Any]]:
        asked.append(dict(params))
        offset, limit = int(dict(params)["offset"]), int(dict(params)["limit"])
        low = dict(params)["date_from"][:10]
        return [r for r in source if r["series"] >= low][offset : offset + limit]

    return ReportRun(
        **ports("chats_summary", state, sink, clock, date(2026, 11, 1)),
        fetch=fetch,
        convert=chats_summary_row,
        aggregate_by="day",
    )


def test_a_report_reads_from_its_first_open_period_and_pages_by_100() -> None:
    state, sink, clock = (
        FakeState(),
        FakeSink(("aggregate_by", "period", "user_name")),
        FakeClock(datetime(2026, 11, 3, 12)),
    )
    source = [chat(f"2026-11-0{d}", f"user {u:03}", u) for d in (1, 2, 3) for u in range(70)]
    asked: list[Any] = []
    counters = report_run(state, sink, clock, source, asked).run()
    assert counters.inserted == 210 and len(asked) == 3  # 100 + 100 + 10
    assert asked[0]["date_from"] == "2026-11-01 00:00:00" and asked[0]["date_to"] == "2026-11-03 12:00:00"
    assert state.cursors["chats_summary"].updated_at == datetime(2026, 11, 3)  # today is still open

    source[-1] = chat("2026-11-03", "user 069", 999)  # today's figures grow
    clock.at = datetime(2026, 11, 4, 0, 5)  # and tomorrow's begin
    source.append(chat("2026-11-04", "user 000", 1))
    asked.clear()
    again = report_run(state, sink, clock, source, asked).run()
    assert asked[0]["date_from"] == "2026-11-03 00:00:00"
    assert (again.inserted, again.updated, again.unchanged) == (1, 1, 69)
    assert sink.rows[("day", "2026-11-03", "user 069")]["incoming"] == 999
    assert state.cursors["chats_summary"].updated_at == datetime(2026, 11, 4)


def test_a_bad_report_row_is_recorded_and_resolved_when_it_reads_well() -> None:
    state, sink, clock = (
        FakeState(),
        FakeSink(("aggregate_by", "period", "user_name")),
        FakeClock(datetime(2026, 11, 2, 8)),
    )
    source = [chat("2026-11-02", "a", 1), {**chat("2026-11-02", "b", 2), "incoming": "lots"}]
    counters = report_run(state, sink, clock, source, []).run()
    assert (counters.inserted, counters.rejected) == (1, 1)
    assert state.failures == {"2026-11-02|b": "incoming: is not a whole number"}
    source[1] = chat("2026-11-02", "b", 2)
    report_run(state, sink, clock, source, []).run()
    assert state.failures == {} and len(sink.rows) == 2


def test_connections_reread_the_overlap_and_only_whole_minutes() -> None:
    state = FakeState(links={7: ("customers", "C-7")})
    sink, clock = FakeSink(("connection_id",)), FakeClock(datetime(2026, 11, 2, 10, 30, 40))
    calls: list[dict[str, Any]] = [
        {"connection_id": "1.1", "date": "2026-11-01 09:00", "customer_id": 7},
        {"connection_id": "1.2", "date": "2026-11-02 10:29", "customer_id": 8},
    ]
    windows: list[tuple[str, str]] = []

    def fetch(date_from: str, date_to: str, offset: int) -> tuple[int, list[dict[str, Any]]]:
        windows.append((date_from, date_to))
        found = [c for c in calls if date_from <= c["date"] <= date_to + ":59"]
        return len(found), found[offset : offset + 100]

    def run() -> Any:
        return ConnectionsRun(
            **ports("connections", state, sink, clock, date(2026, 11, 1)),
            fetch=fetch,
            overlap=timedelta(minutes=60),
        ).run()

    assert run().inserted == 2
    assert windows == [("2026-11-01 00:00", "2026-11-01 23:59"), ("2026-11-02 00:00", "2026-11-02 10:29")]
    assert sink.rows[("1.1",)]["source_key"] == "C-7" and sink.rows[("1.2",)]["source_key"] is None
    assert state.cursors["connections"].updated_at == datetime(2026, 11, 2, 10, 29)
    windows.clear()
    clock.at = datetime(2026, 11, 2, 11, 0, 5)
    assert (second := run()).inserted == 0 and second.unchanged == 1
    assert windows == [("2026-11-02 09:29", "2026-11-02 10:59")]


def test_wolkvox_polls_whole_windows_no_sooner_than_allowed() -> None:
    state, sink, clock = (
        FakeState(),
        FakeSink(("window_start", "window_end", "channel")),
        FakeClock(datetime(2026, 11, 3, 12)),
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
    assert (first.polls, first.deferred) == (2, 0) and clock.slept == [300]
    assert polls == [
        (datetime(2026, 11, 2), datetime(2026, 11, 2, 23, 59, 59)),
        (datetime(2026, 11, 3), datetime(2026, 11, 3, 12, 5)),  # the open day, polled up to now
    ]
    # stored under the window's full bounds, so a later poll of the same day replaces its rows
    assert ("2026-11-03 23:59:59", "web") in {(f"{k[1]}", k[2]) for k in sink.rows}
    assert state.cursors["wolkvox_chats"].updated_at == datetime(2026, 11, 3)  # today is still open
    assert len(sink.rows) == 8
    second = run()  # the third claim is refused: polled too recently
    assert (second.polls, second.deferred) == (0, 1) and len(polls) == 2


def test_a_report_whose_start_is_still_to_come_reads_nothing() -> None:
    state, sink = FakeState(), FakeSink(("aggregate_by", "period", "user_name"))
    asked: list[Any] = []
    run = report_run(state, sink, FakeClock(datetime(2026, 10, 20, 9)), [chat("2026-10-20", "a", 1)], asked)
    assert run.run().read == 0 and asked == [] and state.cursors == {}
