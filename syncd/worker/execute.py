"""One delivery of a job: count it, take the tenant, sync, record how it ended.

Whatever happens, the job row tells ops how it ended; nothing here raises for a tenant's
own trouble, so one tenant's failure never takes the worker (or another tenant) down.
"""

from __future__ import annotations

import logging
import socket
from datetime import timedelta

import redis

from syncd.app.attempts import Attempt, attempted_runtime, record_refused_attempt
from syncd.app.explain import explain
from syncd.app.lease import Lease, TenantBusy
from syncd.app.preflight import local_problems
from syncd.app.state_views import JobInfo, TenantStores
from syncd.app.sync import TenantOutcome, sync_tenant
from syncd.app.tenant_lease import tenant_lease
from syncd.observability.metrics import JOBS
from syncd.settings import ConfigError, ProcessSettings, Tenant
from syncd.settings.discovery import find_tenant
from syncd.state.types import utcnow
from syncd.vocabulary import ACTIVE_JOBS, SUCCEEDED_JOBS, JobKind, JobStatus, RunStatus, Trigger, worst
from syncd.worker.resources import tenant_stores

log = logging.getLogger("syncd.worker")

FINISHED = frozenset(JobStatus) - ACTIVE_JOBS


def execute_job(settings: ProcessSettings, client: redis.Redis, tenant_name: str, job_id: str) -> str:
    try:
        tenant = find_tenant(tenant_name, settings.config_dir, settings)
    except ConfigError as exc:
        log.error(
            "job not run: its tenant file does not load", extra=job_line(tenant_name, job_id, [str(exc)])
        )
        return "config-error"
    problems = [problem.render(tenant.path) for problem in local_problems(tenant, tenant.state_url)]
    if any(problem.startswith(f"{tenant.path}: state") for problem in problems):
        log.error("job not run: its state DB is unusable", extra=job_line(tenant.name, job_id, problems))
        return "state-error"  # nowhere to record the job: the next tick queues it again
    stores = tenant_stores(tenant.name, tenant.state_url)
    jobs = stores.jobs
    job = jobs.get(job_id)
    if job is None or job.status in FINISHED:
        line = {"tenant": tenant.name, "job_id": job_id, "status": job and job.status}
        log.warning("job already finished; delivery ignored", extra=line)
        return job.status if job else "unknown"
    job = jobs.begin_attempt(job_id, holder=socket.gethostname())
    if job.attempts > settings.max_deliveries:
        return finish(
            stores, job, JobStatus.DEAD, f"dead-lettered: delivered {job.attempts} times without finishing"
        )
    if problems:  # the local part of `syncd check`, before the lease and before any write
        streams, full = (list(job.streams) if job.streams else None), job.kind == JobKind.FULL
        record_refused_attempt(
            tenant, tenant.state_url, streams, problems, full=full, trigger=job.trigger, job_id=job.id
        )
        return finish(stores, job, JobStatus.FAILED, "; ".join(problems), tenant)
    status, error = run_locked(settings, client, tenant, job)
    return finish(stores, job, status, error, tenant)


def job_line(tenant: str, job_id: str, problems: list[str]) -> dict[str, object]:
    return {"tenant": tenant, "job_id": job_id, "error": "; ".join(problems)}


def run_locked(
    settings: ProcessSettings, client: redis.Redis, tenant: Tenant, job: JobInfo
) -> tuple[str, str | None]:
    sessions = tenant_stores(tenant.name, tenant.state_url).sessions
    try:
        with tenant_lease(client, sessions, tenant.name, job.id, settings.lock_ttl) as lease:
            outcome = sync_leased(tenant, job, lease)
    except TenantBusy as exc:
        return JobStatus.SKIPPED, str(exc)
    except Exception as exc:  # a broken source, an unreachable DB: visible on the job, the worker goes on
        said = explain(exc).replace("\n", " ")
        log.error("job failed", extra={"tenant": tenant.name, "job_id": job.id, "error": said})
        log.debug("job failed: the traceback", exc_info=True)  # SYNCD_LOG_LEVEL=DEBUG shows it
        return JobStatus.FAILED, said
    return job_status(outcome)


def sync_leased(tenant: Tenant, job: JobInfo, lease: Lease) -> TenantOutcome:
    streams, full = (list(job.streams) if job.streams else None), job.kind == JobKind.FULL
    attempt = Attempt(full=full, trigger=job.trigger, job_id=job.id)
    with attempted_runtime(tenant, attempt=attempt, lease=lease, streams=streams) as runtime:
        return sync_tenant(runtime, streams=streams, full=full, trigger=job.trigger, job_id=job.id)


def job_status(outcome: TenantOutcome) -> tuple[str, str | None]:
    if outcome.problems:
        return JobStatus.ABORTED, "; ".join(outcome.problems)
    status = worst([s.status for s in outcome.streams])
    if status is RunStatus.OK:
        return JobStatus.OK, None
    return JobStatus(status), "; ".join(f"{s.stream}: {s.error}" for s in outcome.streams if s.error) or None


def finish(
    stores: TenantStores, job: JobInfo, status: str, error: str | None, tenant: Tenant | None = None
) -> str:
    jobs = stores.jobs
    jobs.finish(job.id, status, error)
    JOBS.labels(job.tenant, status).inc()
    line: dict[str, object] = {"tenant": job.tenant, "job_id": job.id, "kind": job.kind, "status": status}
    line.update(trigger=job.trigger, attempts=job.attempts)
    if error:
        line["error"] = error
    routine = status in SUCCEEDED_JOBS or status == JobStatus.SKIPPED
    log.log(logging.INFO if routine else logging.WARNING, "job finished", extra=line)
    if (
        tenant is not None
        and job.trigger == Trigger.SCHEDULE
        and job.kind == JobKind.FULL
        and status not in SUCCEEDED_JOBS
    ):
        # the daily full reconcile must not wait a whole day because one attempt was unlucky
        retry_in = timedelta(seconds=tenant.config.schedule.retry_interval)
        jobs.defer(JobKind.FULL, utcnow() + retry_in)
    return status
