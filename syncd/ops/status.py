"""``syncd status``: what each tenant's state DB and lock say, without reading any secret.

Every tenant is reported on its own: a broken tenant file or an unreachable state DB shows
as that tenant's error line, and the others are still listed. Each tenant also gets a health
verdict (ok / degraded / failing, ``syncd.ops.health``) judged from the same facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import redis
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from syncd.app.runtime import state_streams
from syncd.broker.redis_broker import live_broker_url
from syncd.engine.crm.options import RunOptions
from syncd.engine.records import Position
from syncd.ops.health import (
    DEGRADED,
    FAILING,
    OK,
    JobFacts,
    Policy,
    StreamFacts,
    TenantFacts,
    Verdict,
    unavailable,
    verdict,
)
from syncd.ops.runs import counters_summary
from syncd.settings import ConfigError, ProcessSettings
from syncd.settings.discovery import TenantRef, tenant_files, tenant_ref
from syncd.source.probe import first_line
from syncd.state import migrate
from syncd.state.cursors import read_position
from syncd.state.db import UNUSABLE_DB_ERRORS, StateDb
from syncd.state.failure_log import FailureLog, StreamFailures
from syncd.state.jobs import JobInfo, JobStore
from syncd.state.leases import lease_since
from syncd.state.run_log import RunLog, RunRecord
from syncd.state.runs import reap
from syncd.state.stream_counts import StreamCounter, StreamCounts
from syncd.state.types import utcnow
from syncd.vocabulary import RunStatus
from syncd.worker.lease import lock_holder, lock_seen
from syncd.worker.resources import connect_redis

RECENT_JOBS = 8
HEALTH_JOBS = 50  # enough history to see a poison job behind a run of skips
NEVER_RAN = "no state yet (the tenant has never run)"
HEALTH_STYLE = {OK: "green", DEGRADED: "yellow", FAILING: "red"}


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
    db = StateDb.open(ref.state_url)
    try:
        reap(db.sessions, ref.name, lambda: lock_seen(client, ref.name), "syncd status")
        status.streams = [stream_status(db, ref.name, stream) for stream in state_streams(ref.config)]
        jobs = JobStore(db.sessions, ref.name).recent(HEALTH_JOBS)
        status.jobs = jobs[:RECENT_JOBS]
        facts = health_facts(ref, db, status.streams, jobs, lock, settings or ProcessSettings())
        status.health = verdict(facts)
    except UNUSABLE_DB_ERRORS as exc:
        return unreadable(status, exc)
    finally:
        db.dispose()
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


def stream_status(db: StateDb, tenant: str, stream: str) -> StreamStatus:
    position = read_position(db.sessions, tenant, stream)
    cursor = None if position is None else shown_time(position.updated_at)
    if position is not None and position.key is not None:
        cursor = f"{cursor} / {position.key}"
    runs = RunLog(db.sessions, tenant).newest(stream, limit=1)
    counts = StreamCounter(db.sessions, tenant).counts(stream)
    return StreamStatus(stream, cursor, runs[0] if runs else None, counts, position)


# -- health facts ------------------------------------------------------------------------------


def health_facts(
    ref: TenantRef,
    db: StateDb,
    streams: list[StreamStatus],
    jobs: list[JobInfo],
    lock: LockState,
    settings: ProcessSettings,
) -> TenantFacts:
    """Everything the verdict judges, read once; the verdict itself reads nothing."""
    failures = FailureLog(db.sessions, ref.name).summary()
    successes = RunLog(db.sessions, ref.name).last_successes()
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
        managed_since=JobStore(db.sessions, ref.name).first_created_at(),
        lock_holder=lock.holder,
        lock_since=lease_since(db.sessions, ref.name, lock.holder),
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


# -- rendering ---------------------------------------------------------------------------------


def render_status(tenants: list[TenantStatus], console: Console) -> None:
    for tenant in tenants:
        name, lock = escape(tenant.name), escape(tenant.lock)
        console.print(f"[bold]tenant {name}[/bold]  lock: {lock}{health_line(tenant.health)}")
        for finding in tenant.health.findings[1:] if tenant.health else ():
            console.print(f"  · {escape(finding.reason)}")
        if tenant.error:
            console.print(f"  {escape(tenant.error)}")
            continue
        console.print(streams_table(tenant.streams))
        if tenant.jobs:
            console.print(jobs_table(tenant.jobs))


def health_line(health: Verdict | None) -> str:
    if health is None:
        return ""
    style = HEALTH_STYLE.get(health.level, "bold")
    return f"  health: [{style}]{health.level}[/{style}] — {escape(health.reason)}"


def streams_table(streams: list[StreamStatus]) -> Table:
    table = Table(
        "stream",
        "cursor",
        "last run",
        "counts",
        "took",
        "linked",
        "pending",
        "failed",
        "retrying",
        "warnings",
    )
    for s in streams:
        run = s.last_run
        table.add_row(
            s.stream,
            escape(s.cursor or "-"),  # it ends with a source key: text, never markup
            last_run(run) if run else "never",
            run_counts(run) if run else "-",
            duration(run.started_at, run.finished_at) if run else "-",
            str(s.counts.linked),
            str(s.counts.pending),
            str(s.counts.failed),
            str(s.counts.retryable),
            str(s.counts.warnings),
        )
    return table


def jobs_table(jobs: list[JobInfo]) -> Table:
    table = Table(
        "job", "trigger", "kind", "status", "attempts", "queued", "took", "note", title="recent jobs"
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
            escape((job.error or "")[:80]),
        )
    return table


def last_run(run: RunRecord) -> str:
    """Running and crashed runs also say when their process was last seen."""
    text = f"#{run.id} {run.status} {age(run.started_at)}"
    if run.status in (RunStatus.RUNNING, RunStatus.CRASHED) and run.last_seen_at is not None:
        text += f" (seen {age(run.last_seen_at)})"
    return text + (f" job {run.job_id}" if run.job_id else "")


def run_counts(run: RunRecord) -> str:
    """The same summary as `syncd runs` (campaign runs too: added, removed), then the API requests."""
    requests = run.counters.get("requests")
    parts = (counters_summary(run.counters), f"requests={requests}" if requests else "")
    return " ".join(part for part in parts if part)


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
