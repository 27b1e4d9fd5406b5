"""Wiring of one activity run: its clients, its table, its cursor, its schedule slot, its run record."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from syncd.app.runtime import TenantRuntime
from syncd.engine.activity.convert import agents_work_row
from syncd.engine.activity.runs import ActivityRun, ChatsRun, ConnectionsRun, ReportRun, WolkvoxRun
from syncd.engine.ports import Clock
from syncd.settings.activity import (
    ActivitySection,
    AgentsWorkSection,
    ChatsSummarySection,
    ConnectionsSection,
    WolkvoxSection,
)
from syncd.source.activity_tables import ActivityTable, TableShapeError
from syncd.source.engine import SourceEngine
from syncd.source.errors import SourceDbError
from syncd.state.db import make_engine
from syncd.state.jobs import JobStore
from syncd.thulium import ThuliumError
from syncd.wolkvox.client import WolkvoxClient, WolkvoxError

REPORTS = {"chats_summary": "chats/reports/summary", "agents_work": "agents_work_report"}
POLL_SLOT = "poll:wolkvox_chats"


class LocalClock:
    """Now in the account's zone, without the zone: the way Thulium and Wolkvox write their dates."""

    def __init__(self, zone: str) -> None:
        self.zone = ZoneInfo(zone)

    def now(self) -> datetime:
        return datetime.now(self.zone).replace(tzinfo=None, microsecond=0)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@contextmanager
def analytics_engine(runtime: TenantRuntime) -> Iterator[SourceEngine]:
    """The tables go to ``analytics_url`` when given, else next to the source rows."""
    url = runtime.tenant.analytics_url
    if url is None:
        yield runtime.source_engine
        return
    engine = make_engine(url.get_secret_value())
    try:
        yield engine
    finally:
        engine.dispose()


def build_run(
    runtime: TenantRuntime, stream: str, engine: SourceEngine, clock: Clock, wolkvox: WolkvoxClient | None
) -> ActivityRun:
    activity = runtime.tenant.config.activity
    assert activity is not None
    section = activity.sections()[stream]
    table = ActivityTable(
        engine, stream, activity.table_of(stream), lambda: datetime.now(UTC).replace(tzinfo=None)
    )
    common: dict[str, Any] = dict(
        stream=stream,
        state=runtime.store,
        sink=table,
        clock=clock,
        fresh=table.created,
        start=section.start,
        days_back=section.days_back,
    )
    client = runtime.client
    if isinstance(section, ConnectionsSection):

        def page(date_from: str, date_to: str, offset: int) -> tuple[int, list[dict[str, Any]]]:
            return client.reports.connection_rows(date_from=date_from, date_to=date_to, offset=offset)

        return ConnectionsRun(**common, fetch=page, overlap=timedelta(minutes=section.overlap_minutes))
    if isinstance(section, ChatsSummarySection):
        configured = list(section.user_logins)
        return ChatsRun(
            **common,
            fetch=lambda params: client.reports.rows(REPORTS[stream], params),
            aggregate_by=section.aggregate_by,
            filters=report_filters(section),
            logins=(lambda: configured) if configured else client.reports.agent_logins,
            whole_team=not configured,
        )
    if isinstance(section, AgentsWorkSection):
        return ReportRun(
            **common,
            fetch=lambda params: client.reports.rows(REPORTS[stream], params),
            convert=agents_work_row,
            aggregate_by=section.aggregate_by,
            filters=report_filters(section),
        )
    assert isinstance(section, WolkvoxSection)
    assert wolkvox is not None
    jobs = JobStore(runtime.store.sessions, runtime.tenant.name)
    every = timedelta(seconds=section.min_poll_seconds)

    def claim() -> bool:
        now = datetime.now(UTC)
        return jobs.claim(POLL_SLOT, first_due=now, next_due=now + every)

    def polled() -> None:
        jobs.defer(POLL_SLOT, datetime.now(UTC) + every)

    return WolkvoxRun(
        **common,
        poll=wolkvox.chats_closed_by_channel,
        claim_poll=claim,
        polled=polled,
        min_poll_seconds=section.min_poll_seconds,
        max_polls=section.max_polls_per_run,
        window_days=section.window_days,
    )


def report_filters(section: ChatsSummarySection | AgentsWorkSection) -> list[tuple[str, str]]:
    if isinstance(section, ChatsSummarySection):  # user_logins go one at a time (ChatsRun)
        return [("chat_queue_ids[]", str(queue)) for queue in section.chat_queue_ids]
    return (
        [("agent_logins[]", login) for login in section.agent_logins]
        + [("agent_group_ids[]", str(group)) for group in section.agent_group_ids]
        + [("queues_ids[]", str(queue)) for queue in section.queues_ids]
    )


def wolkvox_client(runtime: TenantRuntime, activity: ActivitySection) -> WolkvoxClient | None:
    section = activity.wolkvox_chats
    token = runtime.tenant.wolkvox_token
    if section is None or token is None:
        return None
    return WolkvoxClient(section.url, token.get_secret_value(), timeout=section.timeout_seconds)


def run_activity(
    runtime: TenantRuntime, stream: str, clock: Clock | None = None
) -> tuple[dict[str, int], Exception | None]:
    """Run one activity stream; returns its counters and the error that stopped it, if any."""
    activity = runtime.tenant.config.activity
    assert activity is not None
    clock = clock or LocalClock(activity.timezone)
    wolkvox = wolkvox_client(runtime, activity) if stream == "wolkvox_chats" else None
    try:
        with analytics_engine(runtime) as engine:
            run = build_run(runtime, stream, engine, clock, wolkvox)
            try:
                return run.run().as_dict(), None
            except (ThuliumError, WolkvoxError, SourceDbError) as exc:
                return run.counters.as_dict(), exc
    except (SourceDbError, TableShapeError) as exc:  # the analytics database: unreachable, no rights,
        return {}, exc  # or a table of another shape
    finally:
        if wolkvox is not None:
            wolkvox.close()
