"""The state DB as the engine's ``Store``, plus the run log and failure views ops need.

One ``StateStore`` is scoped to one tenant so no query can leak another tenant's rows. The
engine owns the sync semantics; this module only guarantees that what one batch settles is
written all-or-nothing, so a crash can never leave a cursor ahead of its links.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Select, String, Table, bindparam, delete, func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from syncd.engine.campaigns.run import CAMPAIGN_PREFIX
from syncd.engine.errors import StoreUnavailable
from syncd.engine.ports import Commit, FailureRecord, Link
from syncd.engine.position_codec import decode_position, encode_position
from syncd.engine.records import Position
from syncd.errors import Skippable
from syncd.observability.metrics import record_failures
from syncd.state import models
from syncd.state.leases import fence
from syncd.state.runs import process_token
from syncd.state.types import utcnow
from syncd.state.upsert import upsert

# Bounded IN lists: PostgreSQL and old SQLite builds cap bind parameters per statement.
CHUNK = 500
YIELD_PER = 1000

PENDING_KINDS = ("retryable", "waiting")  # retried by a later run once next_attempt_at is due
COMPANIES, CUSTOMERS = "companies", "customers"  # customers' links name companies by key
WARNING = "warning"  # synced, with something to say (see FailureRecord): counted apart from failures
BLOCKED_KINDS = ("permanent", "rejected")  # not sent again until the payload changes

_LINKS: Table = models.Base.metadata.tables["links"]
_FAILURES: Table = models.Base.metadata.tables["failures"]
_CURSORS: Table = models.Base.metadata.tables["cursors"]

T = TypeVar("T")

log = logging.getLogger("syncd.failures")


class CursorTooLong(ValueError, Skippable):
    """The encoded cursor does not fit its column.

    Raised before anything is written: SQLite would store it silently and PostgreSQL would
    reject it, and the two state DBs must behave alike.
    """


@dataclass(frozen=True, slots=True)
class RunInfo:
    id: int
    stream: str
    trigger: str
    mode: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    counters: dict[str, Any]
    error: str | None
    job_id: str | None = None
    last_seen_at: datetime | None = None  # when its process last showed it alive


@dataclass(frozen=True, slots=True)
class StreamCounts:
    """What ``syncd status`` shows per stream without loading any rows."""

    linked: int  # links in state 'synced'
    pending: int  # links whose create may or may not have reached Thulium
    failed: int  # open failures of any kind (warnings are not failures)
    retryable: int  # open failures a later run will retry by itself
    warnings: int = 0  # rows synced with a warning (a customer sent without its company)


@dataclass(frozen=True, slots=True)
class OpenFailure:
    stream: str
    source_key: str
    operation: str
    kind: str
    message: str
    http_status: int | None
    request_id: str | None
    attempts: int
    first_failed_at: datetime
    last_failed_at: datetime
    next_attempt_at: datetime | None


class StateStore:
    """The engine's ``Store`` for one tenant (one writer per tenant is ensured by the worker's lock).

    With an ``epoch`` the store is fenced: run starts and commits are refused with ``LeaseLost``
    once another process has taken the tenant's lock, even if this one never noticed losing it.
    """

    def __init__(
        self,
        session_factory: Callable[[], Session],
        tenant: str,
        *,
        clock: Callable[[], datetime] = utcnow,
        epoch: int | None = None,
    ) -> None:
        self._sessions = session_factory
        self.tenant = tenant
        self._clock = clock
        self.epoch = epoch
        # Per stream, the keys with an open failure (loaded on first use): almost every commit
        # resolves keys, and almost none of them have anything to resolve.
        self._open: dict[str, set[str]] = {}
        self._running: dict[str, int] = {}  # stream -> the run this store started and has not finished
        self._token: str | None = None  # who holds this store's runs (see _holder)

    # -- reads the engine plans with -------------------------------------------------------

    @property
    def sessions(self) -> Callable[[], Session]:
        """For the schedule slots the activity streams claim in the same database."""
        return self._sessions

    def cursor(self, stream: str) -> Position | None:
        with self._sessions() as session:
            row = session.execute(
                select(models.Cursor.cursor_value, models.Cursor.cursor_key).where(
                    models.Cursor.tenant == self.tenant, models.Cursor.stream == stream
                )
            ).one_or_none()
        if row is None or row.cursor_value is None or row.cursor_key is None:
            return None
        return decode_position(row.cursor_value, row.cursor_key)

    def links(self, stream: str, keys: Collection[str]) -> dict[str, Link]:
        found: dict[str, Link] = {}
        with self._sessions() as session:
            for chunk in _chunks(sorted(set(keys))):
                query = self._links_query(stream).where(models.Link.source_key.in_(chunk))
                for row in session.execute(query):
                    found[row[0]] = _link(*row)
        return found

    def source_keys_of(self, customer_ids: Collection[int]) -> dict[int, tuple[str, str]]:
        """Thulium customer id → (stream, source key): a customer's own id, or a company's customer id."""
        link, found = models.Link, {}
        with self._sessions() as session:
            for chunk in _chunks(sorted(set(customer_ids))):
                by_customer = select(link.thulium_id, link.stream, link.source_key).where(
                    link.tenant == self.tenant, link.stream == "customers", link.thulium_id.in_(chunk)
                )
                by_company = select(link.company_customer_id, link.stream, link.source_key).where(
                    link.tenant == self.tenant,
                    link.stream == "companies",
                    link.company_customer_id.in_(chunk),
                )
                for query in (by_company, by_customer):  # a customer's own link wins
                    for customer_id, stream, key in session.execute(query):
                        if customer_id is not None:
                            found[int(customer_id)] = (stream, key)
        return found

    def all_links(self, stream: str) -> Iterator[Link]:
        """Streamed so a full reconcile of a large tenant never holds every link in memory."""
        query = self._links_query(stream).order_by(models.Link.source_key)
        with self._sessions() as session:
            rows = session.execute(query.execution_options(yield_per=YIELD_PER))
            for row in rows:
                yield _link(*row)

    def pending_keys(self, stream: str, keys: Collection[str]) -> set[str]:
        link = models.Link
        found: set[str] = set()
        with self._sessions() as session:
            for chunk in _chunks(sorted(set(keys))):
                query = select(link.source_key).where(
                    link.tenant == self.tenant,
                    link.stream == stream,
                    link.state == "pending",
                    link.source_key.in_(chunk),
                )
                found.update(session.scalars(query))
        return found

    def due_retries(self, stream: str, now: datetime) -> list[str]:
        failure, link = models.Failure, models.Link
        query = (
            select(failure.source_key)
            .where(
                failure.tenant == self.tenant,
                failure.stream == stream,
                failure.resolved_at.is_(None),
                failure.kind.in_(PENDING_KINDS),
                failure.next_attempt_at.is_(None) | (failure.next_attempt_at <= now),
            )
            .order_by(failure.id)
        )
        moved = select(link.source_key).where(
            link.tenant == self.tenant, link.stream == stream, link.recheck.is_(True)
        )
        with self._sessions() as session:
            keys = list(session.scalars(query))
            return keys + sorted(set(session.scalars(moved)) - set(keys))

    def open_failure_hashes(self, stream: str, keys: Collection[str]) -> dict[str, str | None]:
        failure = models.Failure
        found: dict[str, str | None] = {}
        with self._sessions() as session:
            for chunk in _chunks(sorted(set(keys))):
                query = select(failure.source_key, failure.payload_hash).where(
                    failure.tenant == self.tenant,
                    failure.stream == stream,
                    failure.resolved_at.is_(None),
                    failure.kind.in_(BLOCKED_KINDS),
                    failure.source_key.in_(chunk),
                )
                found.update((key, payload_hash) for key, payload_hash in session.execute(query))
        return found

    def newest_id(self, stream: str) -> int | None:
        link = models.Link
        query = select(func.max(link.thulium_id)).where(link.tenant == self.tenant, link.stream == stream)
        with self._sessions() as session:
            newest = session.scalar(query)
        return None if newest is None else int(newest)

    def open_failure_keys(self, stream: str) -> set[str]:
        failure = models.Failure
        query = select(failure.source_key).where(
            failure.tenant == self.tenant, failure.stream == stream, failure.resolved_at.is_(None)
        )
        with self._sessions() as session:
            return set(session.scalars(query))

    # -- the one write path of a sync run --------------------------------------------------

    def commit(self, stream: str, commit: Commit) -> None:
        """Write everything one batch settled in ONE transaction.

        Deletes and resolutions are applied before upserts, so a key that somehow appears in
        both ends up linked / failed: losing a link would duplicate a Thulium record on the
        next run, and losing a failure would hide it.
        """
        cursor = self._encode_cursor(commit.cursor) if commit.cursor is not None else None
        try:
            self._commit(stream, commit, cursor)
        except OperationalError as exc:
            self._open.clear()  # the transaction rolled back: what it did to the cache did not happen
            reason = exc.orig or exc
            raise StoreUnavailable(
                f"state DB unavailable ({type(reason).__name__}: {reason}); the next run resumes"
            ) from exc
        except BaseException:
            self._open.clear()
            raise
        if commit.failures:
            self._report_failures(stream, commit.failures)

    def _report_failures(self, stream: str, failures: Sequence[FailureRecord]) -> None:
        """One line per recorded failure, with ids only: the message may quote what Thulium was sent.

        A rejection's reason is syncd's own and never holds the value (``engine/normalize.py``); Thulium's
        messages stay in the failures table, found through the key or the request id.
        """
        record_failures(self.tenant, stream, (f.kind for f in failures))
        for f in failures:
            line: dict[str, object] = {"tenant": self.tenant, "stream": stream, "source_key": f.source_key}
            line.update(
                operation=f.operation, kind=f.kind, http_status=f.http_status, request_id=f.request_id
            )
            if f.kind == "rejected":
                line["reason"] = f.message
            log.log(logging.WARNING if f.kind in BLOCKED_KINDS else logging.INFO, "record failed", extra=line)

    def _commit(self, stream: str, commit: Commit, cursor: tuple[str, str] | None) -> None:
        now = self._clock()
        with self._sessions() as session, session.begin():
            self._fence(session)
            dialect = session.get_bind().dialect.name
            self._unlink(session, stream, commit.unlinked)
            self._mark_pending(session, dialect, stream, commit.pending, now)
            self._upsert_links(session, dialect, stream, commit.links, now)
            self._recheck(session, stream, commit.moved, commit.rechecked)
            self._resolve(session, stream, commit.resolved, now)
            self._upsert_failures(session, dialect, stream, commit.failures, now)
            if cursor is not None:
                self._upsert_cursor(session, dialect, stream, cursor, now)
            self._seen(session, stream, now)

    # -- run log ---------------------------------------------------------------------------

    def start_run(self, stream: str, trigger: str, mode: str, job_id: str | None = None) -> int:
        """A ``running`` row naming its holder: another process can tell when it died (``state/runs``)."""
        now = self._clock()
        with self._sessions() as session, session.begin():
            self._fence(session)
            run = self._new_run(session, stream, trigger, mode, job_id, now)
            session.add(run)
            session.flush()
            run_id = run.id
        self._running[stream] = run_id
        return run_id

    def record_aborted_attempt(
        self, streams: Sequence[str], trigger: str, mode: str, error: str, job_id: str | None = None
    ) -> list[int]:
        """An attempt that failed before its first run: one ``aborted`` run per stream it was to run.

        Without it a sync that never got going would leave no trace, and health would judge the
        tenant by older runs (or by none: "ok").
        """
        now = self._clock()
        with self._sessions() as session, session.begin():
            self._fence(session)
            runs = [self._new_run(session, stream, trigger, mode, job_id, now) for stream in streams]
            for run in runs:
                run.status, run.finished_at, run.error = "aborted", now, error
            session.add_all(runs)
            session.flush()
            return [run.id for run in runs]

    def finish_run(
        self,
        run_id: int,
        status: str,
        counters: Mapping[str, Any],
        error: str | None = None,
    ) -> None:
        # Not fenced: a run stopped by LeaseLost must still be able to record that it was fenced. A run
        # another process closed as crashed while this one was paused gets its real ending back.
        values = dict(counters)
        with self._sessions() as session, session.begin():
            run = session.get(models.Run, run_id)
            if run is None or run.tenant != self.tenant:
                raise LookupError(f"no run {run_id} for tenant {self.tenant!r}")
            run.status = status
            run.counters = values
            run.error = error
            run.finished_at = run.last_seen_at = self._clock()
        self._running = {s: r for s, r in self._running.items() if r != run_id}

    def last_runs(self, stream: str | None = None, limit: int = 20) -> list[RunInfo]:
        """Newest first; ``syncd status`` shows the latest per stream."""
        run = models.Run
        query = select(run).where(run.tenant == self.tenant)
        if stream is not None:
            query = query.where(run.stream == stream)
        query = query.order_by(run.started_at.desc(), run.id.desc()).limit(limit)
        with self._sessions() as session:
            return [
                RunInfo(
                    id=r.id,
                    stream=r.stream,
                    trigger=r.trigger,
                    mode=r.mode,
                    status=r.status,
                    started_at=r.started_at,
                    finished_at=r.finished_at,
                    counters=dict(r.counters or {}),
                    error=r.error,
                    job_id=r.job_id,
                    last_seen_at=r.last_seen_at,
                )
                for r in session.scalars(query)
            ]

    # -- status ----------------------------------------------------------------------------

    def stream_counts(self, stream: str) -> StreamCounts:
        link, failure = models.Link, models.Failure
        links = select(link.state, func.count()).where(link.tenant == self.tenant, link.stream == stream)
        failures = select(failure.kind, func.count()).where(
            failure.tenant == self.tenant, failure.stream == stream, failure.resolved_at.is_(None)
        )
        member = models.CampaignMember
        members = select(func.count()).where(
            member.tenant == self.tenant, member.outbound_id == stream.removeprefix(CAMPAIGN_PREFIX)
        )
        with self._sessions() as session:
            if stream.startswith(CAMPAIGN_PREFIX):  # a campaign's "links" are its members
                by_state = {"synced": session.scalar(members) or 0}
            else:
                by_state = {state: n for state, n in session.execute(links.group_by(link.state))}
            by_kind = {kind: n for kind, n in session.execute(failures.group_by(failure.kind))}
        warnings = by_kind.pop(WARNING, 0)
        return StreamCounts(
            linked=by_state.get("synced", 0),
            pending=by_state.get("pending", 0),
            failed=sum(by_kind.values()),
            retryable=sum(by_kind.get(kind, 0) for kind in PENDING_KINDS),
            warnings=warnings,
        )

    # -- failures for ops ------------------------------------------------------------------

    def open_failures(self, stream: str | None = None) -> list[OpenFailure]:
        failure = models.Failure
        query = select(failure).where(failure.tenant == self.tenant, failure.resolved_at.is_(None))
        if stream is not None:
            query = query.where(failure.stream == stream)
        query = query.order_by(failure.stream, failure.source_key)
        with self._sessions() as session:
            return [
                OpenFailure(
                    stream=f.stream,
                    source_key=f.source_key,
                    operation=f.operation,
                    kind=f.kind,
                    message=f.message,
                    http_status=f.http_status,
                    request_id=f.request_id,
                    attempts=f.attempts,
                    first_failed_at=f.first_failed_at,
                    last_failed_at=f.last_failed_at,
                    next_attempt_at=f.next_attempt_at,
                )
                for f in session.scalars(query)
            ]

    # -- internals -------------------------------------------------------------------------

    def _fence(self, session: Session) -> None:
        if self.epoch is not None:
            fence(session, self.tenant, self.epoch)

    def _new_run(
        self, session: Session, stream: str, trigger: str, mode: str, job_id: str | None, now: datetime
    ) -> models.Run:
        return models.Run(
            tenant=self.tenant,
            stream=stream,
            trigger=trigger,
            mode=mode,
            status="running",
            started_at=now,
            counters={},
            job_id=job_id,
            holder=self._holder(session),
            epoch=self.epoch,
            last_seen_at=now,
        )

    def _holder(self, session: Session) -> str:
        """The lease's token (the lease row names it for the epoch), else this process's own token."""
        if self._token is None and self.epoch is not None:
            lease = models.Lease
            query = select(lease.holder).where(lease.tenant == self.tenant, lease.epoch == self.epoch)
            self._token = session.scalar(query)
        if self._token is None:
            self._token = process_token("unleased")
        return self._token

    def _seen(self, session: Session, stream: str, now: datetime) -> None:
        """Each commit is a sign of life of the stream's run, in the same transaction."""
        run_id = self._running.get(stream)
        if run_id is not None:
            session.execute(update(models.Run).where(models.Run.id == run_id).values(last_seen_at=now))

    def _links_query(self, stream: str) -> Select[str, int | None, str | None, int | None, str | None]:
        link = models.Link
        columns = (link.source_key, link.thulium_id, link.payload_hash, link.company_customer_id)
        return select(*columns, link.company_key).where(
            link.tenant == self.tenant,
            link.stream == stream,
            link.state == "synced",
            link.thulium_id.is_not(None),
        )

    def _encode_cursor(self, position: Position) -> tuple[str, str]:
        value, key = encode_position(position)
        for column, text in ((_CURSORS.c.cursor_value, value), (_CURSORS.c.cursor_key, key)):
            limit = column.type.length if isinstance(column.type, String) else None
            if limit is not None and len(text) > limit:
                raise CursorTooLong(f"{column.name} needs {len(text)} characters, the column holds {limit}")
        return value, key

    def _unlink(self, session: Session, stream: str, keys: Iterable[str]) -> None:
        link = models.Link
        for chunk in _chunks(sorted(set(keys))):
            session.execute(
                delete(link).where(
                    link.tenant == self.tenant, link.stream == stream, link.source_key.in_(chunk)
                )
            )

    def _recheck(self, session: Session, stream: str, moved: Sequence[str], rechecked: Sequence[str]) -> None:
        """Customers name companies by key (``links.company_key``): a company that moved in Thulium sends
        the customers naming it round again; a customer planned since needs nothing more."""
        link = models.Link
        for chunk in _chunks(sorted(set(rechecked))):
            mine = (link.tenant == self.tenant, link.stream == stream, link.source_key.in_(chunk))
            session.execute(update(link).where(*mine, link.recheck.is_(True)).values(recheck=False))
        if stream != COMPANIES:
            return
        for chunk in _chunks(sorted(set(moved))):
            naming = (link.tenant == self.tenant, link.stream == CUSTOMERS, link.company_key.in_(chunk))
            session.execute(update(link).where(*naming).values(recheck=True))

    def _resolve(self, session: Session, stream: str, keys: Iterable[str], now: datetime) -> None:
        open_keys = self._open_keys(session, stream)
        settled = sorted(open_keys.intersection(keys))
        for chunk in _chunks(settled):
            params = {"b_tenant": self.tenant, "b_stream": stream, "b_keys": chunk, "b_now": now}
            session.execute(_RESOLVE, params)
        open_keys.difference_update(settled)

    def _open_keys(self, session: Session, stream: str) -> set[str]:
        """A failure opened by another process after this load is resolved by its own next run."""
        if stream not in self._open:
            failure = models.Failure
            query = select(failure.source_key).where(
                failure.tenant == self.tenant, failure.stream == stream, failure.resolved_at.is_(None)
            )
            self._open[stream] = set(session.scalars(query))
        return self._open[stream]

    def _mark_pending(
        self, session: Session, dialect: str, stream: str, keys: Sequence[str], now: datetime
    ) -> None:
        """A pending row hides any old link, so a crash mid-create is settled by lookup, not by re-create."""
        if not keys:
            return
        rows = [
            {"tenant": self.tenant, "stream": stream, "source_key": key, "state": "pending", "synced_at": now}
            for key in dict.fromkeys(keys)
        ]
        session.execute(_pending_upsert(dialect), rows)

    def _upsert_links(
        self, session: Session, dialect: str, stream: str, links: Sequence[Link], now: datetime
    ) -> None:
        # Last one wins: PostgreSQL refuses to update the same row twice in one statement.
        latest = {link.source_key: link for link in links}
        if not latest:
            return
        rows = [
            {
                "tenant": self.tenant,
                "stream": stream,
                "source_key": link.source_key,
                "thulium_id": link.thulium_id,
                "company_customer_id": link.company_customer_id,
                "payload_hash": link.payload_hash,
                "state": "synced",
                "synced_at": now,
                "company_key": link.company_key,
                "recheck": False,
            }
            for link in latest.values()
        ]
        session.execute(_links_upsert(dialect), rows)

    def _upsert_failures(
        self, session: Session, dialect: str, stream: str, failures: Sequence[FailureRecord], now: datetime
    ) -> None:
        latest = {failure.source_key: failure for failure in failures}
        if not latest:
            return
        rows = [
            {
                "tenant": self.tenant,
                "stream": stream,
                "source_key": f.source_key,
                "operation": f.operation,
                "kind": f.kind,
                "http_status": f.http_status,
                "message": f.message,
                "request_id": f.request_id,
                "payload_hash": f.payload_hash,
                "attempts": 1,
                "first_failed_at": now,
                "last_failed_at": now,
                "next_attempt_at": f.next_attempt_at,
                "resolved_at": None,
            }
            for f in latest.values()
        ]
        session.execute(_failures_upsert(dialect), rows)
        if stream in self._open:
            self._open[stream].update(latest)

    def _upsert_cursor(
        self, session: Session, dialect: str, stream: str, cursor: tuple[str, str], now: datetime
    ) -> None:
        value, key = cursor
        row = {
            "tenant": self.tenant,
            "stream": stream,
            "cursor_value": value,
            "cursor_key": key,
            "updated_at": now,
        }
        statement = upsert(
            dialect,
            _CURSORS,
            ("tenant", "stream"),
            lambda new: {name: new[name] for name in ("cursor_value", "cursor_key", "updated_at")},
        )
        session.execute(statement, [row])


# Statements built once per dialect: building an upsert costs more than executing it.
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
_LINK_COLUMNS = (
    "thulium_id",
    "company_customer_id",
    "payload_hash",
    "state",
    "synced_at",
    "company_key",
    "recheck",
)
_FAILURE_COLUMNS = (
    "operation",
    "kind",
    "http_status",
    "message",
    "request_id",
    "payload_hash",
    "last_failed_at",
    "next_attempt_at",
)
_LINK_KEY = ("tenant", "stream", "source_key")


@cache
def _pending_upsert(dialect: str) -> Insert:
    return upsert(dialect, _LINKS, _LINK_KEY, lambda new: {"state": new["state"]})


@cache
def _links_upsert(dialect: str) -> Insert:
    return upsert(dialect, _LINKS, _LINK_KEY, lambda new: {name: new[name] for name in _LINK_COLUMNS})


@cache
def _failures_upsert(dialect: str) -> Insert:
    # first_failed_at is kept, so a failure that keeps coming back shows how old it is.
    return upsert(
        dialect,
        _FAILURES,
        _LINK_KEY,
        lambda new: {
            **{name: new[name] for name in _FAILURE_COLUMNS},
            "attempts": _FAILURES.c.attempts + 1,
            "resolved_at": None,
        },
    )


def _link(
    key: str,
    thulium_id: int | None,
    payload_hash: str | None,
    company_customer_id: int | None,
    company_key: str | None,
) -> Link:
    assert thulium_id is not None, "the links query only returns linked rows"
    return Link(key, thulium_id, payload_hash, company_customer_id, company_key)


def _chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
