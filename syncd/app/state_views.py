"""The state DB as ops, web, worker and the CLI see it: one tenant's stores, built here and handed out.

Nothing outside the application layer constructs a state DB, an engine or a store: a command
opens a tenant's stores for its duration (``opened_stores``), a long-lived process keeps one
``StateViews`` (one ``StateDb`` per URL, one ``TenantStores`` per tenant on it). The record types
the stores answer with are re-exported here, so a caller that renders them needs no state module.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from syncd.state.db import UNUSABLE_DB_ERRORS as UNUSABLE_DB_ERRORS
from syncd.state.db import Sessions, StateDb, StateDbs
from syncd.state.event_log import EventLog
from syncd.state.failure_log import FailureLog
from syncd.state.failure_log import FailureQuery as FailureQuery
from syncd.state.failure_log import FailureRow as FailureRow
from syncd.state.jobs import JobInfo as JobInfo
from syncd.state.jobs import JobStore
from syncd.state.members import MemberStore
from syncd.state.repository import StateStore
from syncd.state.run_log import RunLog
from syncd.state.run_log import RunQuery as RunQuery
from syncd.state.run_log import RunRecord as RunRecord
from syncd.state.stream_counts import StreamCounter


@dataclass(frozen=True)
class TenantStores:
    """One tenant's stores on one state DB, unfenced (a fenced run builds its own in ``runtime``)."""

    tenant: str
    db: StateDb
    jobs: JobStore
    runs: RunLog
    failures: FailureLog
    links: StateStore
    counts: StreamCounter
    events: EventLog
    members: MemberStore

    @property
    def sessions(self) -> Sessions:
        return self.db.sessions


def tenant_stores(db: StateDb, tenant: str) -> TenantStores:
    sessions = db.sessions
    return TenantStores(
        tenant=tenant,
        db=db,
        jobs=JobStore(sessions, tenant),
        runs=RunLog(sessions, tenant),
        failures=FailureLog(sessions, tenant),
        links=StateStore(sessions, tenant),
        counts=StreamCounter(sessions, tenant),
        events=EventLog(sessions, tenant),
        members=MemberStore(sessions, tenant),
    )


@contextmanager
def opened_stores(state_url: str, tenant: str) -> Iterator[TenantStores]:
    """For one command: the tenant's stores on a state DB opened now and closed at the end."""
    with StateDb.open(state_url) as db:
        yield tenant_stores(db, tenant)


class StateViews:
    """For the life of a process: one ``StateDb`` per URL, one ``TenantStores`` per tenant and URL.

    Thread-safe (the web process reads from worker threads). Pools must not cross a fork: a
    worker keeps one ``StateViews`` per pid (``syncd.worker.resources``).
    """

    def __init__(self) -> None:
        self._dbs = StateDbs()
        self._stores: dict[tuple[str, str], TenantStores] = {}
        self._lock = threading.Lock()

    def db(self, state_url: str) -> StateDb:
        return self._dbs.get(state_url)

    def stores(self, tenant: str, state_url: str) -> TenantStores:
        db = self._dbs.get(state_url)
        with self._lock:
            stores = self._stores.get((state_url, tenant))
            if stores is None or stores.db is not db:
                stores = self._stores[(state_url, tenant)] = tenant_stores(db, tenant)
            return stores

    def dispose(self) -> None:
        with self._lock:
            self._stores.clear()
        self._dbs.dispose()
