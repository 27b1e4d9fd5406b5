"""``syncd failures retry``'s run: the streams that settle the retried rows, queued on the daemon or run here.

The failures themselves are found, counted, retried and resolved by the state layer's failure log
(``syncd.state.failure_log``), which also says what a retry by hand changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from syncd.app.attempts import Attempt, attempted_runtime
from syncd.app.exclusive import exclusive_run
from syncd.app.resync import HandOff, enqueue_job
from syncd.app.runtime import RUNNABLE_STREAMS
from syncd.app.state_views import JobInfo
from syncd.app.sync import TenantOutcome, sync_tenant
from syncd.engine.campaigns.run import CAMPAIGN_PREFIX
from syncd.settings import ProcessSettings, load_tenant
from syncd.settings.discovery import TenantRef
from syncd.vocabulary import JobKind, Trigger


def sync_streams(streams: Iterable[str]) -> list[str]:
    """The ``syncd sync`` streams that settle failures of these state streams (campaign:X → campaigns)."""
    wanted = {"campaigns" if stream.startswith(CAMPAIGN_PREFIX) else stream for stream in streams}
    return [stream for stream in RUNNABLE_STREAMS if stream in wanted]


def queue_retry(ref: TenantRef, streams: Sequence[str], hand_off: HandOff) -> JobInfo:
    """Queue an incremental run of ``streams`` on the live daemon, recorded first as ``resync`` does."""
    return enqueue_job(ref, hand_off, kind=JobKind.INCREMENTAL, trigger=Trigger.RETRY, streams=streams)


def run_retry_here(settings: ProcessSettings, ref: TenantRef, streams: Sequence[str]) -> TenantOutcome:
    """Run the streams in this process, as ``syncd sync`` does (same lease when a daemon is live).

    Raises ``TenantBusy`` while a daemon run holds the tenant.
    """
    tenant = load_tenant(ref.path, settings)
    with exclusive_run(settings, tenant, tenant.state_url) as lease:
        wanted = list(streams) or None
        attempt = Attempt(trigger=Trigger.RETRY)
        with attempted_runtime(tenant, attempt=attempt, lease=lease, streams=wanted) as runtime:
            return sync_tenant(runtime, streams=wanted, trigger=Trigger.RETRY)
