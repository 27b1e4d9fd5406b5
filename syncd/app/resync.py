"""``syncd resync``: record a job in the tenant's state DB, then hand it to the daemon.

The job row comes first so the id printed to ops always exists, and a broker that refuses
the message leaves a visible failed job rather than nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from syncd.app.runtime import RUNNABLE_STREAMS
from syncd.app.schema import ensure_schema
from syncd.app.state_views import JobInfo, opened_stores
from syncd.broker.redis_broker import live_broker_url
from syncd.settings import ProcessSettings
from syncd.settings.discovery import TenantRef, tenant_file, tenant_ref
from syncd.vocabulary import JobKind, JobStatus, Trigger

HandOff = Callable[[str, str], object]  # (tenant, job id) -> the daemon's run task sent; raises when refused
Dispatch = Callable[[str], HandOff]  # the live broker's URL -> the hand-off to its daemon


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
    dispatch: Dispatch,
) -> JobInfo:
    ref = pick_tenant(settings, config, tenant)
    wanted = check_streams(streams)
    broker = daemon_broker(settings)
    ensure_schema(ref.state_url, settings)  # under the file lock a worker starting now takes too
    return enqueue_job(
        ref,
        dispatch(broker),
        kind=JobKind.of(full),
        trigger=Trigger.RESYNC,
        streams=wanted,
    )


def enqueue_job(
    ref: TenantRef,
    hand_off: HandOff,
    *,
    kind: str,
    trigger: str,
    streams: Sequence[str] | None,
) -> JobInfo:
    """Record a job, then hand it to the daemon; a refused message leaves a visible failed job."""
    with opened_stores(ref.state_url, ref.name) as stores:
        jobs = stores.jobs
        job = jobs.create(kind, trigger, list(streams) if streams else None)
        try:
            hand_off(ref.name, job.id)
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
