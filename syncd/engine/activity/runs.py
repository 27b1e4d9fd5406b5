"""One run of an activity stream: read the vendor's rows from the stream's cursor on, write them into its
table, move the cursor only past what is settled.

What is settled differs per stream. Calls are listed to the minute and can be filed a little late, so
``connections`` re-reads ``overlap_minutes`` before its cursor. A report row changes until its period
ends, so the reports' cursor is the start of the period still open at the last read, and that period
is read again (once more after it has closed). Wolkvox windows are whole days (or ``window_days``),
stored under their full bounds, so re-polling an open window replaces its rows. Rows that cannot be
read are recorded as failures with their key and the reason, and the rest of the run goes on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from syncd.engine.activity.convert import Rejected, Row, chats_summary_row, connection_row, text, wolkvox_rows
from syncd.engine.activity.periods import (
    day_spans,
    first_moment,
    period_start,
    thulium_minute,
    thulium_time,
    whole_windows,
)
from syncd.engine.activity.ports import ActivityState, Sink
from syncd.engine.counters import Tally
from syncd.engine.ports import Clock, Commit, FailureRecord
from syncd.engine.records import Position
from syncd.vocabulary import FailureKind

PAGE = 100
Params = list[tuple[str, str]]


@dataclass(slots=True)
class ActivityCounters(Tally):
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    polls: int = 0
    deferred: int = 0


@dataclass(kw_only=True)
class ActivityRun:
    """What every activity stream shares: counting, writing, recording rejected rows."""

    stream: str
    state: ActivityState
    sink: Sink
    clock: Clock
    start: date | None
    days_back: int
    # The table was created by this run (new, or dropped by the user): fill it from the start again.
    fresh: bool = False
    counters: ActivityCounters = field(default_factory=ActivityCounters)
    open_failures: set[str] | None = None

    def resumed_at(self) -> datetime | None:
        """Where the last run left off; None before the first one, or when its table is new."""
        cursor = None if self.fresh else self.state.cursor(self.stream)
        return cursor.updated_at if cursor is not None and isinstance(cursor.updated_at, datetime) else None

    def begin(self, now: datetime) -> datetime:
        resumed = self.resumed_at()
        return first_moment(self.start, self.days_back, now) if resumed is None else resumed

    def save(self, converted: Sequence[Row | Rejected], cursor: datetime | None) -> None:
        """Write one page's rows, then record its rejections (and the cursor) in the state DB."""
        rows = [row for row in converted if not isinstance(row, Rejected)]
        rejected = [row for row in converted if isinstance(row, Rejected)]
        self.counters.read += len(converted)
        written = self.sink.write(rows)
        self.counters.inserted += written.inserted
        self.counters.updated += written.updated
        self.counters.unchanged += written.unchanged
        self.counters.rejected += len(rejected)
        failures = [FailureRecord(r.key, "read", FailureKind.REJECTED, r.reason) for r in rejected]
        resolved = self.resolved({self.key_of(row) for row in rows})
        position = None if cursor is None else Position(cursor, None)
        if failures or resolved or position is not None:
            self.state.commit(self.stream, Commit(failures=failures, resolved=resolved, cursor=position))

    def resolved(self, keys: set[str]) -> list[str]:
        if self.open_failures is None:
            self.open_failures = self.state.open_failure_keys(self.stream)
        settled = sorted(keys & self.open_failures)
        self.open_failures.difference_update(settled)
        return settled

    def run(self) -> ActivityCounters:
        raise NotImplementedError

    def key_of(self, row: Row) -> str:
        raise NotImplementedError


# -- connections -----------------------------------------------------------------------------------------

ConnectionPage = Callable[[str, str, int], tuple[int, list[dict[str, Any]]]]  # (from, to, offset)


@dataclass(kw_only=True)
class ConnectionsRun(ActivityRun):
    """Reads half-open spans ``[low, high)`` cut at midnights, up to the current minute. The vendor does not
    say whether ``date_to=… hh:mm`` covers that minute or only its first second, so a span asks up to
    ``high``'s own minute: under either reading that covers every second before ``high`` (a call at
    23:59:30 lies in its day's span), and the calls of ``high``'s minute that come back too are read again
    at the start of the next span, where they are skipped by ``connection_id``."""

    fetch: ConnectionPage
    overlap: timedelta = timedelta(minutes=60)

    def run(self) -> ActivityCounters:
        now = self.clock.now()
        upper = now.replace(second=0, microsecond=0)  # every second before this minute has passed
        resumed = self.resumed_at()
        begin = first_moment(self.start, self.days_back, now) if resumed is None else resumed - self.overlap
        begin = begin.replace(second=0, microsecond=0)
        seen: set[str] = set()
        for low, high in day_spans(begin, upper):
            seen = self.read_span(thulium_minute(low), thulium_minute(high), seen)
            self.save([], high)
        return self.counters

    def read_span(self, date_from: str, date_to: str, skip: set[str]) -> set[str]:
        """Reads one span, leaving out the calls the previous span already read (its last minute is this
        span's first); returns the ids read here."""
        read: set[str] = set()
        offset = 0
        while True:
            count, page = self.fetch(date_from, date_to, offset)
            if not page:
                return read
            offset += len(page)
            fresh = [raw for raw in page if str(raw.get("connection_id", "")) not in skip]
            read.update(str(raw.get("connection_id", "")) for raw in fresh)
            self.save(self.linked([connection_row(raw) for raw in fresh]), None)
            if offset >= count:
                return read

    def linked(self, rows: list[Row | Rejected]) -> list[Row | Rejected]:
        ids = [row["customer_id"] for row in rows if isinstance(row, dict) and row["customer_id"] is not None]
        keys = self.state.source_keys_of(ids) if ids else {}
        for row in rows:
            if isinstance(row, dict):
                stream, key = keys.get(row["customer_id"], (None, None))
                row.update(source_stream=stream, source_key=key)
        return rows

    def key_of(self, row: Row) -> str:
        return str(row["connection_id"])


# -- reports ---------------------------------------------------------------------------------------------

ReportPage = Callable[[Params], list[dict[str, Any]]]
ReportRow = Callable[[dict[str, Any], str], Row | Rejected]  # (raw row, aggregate_by)


@dataclass(kw_only=True)
class ReportRun(ActivityRun):
    fetch: ReportPage
    convert: ReportRow  # chats_summary_row or agents_work_row
    aggregate_by: str = "day"
    filters: Params = field(default_factory=list)

    def run(self) -> ActivityCounters:
        now = self.clock.now()
        begin = period_start(self.begin(now), self.aggregate_by)
        if begin > now:  # a start date still to come: Thulium would refuse date_from after date_to
            return self.counters
        window = [("date_from", thulium_time(begin)), ("date_to", thulium_time(now))]
        self.read([*window, ("aggregate_by", self.aggregate_by), *self.filters])
        self.save([], period_start(now, self.aggregate_by))
        return self.counters

    def read(self, params: Params) -> None:
        for page in self.pages(params):
            self.save([self.convert(raw, self.aggregate_by) for raw in page], None)

    def pages(self, params: Params) -> Iterator[list[dict[str, Any]]]:
        offset = 0
        while True:
            page = self.fetch([*params, ("limit", str(PAGE)), ("offset", str(offset))])
            if page:
                yield page
            if len(page) < PAGE:
                return
            offset += len(page)

    def key_of(self, row: Row) -> str:
        who = row.get("agent_login", row.get("user_name"))
        return f"{row['period']}|{who}"


UNLISTED = "(agent not listed)"


@dataclass(kw_only=True)
class ChatsRun(ReportRun):
    """``chats/reports/summary`` names a row's agent by display name only, and two agents may share one, so
    the report is read once per login (``user_logins[]``) and each row is keyed by the login it was read
    for. With ``whole_team`` (no logins configured: every agent ``GET agents`` lists) one more read without
    ``user_logins[]`` brings the row of chats no agent took (``user_name`` ""), and any row of an agent the
    list left out, which no login can be asked for: that one is recorded as a failure of its period, never
    stored under a name that may be someone else's."""

    logins: Callable[[], Sequence[str]]
    whole_team: bool = False
    convert: ReportRow = chats_summary_row

    def read(self, params: Params) -> None:
        named: Counter[tuple[str, str]] = Counter()  # (series, user_name) of the rows read by login
        for login in self.logins():
            for page in self.pages([*params, ("user_logins[]", login)]):
                rows = [chats_summary_row(raw, self.aggregate_by, login) for raw in page]
                named.update(who(raw) for raw in page)
                self.save(rows, None)
        if self.whole_team:
            self.read_the_rest(params, named)

    def read_the_rest(self, params: Params, named: Counter[tuple[str, str]]) -> None:
        periods: set[str] = set()
        unlisted: set[str] = set()
        for page in self.pages(params):
            rows: list[Row | Rejected] = []
            for raw in page:
                series, user = who(raw)
                periods.add(series)
                if not user:
                    rows.append(chats_summary_row(raw, self.aggregate_by, ""))
                elif named[(series, user)] > 0:
                    named[(series, user)] -= 1  # read by its login already
                else:
                    unlisted.add(f"{series}|{UNLISTED}")
                    rows.append(Rejected(f"{series}|{UNLISTED}", UNLISTED_REASON))
            self.save(rows, None)
        self.settle({f"{series}|{UNLISTED}" for series in periods} - unlisted)

    def settle(self, keys: set[str]) -> None:
        resolved = self.resolved(keys)
        if resolved:
            self.state.commit(self.stream, Commit(resolved=resolved))


UNLISTED_REASON = (
    "agent_login: a row of an agent GET agents does not list (user_logins[] cannot ask for it); "
    "it is read when Thulium lists the agent"
)


def who(raw: dict[str, Any]) -> tuple[str, str]:
    return text(raw.get("series")) or "", text(raw.get("user_name")) or ""


# -- Wolkvox ---------------------------------------------------------------------------------------------

WolkvoxPoll = Callable[[datetime, datetime], list[dict[str, Any]]]


@dataclass(kw_only=True)
class WolkvoxRun(ActivityRun):
    poll: WolkvoxPoll
    claim_poll: Callable[[], bool]  # False: polled too recently (by anyone with this token)
    # Restarts the wait when a poll has ended: the claim was taken before the request left, and a slow
    # request must not bring the next one closer to it than Wolkvox allows.
    polled: Callable[[], None] = lambda: None
    min_poll_seconds: int = 300
    max_polls: int = 1
    window_days: int = 1

    def run(self) -> ActivityCounters:
        now = self.clock.now()
        windows = whole_windows(self.begin(now), now, self.window_days)
        for index, (start, end) in enumerate(windows[: self.max_polls]):
            if index:
                self.clock.sleep(self.min_poll_seconds)
            if not self.claim_poll():
                self.counters.deferred += 1
                return self.counters
            polled_at = self.clock.now()
            try:
                data = self.poll(start, min(end, polled_at))
            finally:
                self.polled()
            self.counters.polls += 1
            closed = end < polled_at
            self.save(wolkvox_rows((start, end), data), end + timedelta(seconds=1) if closed else start)
        return self.counters

    def key_of(self, row: Row) -> str:
        return f"{row['window_start']:%Y%m%d%H%M%S}|{row['channel']}"
