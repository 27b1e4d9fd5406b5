"""``syncd resync``: record a job in the tenant's state DB, then hand it to the daemon.

The job row comes first so the id printed to ops always exists, and a broker that refuses
the message leaves a visible failed job rather than nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from syncd.app.runtime import RUNNABLE_STREAMS
from syncd.broker.redis_broker import live_broker_url
from syncd.settings import ProcessSettings
from syncd.settings.discovery import TenantRef, tenant_file, tenant_ref
from syncd.state.db import StateDb
from syncd.state.jobs import JobInfo, JobStore
from syncd.vocabulary import JobKind, JobStatus, Trigger
from syncd.worker.startup import ensure_schema

SEND_RETRY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1.0}


def pick_tenant(settings: ProcessSettings, config: Path | None, tenant: str | None) -> TenantRef:
    if config is not None:
        return tenant_ref(config, settings)
    if tenant is None:
        raise ValueError("name the tenant: --config FILE or --tenant NAME")
    return tenant_ref(tenant_file(tenant, settings.config_dir), settings)


def check_streams(streams: Sequence[str] | None) -> list[str] | None:
    if not streams:
        return None
    unknown = sorted(set(streams) - set(RUNNABLE_STREAMS))
    if unknown:
        raise ValueError(
            f"unknown stream(s) {', '.join(unknown)}; expected one of {', '.join(RUNNABLE_STREAMS)}"
        )
    return [s for s in RUNNABLE_STREAMS if s in streams]


def enqueue_resync(
    settings: ProcessSettings,
    *,
    config: Path | None,
    tenant: str | None,
    full: bool,
    streams: Sequence[str] | None,
) -> JobInfo:
    ref = pick_tenant(settings, config, tenant)
    wanted = check_streams(streams)
    broker = daemon_broker(settings)
    ensure_schema(ref.state_url, settings)  # under the file lock a worker starting now takes too
    return enqueue_job(
        settings,
        ref,
        broker,
        kind=JobKind.of(full),
        trigger=Trigger.RESYNC,
        streams=wanted,
    )


def enqueue_job(
    settings: ProcessSettings,
    ref: TenantRef,
    broker: str,
    *,
    kind: str,
    trigger: str,
    streams: Sequence[str] | None,
) -> JobInfo:
    """Record a job, then hand it to the daemon; a refused message leaves a visible failed job."""
    from syncd.worker.app import RUN_TASK, configure  # Celery loads only when a run is queued

    with StateDb.open(ref.state_url) as db:
        jobs = JobStore(db.sessions, ref.name)
        job = jobs.create(kind, trigger, list(streams) if streams else None)
        try:
            configure(settings, broker).send_task(
                RUN_TASK, args=[ref.name, job.id], retry=True, retry_policy=SEND_RETRY
            )
        except Exception as exc:
            jobs.finish(job.id, JobStatus.FAILED, f"could not enqueue: {type(exc).__name__}")
            raise ValueError(f"the broker refused the run ({type(exc).__name__}: {exc})") from exc
        return job


def daemon_broker(settings: ProcessSettings) -> str:
    broker = live_broker_url(settings)
    if broker is None:
        raise ValueError(
            f"no daemon is running here: the embedded Redis in {settings.var_dir}/redis is down "
            "(start the daemon with `syncd up` or the Procfile, or set SYNCD_BROKER_URL)"
        )
    return broker
