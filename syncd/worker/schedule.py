"""Beat's tick: which tenants are due, decided in the state DB.

Beat only sends a tick every few seconds; the due times live in the ``schedules`` table and
are claimed with compare-and-set. Two beats started by mistake therefore send twice the
ticks but create no extra jobs, and intervals edited in a tenant file apply at the next tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

import redis

from syncd.app.explain import explain
from syncd.app.preflight import state_problems
from syncd.app.runtime import activity_streams, crm_streams, state_streams
from syncd.app.schema import ensure_schema
from syncd.app.state_views import TenantStores
from syncd.app.tenant_lease import lock_seen
from syncd.settings import ProcessSettings, Tenant
from syncd.settings.discovery import discover_tenants
from syncd.state.runs import reap
from syncd.state.types import utcnow
from syncd.vocabulary import JobKind, Trigger
from syncd.worker.resources import tenant_stores

log = logging.getLogger("syncd.schedule")

Enqueue = Callable[[str, str], None]  # (tenant name, job id) -> the task is on the broker


@dataclass(frozen=True)
class Due:
    kind: JobKind  # what the job runs
    trigger: Trigger  # why: the schedule, or failures due for a retry


def tick(settings: ProcessSettings, enqueue: Enqueue, locks: redis.Redis | None = None) -> list[str]:
    """Queue a job for every due tenant; returns the job ids queued.

    Each tick also closes the runs whose process died as ``crashed`` (``locks``: the Redis holding
    the tenant locks; without it only runs whose lease was taken over are seen to be dead).
    """
    tenants, problems = discover_tenants(settings.config_dir, settings)
    for problem in problems:
        SAID.error("tenant file skipped", str(problem), str(problem))
    queued: list[str] = []
    for tenant in tenants:
        try:
            ensure_schema(tenant.state_url, settings)
            reap(
                tenant_stores(tenant.name, tenant.state_url).sessions,
                tenant.name,
                partial(lock_seen, locks, tenant.name),
                "beat",
            )
            job_id = plan_tenant(tenant, enqueue, utcnow())
        except Exception as exc:  # one tenant's broken state DB must not stop the others' schedule
            SAID.error("tenant not scheduled", tenant.name, unschedulable(tenant, exc))
            log.debug("tenant not scheduled: the traceback", exc_info=True)
            continue
        SAID.clear(tenant.name)
        if job_id is not None:
            queued.append(job_id)
    return queued


class SaidOnce:
    """Beat ticks every few seconds: a problem is logged when it appears or changes, not every tick."""

    def __init__(self) -> None:
        self.said: dict[str, str] = {}

    def error(self, event: str, subject: str, message: str) -> None:
        if self.said.get(subject) != message:
            self.said[subject] = message
            log.error(event, extra={"subject": subject, "error": message})

    def clear(self, subject: str) -> None:
        if self.said.pop(subject, None) is not None:
            log.info("tenant scheduled again", extra={"tenant": subject})


SAID = SaidOnce()


def unschedulable(tenant: Tenant, exc: Exception) -> str:
    """In ``syncd check``'s words when the state DB is at fault, else what the error says."""
    problems = state_problems(tenant, tenant.state_url)
    if problems:
        return "; ".join(problem.render(tenant.path) for problem in problems)
    return explain(exc).replace("\n", " ")


def plan_tenant(tenant: Tenant, enqueue: Enqueue, now: datetime) -> str | None:
    """Queue the tenant's due CRM job, then one job per due activity stream; returns the first job id."""
    stores = tenant_stores(tenant.name, tenant.state_url)
    queued: list[str] = []
    due = claim_due(tenant, stores, now) if crm_streams(tenant.config) else None
    if due is not None:
        # Named when the tenant also has activity streams: those keep their own, slower schedule.
        streams = crm_streams(tenant.config) if activity_streams(tenant.config) else None
        queued.append(queue_job(tenant, stores, enqueue, due, streams))
    for stream in due_activity(tenant, stores, now):
        queued.append(
            queue_job(tenant, stores, enqueue, Due(JobKind.INCREMENTAL, Trigger.SCHEDULE), [stream])
        )
    return queued[0] if queued else None


def queue_job(
    tenant: Tenant, stores: TenantStores, enqueue: Enqueue, due: Due, streams: list[str] | None
) -> str:
    jobs = stores.jobs
    job = jobs.create(due.kind, due.trigger, streams)
    try:
        enqueue(tenant.name, job.id)
    except Exception as exc:  # the broker is down: the slot comes round again at the next interval
        jobs.finish(job.id, "failed", f"could not enqueue: {type(exc).__name__}: {exc}")
        raise
    scope = ",".join(streams) if streams else "all"
    line = {
        "tenant": tenant.name,
        "job_id": job.id,
        "kind": due.kind,
        "trigger": due.trigger,
        "streams": scope,
    }
    log.info("job queued", extra=line)
    return job.id


def due_activity(tenant: Tenant, stores: TenantStores, now: datetime) -> list[str]:
    """The activity streams whose own interval has come round (each has its own schedule slot)."""
    activity = tenant.config.activity
    if activity is None:
        return []
    return [
        stream
        for stream, section in activity.sections().items()
        if stores.jobs.claim(
            f"activity:{stream}", first_due=now, next_due=now + timedelta(seconds=section.interval)
        )
    ]


def claim_due(tenant: Tenant, stores: TenantStores, now: datetime) -> Due | None:
    jobs = stores.jobs
    schedule = tenant.config.schedule
    full_every = timedelta(seconds=schedule.full_interval)
    every = timedelta(seconds=schedule.interval)
    full = jobs.claim("full", first_due=now + full_every, next_due=now + full_every)
    incremental = jobs.claim("incremental", first_due=now, next_due=now + every)
    if full:
        return Due(JobKind.FULL, Trigger.SCHEDULE)  # a full run covers the incremental one claimed with it
    if incremental:
        return Due(JobKind.INCREMENTAL, Trigger.SCHEDULE)
    retry_every = timedelta(seconds=schedule.retry_interval)
    if jobs.claim("retry", first_due=now, next_due=now + retry_every) and has_due_retries(
        stores, tenant, now
    ):
        return Due(JobKind.INCREMENTAL, Trigger.RETRY)
    return None


def has_due_retries(stores: TenantStores, tenant: Tenant, now: datetime) -> bool:
    store = stores.links
    return any(store.due_retries(stream, now) for stream in state_streams(tenant.config))
