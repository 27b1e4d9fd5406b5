"""The failure log: one live row per (tenant, stream, source key) that syncd could not settle.

The failure-kind policy is ``syncd.vocabulary``'s (``PENDING_KINDS`` are retried by a later run
once due, ``BLOCKED_KINDS`` wait for a changed payload); this module is the only place that turns
it into SQL. A sync run writes here through ``StateStore.commit`` (in the batch's transaction);
ops find, count, retry, resolve and export failures through ``FailureLog``.

A retry by hand only moves a failure into the pending set and out of the blocked one: the next
incremental run re-reads the row by key and sends it like any other, and records it again (with
one more attempt) if it still fails.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from typing import TypeVar

from sqlalchemy import ColumnElement, Table, bindparam, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from syncd.engine.ports import FailureRecord
from syncd.state import models
from syncd.state.rows import record_of
from syncd.state.scope import TenantScoped
from syncd.state.upsert import upsert
from syncd.vocabulary import BLOCKED_KINDS, PENDING_KINDS, FailureKind

FAILURE_KINDS = (FailureKind.REJECTED, FailureKind.PERMANENT, FailureKind.RETRYABLE, FailureKind.WAITING)
# A warning is not a failure of its row (a customer synced without its company): the commands act on
# failures unless asked for warnings with --kind warning.
KINDS = (*FAILURE_KINDS, FailureKind.WARNING)
OPEN, RESOLVED = "open", "resolved"
STATUSES = (OPEN, RESOLVED, "all")
CHUNK = 500  # bounded IN lists: PostgreSQL and old SQLite builds cap bind parameters per statement

_FAILURES: Table = models.Base.metadata.tables["failures"]
_KEY = ("tenant", "stream", "source_key")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class FailureQuery:
    """Which failures a command acts on; every filter is optional and they combine with AND.

    Age filters compare with ``first_failed_at``: "older than 7d" means failing for over a week,
    however often it was retried since.
    """

    streams: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    status: str = OPEN
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
        return replace(self, status=OPEN)


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
        return OPEN if self.resolved_at is None else RESOLVED


@dataclass(frozen=True, slots=True)
class StreamFailures:
    """Open failures of one stream, as the health verdict and the gauges need them."""

    by_kind: dict[str, int]
    oldest_pending: datetime | None  # first_failed_at of the oldest open retryable/waiting row

    @property
    def permanent(self) -> int:
        return self.by_kind.get(FailureKind.PERMANENT, 0)

    @property
    def pending(self) -> int:
        return sum(self.by_kind.get(kind, 0) for kind in PENDING_KINDS)


class FailureLog(TenantScoped):
    """One tenant's failures. Its writes for a sync run take the run's session: they commit with the
    links and the cursor of the same batch, or not at all."""

    # -- what a sync run reads -------------------------------------------------------------

    def due(self, stream: str, now: datetime) -> list[str]:
        """Open pending failures whose next attempt is due, oldest first."""
        failure = models.Failure
        query = (
            select(failure.source_key)
            .where(
                *self._open(stream),
                failure.kind.in_(PENDING_KINDS),
                failure.next_attempt_at.is_(None) | (failure.next_attempt_at <= now),
            )
            .order_by(failure.id)
        )
        with self.sessions() as session:
            return list(session.scalars(query))

    def blocked_hashes(self, stream: str, keys: Collection[str]) -> dict[str, str | None]:
        """The payload hash each blocked key is held back with (until its payload changes). Found by key
        alone, the rest judged here: given ``resolved_at IS NULL`` too, SQLite before ANALYZE read every open
        failure of the stream through ``ix_failures_open`` for each page."""
        failure = models.Failure
        found: dict[str, str | None] = {}
        with self.sessions() as session:
            for chunk in chunks(sorted(set(keys))):
                query = select(
                    failure.source_key, failure.payload_hash, failure.kind, failure.resolved_at
                ).where(
                    failure.tenant == self.tenant, failure.stream == stream, failure.source_key.in_(chunk)
                )
                for key, payload_hash, kind, resolved_at in session.execute(query):
                    if resolved_at is None and kind in BLOCKED_KINDS:
                        found[key] = payload_hash
        return found

    def open_keys(self, stream: str, session: Session | None = None) -> set[str]:
        query = select(models.Failure.source_key).where(*self._open(stream))
        if session is not None:
            return set(session.scalars(query))
        with self.sessions() as own:
            return set(own.scalars(query))

    # -- what a sync run writes, in its batch's transaction --------------------------------

    def record(
        self, session: Session, dialect: str, stream: str, failures: Sequence[FailureRecord], now: datetime
    ) -> set[str]:
        """Open (or reopen) a failure per key, the last record of a key winning; returns the keys."""
        latest = {failure.source_key: failure for failure in failures}
        if latest:
            session.execute(_record_upsert(dialect), [self._row(stream, f, now) for f in latest.values()])
        return set(latest)

    def settle(self, session: Session, stream: str, keys: Sequence[str], now: datetime) -> None:
        """Resolve the open failures of ``keys``: their rows went through."""
        for chunk in chunks(keys):
            params = {"b_tenant": self.tenant, "b_stream": stream, "b_keys": chunk, "b_now": now}
            session.execute(_RESOLVE, params)

    # -- what ops read ---------------------------------------------------------------------

    def find(self, query: FailureQuery, now: datetime) -> list[FailureRow]:
        """Newest failure first, at most ``query.limit``."""
        return list(self._select(query, now, newest_first=True).values())

    def count(self, query: FailureQuery, now: datetime) -> int:
        statement = select(func.count()).select_from(models.Failure).where(*self._conditions(query, now))
        with self.sessions() as session:
            return int(session.scalar(statement) or 0)

    def open_failures(self, stream: str | None = None) -> list[FailureRow]:
        """Every open failure, warnings included, by stream and key."""
        failure = models.Failure
        query = select(failure).where(failure.tenant == self.tenant, failure.resolved_at.is_(None))
        if stream is not None:
            query = query.where(failure.stream == stream)
        with self.sessions() as session:
            return [
                record_of(FailureRow, f)
                for f in session.scalars(query.order_by(failure.stream, failure.source_key))
            ]

    def summary(self) -> dict[str, StreamFailures]:
        """Per stream: open failures by kind and the oldest still waiting for a retry; one grouped query."""
        failure = models.Failure
        statement = (
            select(failure.stream, failure.kind, func.count(), func.min(failure.first_failed_at))
            .where(failure.tenant == self.tenant, failure.resolved_at.is_(None))
            .group_by(failure.stream, failure.kind)
        )
        kinds: dict[str, dict[str, int]] = {}
        oldest: dict[str, datetime] = {}
        with self.sessions() as session:
            for stream, kind, count, first in session.execute(statement):
                kinds.setdefault(stream, {})[kind] = count
                if kind in PENDING_KINDS and first is not None:
                    oldest[stream] = min(first, oldest.get(stream, first))
        return {stream: StreamFailures(by_kind, oldest.get(stream)) for stream, by_kind in kinds.items()}

    def open_by_kind(self) -> dict[str, int]:
        """Open failures of every stream by kind (warnings included): the console's overview."""
        by_kind: dict[str, int] = {}
        for failures in self.summary().values():
            for kind, count in failures.by_kind.items():
                by_kind[kind] = by_kind.get(kind, 0) + count
        return by_kind

    # -- what ops change -------------------------------------------------------------------

    def retry(self, query: FailureQuery, now: datetime) -> list[FailureRow]:
        """Make the chosen open failures due now, so the next incremental run re-reads and re-sends them.

        A blocked failure becomes retryable and forgets its payload hash: otherwise the engine would
        hold the unchanged row back. Returns the failures as they were.
        """
        chosen = self._select(query.open_only(), now)
        failure = models.Failure
        with self.sessions() as session, session.begin():
            for chunk in chunks(list(chosen)):
                still_open = (failure.id.in_(chunk), failure.resolved_at.is_(None))
                session.execute(
                    update(failure).where(*still_open).values(next_attempt_at=now, payload_hash=None)
                )
                blocked = failure.kind.in_(BLOCKED_KINDS)
                session.execute(
                    update(failure).where(*still_open, blocked).values(kind=FailureKind.RETRYABLE)
                )
        return list(chosen.values())

    def resolve(self, query: FailureQuery, now: datetime) -> list[FailureRow]:
        """Close the chosen open failures: a person decided to leave them (a new failure reopens one)."""
        chosen = self._select(query.open_only(), now)
        failure = models.Failure
        with self.sessions() as session, session.begin():
            for chunk in chunks(list(chosen)):
                session.execute(
                    update(failure)
                    .where(failure.id.in_(chunk), failure.resolved_at.is_(None))
                    .values(resolved_at=now)
                )
        return list(chosen.values())

    # -- internals -------------------------------------------------------------------------

    def _open(self, stream: str) -> tuple[ColumnElement[bool], ...]:
        failure = models.Failure
        return failure.tenant == self.tenant, failure.stream == stream, failure.resolved_at.is_(None)

    def _select(
        self, query: FailureQuery, now: datetime, *, newest_first: bool = False
    ) -> dict[int, FailureRow]:
        """The matching failures by id, at most ``query.limit``: the newest or the first recorded."""
        failure = models.Failure
        order = (failure.last_failed_at.desc(), failure.id.desc()) if newest_first else (failure.id,)
        statement = select(failure).where(*self._conditions(query, now)).order_by(*order)
        if query.limit is not None:
            statement = statement.limit(query.limit)
        with self.sessions() as session:
            return {f.id: record_of(FailureRow, f) for f in session.scalars(statement)}

    def _conditions(self, query: FailureQuery, now: datetime) -> list[ColumnElement[bool]]:
        failure = models.Failure
        conditions: list[ColumnElement[bool]] = [failure.tenant == self.tenant]
        if query.status == OPEN:
            conditions.append(failure.resolved_at.is_(None))
        elif query.status == RESOLVED:
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

    def _row(self, stream: str, f: FailureRecord, now: datetime) -> dict[str, object]:
        # The record's fields are the table's columns of the same names.
        first = {"attempts": 1, "first_failed_at": now, "last_failed_at": now, "resolved_at": None}
        return {"tenant": self.tenant, "stream": stream, **asdict(f), **first}


def chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    """``items`` in lists of at most ``size``: what one IN list of a statement may hold."""
    whole = items if isinstance(items, list) else list(items)
    for start in range(0, len(whole), size):
        yield whole[start : start + size]


# Statements built once (per dialect): building an upsert costs more than executing it.
_RESOLVE = (
    update(_FAILURES)
    .where(
        _FAILURES.c.tenant == bindparam("b_tenant"),
        _FAILURES.c.stream == bindparam("b_stream"),
        _FAILURES.c.source_key.in_(bindparam("b_keys", expanding=True)),
        _FAILURES.c.resolved_at.is_(None),
    )
    .values(resolved_at=bindparam("b_now"))
)
_UPDATED = (
    "operation",
    "kind",
    "http_status",
    "message",
    "request_id",
    "payload_hash",
    "last_failed_at",
    "next_attempt_at",
)


@cache
def _record_upsert(dialect: str) -> Insert:
    # first_failed_at is kept, so a failure that keeps coming back shows how old it is.
    return upsert(
        dialect,
        _FAILURES,
        _KEY,
        lambda new: {
            **{name: new[name] for name in _UPDATED},
            "attempts": _FAILURES.c.attempts + 1,
            "resolved_at": None,
        },
    )
