"""The state DB as the engine's ``Store``: links and cursors, and one transaction per batch.

One ``StateStore`` is scoped to one tenant so no query can leak another tenant's rows. The
engine owns the sync semantics; this module only guarantees that what one batch settles is
written all-or-nothing, so a crash can never leave a cursor ahead of its links. The failures
and runs of a batch are the failure log's and the run log's (``failure_log``, ``run_log``),
written in the same transaction; what ops read of them is read there too.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, String, Table, delete, func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from syncd.engine.errors import StoreUnavailable
from syncd.engine.ports import Commit, FailureRecord, Link
from syncd.engine.position_codec import encode_position
from syncd.engine.records import Position
from syncd.errors import Skippable
from syncd.observability.metrics import record_failures
from syncd.state import models
from syncd.state.cursors import read_position, write_cursor
from syncd.state.failure_log import FailureLog, chunks
from syncd.state.leases import holder_of
from syncd.state.run_log import RunLog
from syncd.state.runs import process_token
from syncd.state.scope import TenantScoped
from syncd.state.upsert import execute_batch, upsert
from syncd.vocabulary import BLOCKED_KINDS, FailureKind, RunStatus

YIELD_PER = 1000
COMPANIES, CUSTOMERS = "companies", "customers"  # customers' links name companies by key
PENDING, SYNCED = "pending", "synced"  # a link's state: its create may or may not have reached Thulium

_LINKS: Table = models.Base.metadata.tables["links"]
_CURSORS: Table = models.Base.metadata.tables["cursors"]

log = logging.getLogger("syncd.failures")


class CursorTooLong(ValueError, Skippable):
    """The encoded cursor does not fit its column.

    Raised before anything is written: SQLite would store it silently and PostgreSQL would
    reject it, and the two state DBs must behave alike.
    """


@dataclass(eq=False)
class StateStore(TenantScoped):
    """The engine's ``Store`` for one tenant (one writer per tenant is ensured by the worker's lock).

    With an ``epoch`` the store is fenced: run starts and commits are refused with ``LeaseLost``
    once another process has taken the tenant's lock, even if this one never noticed losing it.
    """

    # Per stream, the keys with an open failure (loaded on first use): almost every commit
    # resolves keys, and almost none of them have anything to resolve.
    _open: dict[str, set[str]] = field(default_factory=dict, init=False, repr=False)
    _running: dict[str, int] = field(default_factory=dict, init=False, repr=False)  # stream -> its open run
    _token: str | None = field(default=None, init=False, repr=False)  # who holds this store's runs
    _failures: FailureLog = field(init=False, repr=False)
    _runs: RunLog = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._failures = FailureLog(self.sessions, self.tenant, clock=self.clock, epoch=self.epoch)
        self._runs = RunLog(self.sessions, self.tenant, clock=self.clock, epoch=self.epoch)

    # -- reads the engine plans with -------------------------------------------------------

    def cursor(self, stream: str) -> Position | None:
        return read_position(self.sessions, self.tenant, stream)

    def links(self, stream: str, keys: Collection[str]) -> dict[str, Link]:
        """Found by key alone, the rest judged here: with ``thulium_id IS NOT NULL`` in the statement, SQLite
        before ANALYZE walked the stream's whole ``ix_links_thulium`` range for every page of a load."""
        link, found = models.Link, {}
        columns = (link.source_key, link.thulium_id, link.payload_hash, link.company_customer_id)
        with self.sessions() as session:
            for chunk in chunks(sorted(set(keys))):
                query = select(*columns, link.company_key, link.state).where(
                    link.tenant == self.tenant, link.stream == stream, link.source_key.in_(chunk)
                )
                for key, thulium_id, payload_hash, company_customer_id, company_key, state in session.execute(
                    query
                ):
                    if state == SYNCED and thulium_id is not None:
                        found[key] = Link(key, thulium_id, payload_hash, company_customer_id, company_key)
        return found

    def source_keys_of(self, customer_ids: Collection[int]) -> dict[int, tuple[str, str]]:
        """Thulium customer id → (stream, source key): a customer's own id, or a company's customer id."""
        link, found = models.Link, {}
        with self.sessions() as session:
            for chunk in chunks(sorted(set(customer_ids))):
                by_customer = select(link.thulium_id, link.stream, link.source_key).where(
                    link.tenant == self.tenant, link.stream == CUSTOMERS, link.thulium_id.in_(chunk)
                )
                by_company = select(link.company_customer_id, link.stream, link.source_key).where(
                    link.tenant == self.tenant,
                    link.stream == COMPANIES,
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
        with self.sessions() as session:
            rows = session.execute(query.execution_options(yield_per=YIELD_PER))
            for row in rows:
                yield _link(*row)

    def pending_keys(self, stream: str, keys: Collection[str]) -> set[str]:
        link = models.Link
        found: set[str] = set()
        with self.sessions() as session:
            for chunk in chunks(sorted(set(keys))):
                query = select(link.source_key).where(
                    link.tenant == self.tenant,
                    link.stream == stream,
                    link.state == PENDING,
                    link.source_key.in_(chunk),
                )
                found.update(session.scalars(query))
        return found

    def due_retries(self, stream: str, now: datetime) -> list[str]:
        link = models.Link
        moved = select(link.source_key).where(
            link.tenant == self.tenant, link.stream == stream, link.recheck.is_(True)
        )
        keys = self._failures.due(stream, now)
        with self.sessions() as session:
            return keys + sorted(set(session.scalars(moved)) - set(keys))

    def open_failure_hashes(self, stream: str, keys: Collection[str]) -> dict[str, str | None]:
        return self._failures.blocked_hashes(stream, keys)

    def newest_id(self, stream: str) -> int | None:
        link = models.Link
        # "IS NOT NULL" changes nothing for max() but lets the planner use the partial ix_links_thulium.
        query = select(func.max(link.thulium_id)).where(
            link.tenant == self.tenant, link.stream == stream, link.thulium_id.is_not(None)
        )
        with self.sessions() as session:
            newest = session.scalar(query)
        return None if newest is None else int(newest)

    def open_failure_keys(self, stream: str) -> set[str]:
        return self._failures.open_keys(stream)

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
            if f.kind == FailureKind.REJECTED:
                line["reason"] = f.message
            log.log(logging.WARNING if f.kind in BLOCKED_KINDS else logging.INFO, "record failed", extra=line)

    def _commit(self, stream: str, commit: Commit, cursor: tuple[str, str] | None) -> None:
        now = self.clock()
        with self.sessions() as session, session.begin():
            self._fence(session)
            dialect = session.get_bind().dialect.name
            self._unlink(session, stream, commit.unlinked)
            self._mark_pending(session, dialect, stream, commit.pending, now)
            self._upsert_links(session, dialect, stream, commit.links, now)
            self._recheck(session, stream, commit.moved, commit.rechecked)
            self._resolve(session, stream, commit.resolved, now)
            recorded = self._failures.record(session, dialect, stream, commit.failures, now)
            if stream in self._open:
                self._open[stream].update(recorded)
            if cursor is not None:
                write_cursor(session, dialect, self.tenant, stream, cursor, now)
            if stream in self._running:  # each commit is a sign of life of the stream's run
                self._runs.seen(session, self._running[stream], now)

    # -- run log ---------------------------------------------------------------------------

    def start_run(self, stream: str, trigger: str, mode: str, job_id: str | None = None) -> int:
        """A ``running`` row naming its holder: another process can tell when it died (``state/runs``)."""
        with self.sessions() as session, session.begin():
            self._fence(session)
            [run] = self._runs.start(session, [stream], trigger, mode, job_id, self._holder(session))
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
        with self.sessions() as session, session.begin():
            self._fence(session)
            runs = self._runs.start(session, streams, trigger, mode, job_id, self._holder(session))
            for run in runs:
                run.status, run.finished_at, run.error = RunStatus.ABORTED, run.started_at, error
            session.flush()
            return [run.id for run in runs]

    def finish_run(
        self,
        run_id: int,
        status: str,
        counters: Mapping[str, Any],
        error: str | None = None,
    ) -> None:
        # Not fenced: a run stopped by LeaseLost must still be able to record that it was fenced.
        self._runs.finish(run_id, status, counters, error)
        self._running = {s: r for s, r in self._running.items() if r != run_id}

    # -- internals -------------------------------------------------------------------------

    def _holder(self, session: Session) -> str:
        """The lease's token (the lease row names it for the epoch), else this process's own token."""
        if self._token is None and self.epoch is not None:
            self._token = holder_of(session, self.tenant, self.epoch)
        if self._token is None:
            self._token = process_token("unleased")
        return self._token

    def _links_query(self, stream: str) -> Select[str, int | None, str | None, int | None, str | None]:
        link = models.Link
        columns = (link.source_key, link.thulium_id, link.payload_hash, link.company_customer_id)
        return select(*columns, link.company_key).where(
            link.tenant == self.tenant,
            link.stream == stream,
            link.state == SYNCED,
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
        for chunk in chunks(sorted(set(keys))):
            session.execute(
                delete(link).where(
                    link.tenant == self.tenant, link.stream == stream, link.source_key.in_(chunk)
                )
            )

    def _recheck(self, session: Session, stream: str, moved: Sequence[str], rechecked: Sequence[str]) -> None:
        """Customers name companies by key (``links.company_key``): a company that moved in Thulium sends
        the customers naming it round again; a customer planned since needs nothing more."""
        link = models.Link
        for chunk in chunks(sorted(set(rechecked))):
            mine = (link.tenant == self.tenant, link.stream == stream, link.source_key.in_(chunk))
            session.execute(update(link).where(*mine, link.recheck.is_(True)).values(recheck=False))
        if stream != COMPANIES:
            return
        for chunk in chunks(sorted(set(moved))):
            naming = (link.tenant == self.tenant, link.stream == CUSTOMERS, link.company_key.in_(chunk))
            session.execute(update(link).where(*naming).values(recheck=True))

    def _resolve(self, session: Session, stream: str, keys: Iterable[str], now: datetime) -> None:
        open_keys = self._open_keys(session, stream)
        settled = sorted(open_keys.intersection(keys))
        self._failures.settle(session, stream, settled, now)
        open_keys.difference_update(settled)

    def _open_keys(self, session: Session, stream: str) -> set[str]:
        """A failure opened by another process after this load is resolved by its own next run."""
        if stream not in self._open:
            self._open[stream] = self._failures.open_keys(stream, session)
        return self._open[stream]

    def _mark_pending(
        self, session: Session, dialect: str, stream: str, keys: Sequence[str], now: datetime
    ) -> None:
        """A pending row hides any old link, so a crash mid-create is settled by lookup, not by re-create."""
        if not keys:
            return
        rows = [
            {"tenant": self.tenant, "stream": stream, "source_key": key, "state": PENDING, "synced_at": now}
            for key in dict.fromkeys(keys)
        ]
        execute_batch(session, _pending_upsert(dialect), rows)

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
                "state": SYNCED,
                "synced_at": now,
                "company_key": link.company_key,
                "recheck": False,
            }
            for link in latest.values()
        ]
        execute_batch(session, _links_upsert(dialect), rows)


# Statements built once per dialect: building an upsert costs more than executing it.
_LINK_COLUMNS = (
    "thulium_id",
    "company_customer_id",
    "payload_hash",
    "state",
    "synced_at",
    "company_key",
    "recheck",
)
_LINK_KEY = ("tenant", "stream", "source_key")


@cache
def _pending_upsert(dialect: str) -> Insert:
    return upsert(dialect, _LINKS, _LINK_KEY, lambda new: {"state": new["state"]})


@cache
def _links_upsert(dialect: str) -> Insert:
    return upsert(dialect, _LINKS, _LINK_KEY, lambda new: {name: new[name] for name in _LINK_COLUMNS})


def _link(
    key: str,
    thulium_id: int | None,
    payload_hash: str | None,
    company_customer_id: int | None,
    company_key: str | None,
) -> Link:
    assert thulium_id is not None, "the links query only returns linked rows"
    return Link(key, thulium_id, payload_hash, company_customer_id, company_key)
