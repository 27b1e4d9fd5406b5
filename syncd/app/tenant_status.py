"""``syncd status``: what each tenant's state DB and lock say, without reading any secret.

Every tenant is reported on its own: a broken tenant file or an unreachable state DB shows
as that tenant's error line, and the others are still listed. Each tenant also gets a health
verdict (ok / degraded / failing, ``syncd.app.health_verdict``) judged from the same facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import redis

from syncd.app.broker_client import connect_redis
from syncd.app.health_verdict import (
    JobFacts,
    Policy,
    StreamFacts,
    TenantFacts,
    Verdict,
    unavailable,
    verdict,
)
from syncd.app.runtime import state_streams
from syncd.app.state_views import UNUSABLE_DB_ERRORS, JobInfo, RunRecord, TenantStores, opened_stores
from syncd.app.tenant_lease import lock_holder, lock_seen
from syncd.broker.redis_broker import live_broker_url
from syncd.engine.crm.options import RunOptions
from syncd.engine.records import Position
from syncd.settings import ConfigError, ProcessSettings
from syncd.settings.discovery import TenantRef, tenant_files, tenant_ref
from syncd.source.probe import first_line
from syncd.state import migrate
from syncd.state.cursors import read_position
from syncd.state.failure_log import StreamFailures
from syncd.state.leases import lease_since
from syncd.state.runs import reap
from syncd.state.stream_counts import StreamCounts
from syncd.state.types import utcnow

RECENT_JOBS = 8
HEALTH_JOBS = 50  # enough history to see a poison job behind a run of skips
NEVER_RAN = "no state yet (the tenant has never run)"


@dataclass
class StreamStatus:
    stream: str
    cursor: str | None
    last_run: RunRecord | None
    counts: StreamCounts
    position: Position | None = None  # the cursor as the source's values (`--json` shows them unformatted)


@dataclass
class TenantStatus:
    name: str
    lock: str = "-"
    streams: list[StreamStatus] = field(default_factory=list)
    jobs: list[JobInfo] = field(default_factory=list)
    error: str | None = None
    health: Verdict | None = None
    lock_holder: str | None = None  # the lock's token when held (`--json`); ``lock`` is what the table shows


@dataclass(frozen=True)
class LockState:
    holder: str | None  # the token in Redis, None when free or unknown
    text: str  # what status shows


def gather_status(settings: ProcessSettings) -> list[TenantStatus]:
    client = lock_client(settings)
    result = []
    for file in tenant_files(settings.config_dir):
        try:
            ref = tenant_ref(file, settings)
        except ConfigError as exc:
            result.append(TenantStatus(file.stem, error=str(exc), health=unavailable("broken tenant file")))
            continue
        result.append(tenant_status(ref, client, settings))
    return result


def lock_client(settings: ProcessSettings) -> redis.Redis | None:
    broker = live_broker_url(settings)
    return None if broker is None else connect_redis(broker)


def tenant_status(
    ref: TenantRef, client: redis.Redis | None, settings: ProcessSettings | None = None
) -> TenantStatus:
    lock = lock_state(client, ref.name)
    status = TenantStatus(ref.name, lock=lock.text, lock_holder=lock.holder)
    try:
        current = migrate.is_current(ref.state_url)
    except UNUSABLE_DB_ERRORS as exc:  # an unreachable state DB is this tenant's problem, not the listing's
        return unreadable(status, exc)
    if not current:
        status.error = NEVER_RAN
        status.health = unavailable(NEVER_RAN, never_ran=True)
        return status
    try:
        with opened_stores(ref.state_url, ref.name) as stores:
            reap(stores.sessions, ref.name, lambda: lock_seen(client, ref.name), "syncd status")
            status.streams = [stream_status(stores, stream) for stream in state_streams(ref.config)]
            jobs = stores.jobs.recent(HEALTH_JOBS)
            status.jobs = jobs[:RECENT_JOBS]
            facts = health_facts(ref, stores, status.streams, jobs, lock, settings or ProcessSettings())
            status.health = verdict(facts)
    except UNUSABLE_DB_ERRORS as exc:
        return unreadable(status, exc)
    return status


def unreadable(status: TenantStatus, exc: Exception) -> TenantStatus:
    status.error = f"state DB: {type(exc).__name__}: {first_line(exc)}"
    status.health = unavailable(f"state DB unreadable ({type(exc).__name__})")
    return status


def lock_state(client: redis.Redis | None, tenant: str) -> LockState:
    if client is None:
        return LockState(None, "no broker running")
    try:
        holder = lock_holder(client, tenant)
    except redis.RedisError as exc:
        return LockState(None, f"broker unreachable ({type(exc).__name__})")
    return LockState(holder, f"held by {holder}" if holder else "free")


def stream_status(stores: TenantStores, stream: str) -> StreamStatus:
    position = read_position(stores.sessions, stores.tenant, stream)
    cursor = None if position is None else shown_time(position.updated_at)
    if position is not None and position.key is not None:
        cursor = f"{cursor} / {position.key}"
    runs = stores.runs.newest(stream, limit=1)
    counts = stores.counts.counts(stream)
    return StreamStatus(stream, cursor, runs[0] if runs else None, counts, position)


# -- health facts ------------------------------------------------------------------------------


def health_facts(
    ref: TenantRef,
    stores: TenantStores,
    streams: list[StreamStatus],
    jobs: list[JobInfo],
    lock: LockState,
    settings: ProcessSettings,
) -> TenantFacts:
    """Everything the verdict judges, read once; the verdict itself reads nothing."""
    failures = stores.failures.summary()
    successes = stores.runs.last_successes()
    schedule = ref.config.schedule
    policy = Policy(
        interval=timedelta(seconds=schedule.interval),
        retry_interval=timedelta(seconds=schedule.retry_interval),
        park_for=RunOptions().park_for,
        lock_limit=timedelta(seconds=settings.visibility_timeout),
    )
    return TenantFacts(
        now=utcnow(),
        policy=policy,
        streams=[
            stream_facts(s, failures.get(s.stream), successes.get(s.stream), own_interval(ref, s.stream))
            for s in streams
        ],
        jobs=[JobFacts(j.id, j.status, j.attempts, j.error) for j in jobs],
        managed_since=stores.jobs.first_created_at(),
        lock_holder=lock.holder,
        lock_since=lease_since(stores.sessions, ref.name, lock.holder),
    )


def own_interval(ref: TenantRef, stream: str) -> timedelta | None:
    activity = ref.config.activity
    sections = activity.sections() if activity else {}
    return timedelta(seconds=sections[stream].interval) if stream in sections else None


def stream_facts(
    status: StreamStatus,
    failures: StreamFailures | None,
    success: datetime | None,
    interval: timedelta | None = None,
) -> StreamFacts:
    run = status.last_run
    return StreamFacts(
        stream=status.stream,
        last_status=None if run is None else run.status,
        last_error=None if run is None else run.error,
        last_success=success,
        permanent=0 if failures is None else failures.permanent,
        pending=0 if failures is None else failures.pending,
        oldest_pending=None if failures is None else failures.oldest_pending,
        interval=interval,
    )


def shown_time(value: object) -> str:
    return value.isoformat(sep=" ", timespec="seconds") if isinstance(value, datetime) else str(value)
