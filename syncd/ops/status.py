"""``syncd status``: what each tenant's state DB and lock say, without reading any secret.

Every tenant is reported on its own: a broken tenant file or an unreachable state DB shows
as that tenant's error line, and the others are still listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import redis
from rich.console import Console
from rich.table import Table

from syncd.settings import ConfigError, ProcessSettings
from syncd.settings.discovery import TenantRef, tenant_files, tenant_ref
from syncd.state import migrate
from syncd.state.db import make_engine, session_factory
from syncd.state.jobs import JobInfo, JobStore
from syncd.state.repository import RunInfo, StateStore, StreamCounts
from syncd.wiring import state_streams
from syncd.worker.broker import live_broker_url
from syncd.worker.lease import lock_holder
from syncd.worker.resources import connect_redis

RECENT_JOBS = 8


@dataclass
class StreamStatus:
    stream: str
    cursor: str | None
    last_run: RunInfo | None
    counts: StreamCounts


@dataclass
class TenantStatus:
    name: str
    lock: str = "-"
    streams: list[StreamStatus] = field(default_factory=list)
    jobs: list[JobInfo] = field(default_factory=list)
    error: str | None = None


def gather_status(settings: ProcessSettings) -> list[TenantStatus]:
    client = lock_client(settings)
    result = []
    for file in tenant_files(settings.config_dir):
        try:
            ref = tenant_ref(file, settings)
        except ConfigError as exc:
            result.append(TenantStatus(file.stem, error=str(exc)))
            continue
        result.append(tenant_status(ref, client))
    return result


def lock_client(settings: ProcessSettings) -> redis.Redis | None:
    broker = live_broker_url(settings)
    return None if broker is None else connect_redis(broker)


def tenant_status(ref: TenantRef, client: redis.Redis | None) -> TenantStatus:
    status = TenantStatus(ref.name, lock=describe_lock(client, ref.name))
    if not migrate.is_current(ref.state_url):
        status.error = "no state yet (the tenant has never run)"
        return status
    engine = make_engine(ref.state_url)
    try:
        sessions = session_factory(engine)
        store = StateStore(sessions, ref.name)
        streams = state_streams(ref.config)
        status.streams = [stream_status(store, stream) for stream in streams]
        status.jobs = JobStore(sessions, ref.name).recent(RECENT_JOBS)
    except Exception as exc:  # an unreachable state DB is this tenant's problem, not the listing's
        status.error = f"state DB: {type(exc).__name__}: {exc}"
    finally:
        engine.dispose()
    return status


def describe_lock(client: redis.Redis | None, tenant: str) -> str:
    if client is None:
        return "no broker running"
    try:
        holder = lock_holder(client, tenant)
    except redis.RedisError as exc:
        return f"broker unreachable ({type(exc).__name__})"
    return f"held by {holder}" if holder else "free"


def stream_status(store: StateStore, stream: str) -> StreamStatus:
    position = store.cursor(stream)
    cursor = None if position is None else f"{shown_time(position.updated_at)} / {position.key}"
    runs = store.last_runs(stream, limit=1)
    return StreamStatus(stream, cursor, runs[0] if runs else None, store.stream_counts(stream))


# -- rendering ---------------------------------------------------------------------------------


def render_status(tenants: list[TenantStatus], console: Console) -> None:
    for tenant in tenants:
        console.print(f"[bold]tenant {tenant.name}[/bold]  lock: {tenant.lock}")
        if tenant.error:
            console.print(f"  {tenant.error}")
            continue
        console.print(streams_table(tenant.streams))
        if tenant.jobs:
            console.print(jobs_table(tenant.jobs))


def streams_table(streams: list[StreamStatus]) -> Table:
    table = Table("stream", "cursor", "last run", "counts", "took", "linked", "pending", "failed", "retrying")
    for s in streams:
        run = s.last_run
        table.add_row(
            s.stream,
            s.cursor or "-",
            f"#{run.id} {run.status} {age(run.started_at)}" if run else "never",
            run_counts(run) if run else "-",
            duration(run.started_at, run.finished_at) if run else "-",
            str(s.counts.linked),
            str(s.counts.pending),
            str(s.counts.failed),
            str(s.counts.retryable),
        )
    return table


def jobs_table(jobs: list[JobInfo]) -> Table:
    table = Table(
        "run id", "trigger", "kind", "status", "attempts", "queued", "took", "note", title="recent runs"
    )
    for job in jobs:
        table.add_row(
            job.id,
            job.trigger,
            job.kind + (f" ({', '.join(job.streams)})" if job.streams else ""),
            job.status,
            str(job.attempts),
            age(job.created_at),
            duration(job.started_at, job.finished_at) if job.started_at else "-",
            (job.error or "")[:80],
        )
    return table


def run_counts(run: RunInfo) -> str:
    shown = ("created", "updated", "deleted", "failed", "rejected", "requests")
    return " ".join(f"{k}={run.counters[k]}" for k in shown if run.counters.get(k))


def age(moment: datetime) -> str:
    seconds = int((datetime.now(moment.tzinfo) - moment).total_seconds())
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60}m ago"
    return f"{seconds // 3600}h ago"


def shown_time(value: object) -> str:
    return value.isoformat(sep=" ", timespec="seconds") if isinstance(value, datetime) else str(value)


def duration(start: datetime, end: datetime | None) -> str:
    if end is None:
        return "running"
    return f"{(end - start).total_seconds():.1f}s"
