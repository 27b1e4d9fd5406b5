"""Failures for ops: find, retry, resolve and export them; plain functions over a state DB.

The engine alone decides what a run sends again. ``StateStore.due_retries`` re-reads open
``retryable`` / ``waiting`` rows whose ``next_attempt_at`` has passed, and
``open_failure_hashes`` holds back an open ``permanent`` / ``rejected`` row while its payload
hash is unchanged. A retry by hand therefore only moves a failure into the first set and out
of the second; the next incremental run re-reads the row by key and sends it like any other,
and records it again (with one more attempt) if it still fails.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Any, TextIO, TypeVar

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from syncd.app.attempts import attempted_runtime
from syncd.app.runtime import RUNNABLE_STREAMS
from syncd.app.sync import TenantOutcome, sync_tenant
from syncd.engine.campaigns.run import CAMPAIGN_PREFIX
from syncd.ops.exclusive import exclusive_run
from syncd.settings import ProcessSettings, load_tenant
from syncd.settings.discovery import TenantRef
from syncd.state import models
from syncd.state.jobs import JobInfo
from syncd.state.repository import BLOCKED_KINDS, PENDING_KINDS
from syncd.worker.leased_crm import guarded_by

Sessions = Callable[[], Session]
T = TypeVar("T")

FAILURE_KINDS = ("rejected", "permanent", "retryable", "waiting")
# A warning is not a failure of its row (a customer synced without its company): the commands act on
# failures unless asked for warnings with --kind warning.
KINDS = (*FAILURE_KINDS, "warning")
STATUSES = ("open", "resolved", "all")
FORMATS = ("csv", "json")
RETRY_TRIGGER = "retry"
CHUNK = 500  # bounded IN lists, as in the repository

_DURATION = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True, slots=True)
class FailureQuery:
    """Which failures a command acts on; every filter is optional and they combine with AND.

    Age filters compare with ``first_failed_at``: "older than 7d" means failing for over a week,
    however often it was retried since.
    """

    streams: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    status: str = "open"
    older_than: timedelta | None = None
    newer_than: timedelta | None = None
    keys: tuple[str, ...] = ()
    limit: int | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}; expected one of {', '.join(STATUSES)}")
        unknown = sorted(set(self.kinds) - set(KINDS))
        if unknown:
            raise ValueError(f"unknown kind(s) {', '.join(unknown)}; expected one of {', '.join(KINDS)}")
        if self.limit is not None and self.limit < 1:
            raise ValueError("limit must be at least 1")

    def open_only(self) -> FailureQuery:
        """Retry and resolve act on open failures only, whatever --status would have said."""
        return replace(self, status="open")


@dataclass(frozen=True, slots=True)
class FailureRow:
    """Every column of a failure; keys, ids and Thulium's message only, never row data."""

    tenant: str
    stream: str
    source_key: str
    operation: str
    kind: str
    http_status: int | None
    message: str
    request_id: str | None
    payload_hash: str | None
    attempts: int
    first_failed_at: datetime
    last_failed_at: datetime
    next_attempt_at: datetime | None
    resolved_at: datetime | None

    @property
    def status(self) -> str:
        return "open" if self.resolved_at is None else "resolved"


@dataclass(frozen=True, slots=True)
class StreamFailures:
    """Open failures of one stream, as the health verdict needs them."""

    by_kind: dict[str, int]
    oldest_pending: datetime | None  # first_failed_at of the oldest open retryable/waiting row

    @property
    def permanent(self) -> int:
        return self.by_kind.get("permanent", 0)

    @property
    def pending(self) -> int:
        return sum(self.by_kind.get(kind, 0) for kind in PENDING_KINDS)


def parse_duration(text: str) -> timedelta:
    """``30m``, ``2h``, ``7d``, ``1w``, ``1h30m``: what ops type, not ISO 8601."""
    cleaned = text.strip().lower()
    parts = _DURATION.findall(cleaned)
    if not parts or "".join(number + unit for number, unit in parts) != cleaned:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30m, 2h, 7d)")
    return timedelta(seconds=sum(int(number) * _UNITS[unit] for number, unit in parts))


# -- reading ---------------------------------------------------------------------------------------


def find_failures(sessions: Sessions, tenant: str, query: FailureQuery, now: datetime) -> list[FailureRow]:
    """Newest failure first, at most ``query.limit``."""
    failure = models.Failure
    statement = (
        select(failure)
        .where(*_conditions(tenant, query, now))
        .order_by(failure.last_failed_at.desc(), failure.id.desc())
    )
    if query.limit is not None:
        statement = statement.limit(query.limit)
    with sessions() as session:
        return [_row(f) for f in session.scalars(statement)]


def count_failures(sessions: Sessions, tenant: str, query: FailureQuery, now: datetime) -> int:
    statement = select(func.count()).select_from(models.Failure).where(*_conditions(tenant, query, now))
    with sessions() as session:
        return int(session.scalar(statement) or 0)


def open_failure_summary(sessions: Sessions, tenant: str) -> dict[str, StreamFailures]:
    """Per stream: open failures by kind and the oldest still waiting for a retry; one grouped query."""
    failure = models.Failure
    statement = (
        select(failure.stream, failure.kind, func.count(), func.min(failure.first_failed_at))
        .where(failure.tenant == tenant, failure.resolved_at.is_(None))
        .group_by(failure.stream, failure.kind)
    )
    kinds: dict[str, dict[str, int]] = {}
    oldest: dict[str, datetime] = {}
    with sessions() as session:
        for stream, kind, count, first in session.execute(statement):
            kinds.setdefault(stream, {})[kind] = count
            if kind in PENDING_KINDS and first is not None:
                oldest[stream] = min(first, oldest.get(stream, first))
    return {stream: StreamFailures(by_kind, oldest.get(stream)) for stream, by_kind in kinds.items()}


# -- changing --------------------------------------------------------------------------------------


def retry_failures(sessions: Sessions, tenant: str, query: FailureQuery, now: datetime) -> list[FailureRow]:
    """Make the chosen open failures due now, so the next incremental run re-reads and re-sends them.

    A permanent or rejected failure becomes retryable and forgets its payload hash: otherwise
    the engine would hold the unchanged row back. Returns the failures as they were.
    """
    chosen = _chosen(sessions, tenant, query.open_only(), now)
    failure = models.Failure
    with sessions() as session, session.begin():
        for chunk in _chunks(list(chosen)):
            still_open = (failure.id.in_(chunk), failure.resolved_at.is_(None))
            session.execute(update(failure).where(*still_open).values(next_attempt_at=now, payload_hash=None))
            blocked = failure.kind.in_(BLOCKED_KINDS)
            session.execute(update(failure).where(*still_open, blocked).values(kind="retryable"))
    return list(chosen.values())


def resolve_failures(sessions: Sessions, tenant: str, query: FailureQuery, now: datetime) -> list[FailureRow]:
    """Close the chosen open failures: a person decided to leave them. A new failure of the row reopens it."""
    chosen = _chosen(sessions, tenant, query.open_only(), now)
    failure = models.Failure
    with sessions() as session, session.begin():
        for chunk in _chunks(list(chosen)):
            session.execute(
                update(failure)
                .where(failure.id.in_(chunk), failure.resolved_at.is_(None))
                .values(resolved_at=now)
            )
    return list(chosen.values())


def sync_streams(streams: Iterable[str]) -> list[str]:
    """The ``syncd sync`` streams that settle failures of these state streams (campaign:X → campaigns)."""
    wanted = {"campaigns" if stream.startswith(CAMPAIGN_PREFIX) else stream for stream in streams}
    return [stream for stream in RUNNABLE_STREAMS if stream in wanted]


# -- export ----------------------------------------------------------------------------------------

EXPORT_COLUMNS = tuple(f.name for f in fields(FailureRow))


def export_failures(rows: Iterable[FailureRow], format: str, out: TextIO) -> int:
    """Write ``rows`` as CSV (a header line) or a JSON array; times are ISO 8601 in UTC. Returns the count."""
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")
    records = [{name: _plain(value) for name, value in asdict(row).items()} for row in rows]
    if format == "json":
        json.dump(records, out, indent=2)
        out.write("\n")
    else:
        writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    return len(records)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


# -- running the retried rows ----------------------------------------------------------------------


def queue_retry(settings: ProcessSettings, ref: TenantRef, streams: Sequence[str], broker: str) -> JobInfo:
    """Queue an incremental run of ``streams`` on the live daemon, recorded first as ``resync`` does."""
    from syncd.ops.resync import enqueue_job

    return enqueue_job(settings, ref, broker, kind="incremental", trigger=RETRY_TRIGGER, streams=streams)


def run_retry_here(settings: ProcessSettings, ref: TenantRef, streams: Sequence[str]) -> TenantOutcome:
    """Run the streams in this process, as ``syncd sync`` does (same lease when a daemon is live).

    Raises ``TenantBusy`` while a daemon run holds the tenant.
    """
    tenant = load_tenant(ref.path, settings)
    with exclusive_run(settings, tenant, tenant.state_url) as lease:
        epoch, guard = (None, None) if lease is None else (lease.epoch, guarded_by(lease))
        wanted = list(streams) or None
        with attempted_runtime(
            tenant, epoch=epoch, guard=guard, streams=wanted, trigger=RETRY_TRIGGER
        ) as runtime:
            return sync_tenant(runtime, streams=wanted, trigger=RETRY_TRIGGER)


# -- internals -------------------------------------------------------------------------------------


def _conditions(tenant: str, query: FailureQuery, now: datetime) -> list[ColumnElement[bool]]:
    failure = models.Failure
    conditions: list[ColumnElement[bool]] = [failure.tenant == tenant]
    if query.status == "open":
        conditions.append(failure.resolved_at.is_(None))
    elif query.status == "resolved":
        conditions.append(failure.resolved_at.is_not(None))
    if query.streams:
        conditions.append(failure.stream.in_(query.streams))
    conditions.append(failure.kind.in_(query.kinds or FAILURE_KINDS))
    if query.keys:
        conditions.append(failure.source_key.in_(query.keys))
    if query.older_than is not None:
        conditions.append(failure.first_failed_at <= now - query.older_than)
    if query.newer_than is not None:
        conditions.append(failure.first_failed_at >= now - query.newer_than)
    return conditions


def _chosen(sessions: Sessions, tenant: str, query: FailureQuery, now: datetime) -> dict[int, FailureRow]:
    """The failures a change acts on, by id, as they are before it."""
    failure = models.Failure
    statement = select(failure).where(*_conditions(tenant, query, now)).order_by(failure.id)
    if query.limit is not None:
        statement = statement.limit(query.limit)
    with sessions() as session:
        return {f.id: _row(f) for f in session.scalars(statement)}


def _row(f: models.Failure) -> FailureRow:
    return FailureRow(
        tenant=f.tenant,
        stream=f.stream,
        source_key=f.source_key,
        operation=f.operation,
        kind=f.kind,
        http_status=f.http_status,
        message=f.message,
        request_id=f.request_id,
        payload_hash=f.payload_hash,
        attempts=f.attempts,
        first_failed_at=f.first_failed_at,
        last_failed_at=f.last_failed_at,
        next_attempt_at=f.next_attempt_at,
        resolved_at=f.resolved_at,
    )


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
