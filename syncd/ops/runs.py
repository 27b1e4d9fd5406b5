"""``syncd runs``: the run history of each tenant and stream, read from the ``runs`` table.

A run is one stream of one sync (by hand or by the daemon); its counters are what the engine
counted, plus ``requests`` (Thulium API calls). Only counts and ids are shown, never rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from syncd.settings import ProcessSettings
from syncd.state import models
from syncd.state.runs import reap

Sessions = Callable[[], Session]

# What StreamRun / CampaignRun / service.finish record; "running" until the run finishes, "crashed" when
# its process died before it could (closed by whoever noticed first: syncd.state.runs).
RUN_STATUSES = ("running", "ok", "partial", "aborted", "fenced", "crashed")
SUCCEEDED = ("ok", "partial")  # the run went through; partial only means some rows failed
SUMMARY_COUNTERS = ("created", "updated", "deleted", "added", "changed", "removed", "rejected", "failed")


@dataclass(frozen=True, slots=True)
class RunQuery:
    streams: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    limit: int = 20

    def __post_init__(self) -> None:
        unknown = sorted(set(self.statuses) - set(RUN_STATUSES))
        if unknown:
            raise ValueError(
                f"unknown run status(es) {', '.join(unknown)}; expected one of {', '.join(RUN_STATUSES)}"
            )
        if self.limit < 1:
            raise ValueError("limit must be at least 1")


@dataclass(frozen=True, slots=True)
class RunRow:
    tenant: str
    id: int
    stream: str
    mode: str
    trigger: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    counters: dict[str, Any]
    error: str | None
    job_id: str | None
    last_seen_at: datetime | None = None  # when its process last showed it alive

    @property
    def seconds(self) -> float | None:
        return None if self.finished_at is None else (self.finished_at - self.started_at).total_seconds()

    @property
    def requests(self) -> int:
        return int(self.counters.get("requests", 0) or 0)


def find_runs(sessions: Sessions, tenant: str, query: RunQuery) -> list[RunRow]:
    """Newest first, at most ``query.limit``."""
    run = models.Run
    conditions: list[ColumnElement[bool]] = [run.tenant == tenant]
    if query.streams:
        conditions.append(run.stream.in_(query.streams))
    if query.statuses:
        conditions.append(run.status.in_(query.statuses))
    statement = (
        select(run).where(*conditions).order_by(run.started_at.desc(), run.id.desc()).limit(query.limit)
    )
    with sessions() as session:
        return [_row(r) for r in session.scalars(statement)]


def last_successes(sessions: Sessions, tenant: str) -> dict[str, datetime]:
    """When each stream last started a run that went through (ok or partial)."""
    run = models.Run
    statement = (
        select(run.stream, func.max(run.started_at))
        .where(run.tenant == tenant, run.status.in_(SUCCEEDED))
        .group_by(run.stream)
    )
    with sessions() as session:
        return {stream: started for stream, started in session.execute(statement) if started is not None}


def counters_summary(counters: dict[str, Any]) -> str:
    """The non-zero counters that say what a run changed or could not change, in a fixed order."""
    return " ".join(f"{name}={counters[name]}" for name in SUMMARY_COUNTERS if counters.get(name))


def merge_newest(groups: list[list[RunRow]], limit: int) -> list[RunRow]:
    """Tenants are read one state DB at a time; the listing is still newest first across them."""
    rows = [row for group in groups for row in group]
    rows.sort(key=lambda row: (row.started_at, row.id), reverse=True)
    return rows[:limit]


def _row(r: models.Run) -> RunRow:
    return RunRow(
        tenant=r.tenant,
        id=r.id,
        stream=r.stream,
        mode=r.mode,
        trigger=r.trigger,
        status=r.status,
        started_at=r.started_at,
        finished_at=r.finished_at,
        counters=dict(r.counters or {}),
        error=r.error,
        job_id=r.job_id,
        last_seen_at=r.last_seen_at,
    )


def close_crashed_runs(
    settings: ProcessSettings, tenants: Sequence[tuple[Sessions, str]], noticed_by: str
) -> None:
    """Before listing: runs whose process died are closed as ``crashed`` (``syncd.state.runs``)."""
    from syncd.broker.redis_broker import live_broker_url
    from syncd.worker.lease import lock_seen
    from syncd.worker.resources import connect_redis

    broker = live_broker_url(settings)
    client = None if broker is None else connect_redis(broker)
    try:
        for sessions, tenant in tenants:
            reap(sessions, tenant, partial(lock_seen, client, tenant), noticed_by)
    finally:
        if client is not None:
            client.close()
