"""What a webhook event does to the state DB and the tenant's database; blocking, so run it in a thread.

Order of work for one event:
1. **Claim** it in ``webhook_events`` by (tenant, digest) with an insert that does nothing when
   the row exists. A replay — also one racing the original — finds the claim and is a duplicate,
   so an old event can never be applied again over a newer one.
2. **Act**: an OUTBOUND_RECORD_SAVED updates the member it belongs to and, with a write-back
   table, the tenant's copy; other actions are only recorded (ids, never content).
3. **Settle** the outcome on the claim. If acting fails, the claim is released, so a later
   delivery of the same event is not mistaken for a duplicate of something never done.

An outbound record syncd does not know yet (placed by a run that has not polled, or added by
someone else) is ``unmatched``; then a campaigns run is handed to the daemon so it is picked
up without waiting for the schedule.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from syncd.app.state_views import TenantStores
from syncd.broker.redis_broker import live_broker_url
from syncd.settings import ProcessSettings, Tenant
from syncd.settings.tenant import CampaignRule
from syncd.source.writeback import WritebackTable
from syncd.vocabulary import JobKind, JobStatus, Trigger
from syncd.web.daemon_sender import DaemonSender
from syncd.web.webhook_events import OUTBOUND_RECORD_SAVED, Event, record_saved

log = logging.getLogger("syncd.web.webhooks")

APPLIED = "applied"
RECORDED = "recorded"
UNMATCHED = "unmatched"
DUPLICATE = "duplicate"
CAMPAIGNS_STREAM = "campaigns"


HandOff = Callable[[TenantStores], object]  # a tenant's stores: queue a campaigns run


class EventHandler:
    """One tenant's events; ``writeback`` gives the (cached, ready) write-back table of a name."""

    def __init__(
        self,
        tenant: Tenant,
        stores: TenantStores,
        writeback: Callable[[str], WritebackTable],
        hand_off: HandOff,
    ) -> None:
        self.tenant, self._stores, self._writeback, self._hand_off = tenant, stores, writeback, hand_off

    def handle(self, event: Event) -> str:
        events = self._stores.events
        provisional = UNMATCHED if event.action == OUTBOUND_RECORD_SAVED else RECORDED
        if not events.claim(event, provisional):
            return DUPLICATE
        try:
            outcome = self._act(event)
            if outcome != provisional:
                events.settle(event, outcome)
        except Exception:
            self._release(event)
            raise
        if outcome == UNMATCHED and self._rule(event.outbound_id) is not None:
            self._try_hand_off()
        return outcome

    def _try_hand_off(self) -> None:
        """The event is recorded whatever happens here: the schedule picks the record up anyway."""
        try:
            self._hand_off(self._stores)
        except Exception as exc:  # noqa: BLE001 -- best effort, logged: the schedule is the fallback
            log.warning(
                "webhook run not queued", extra={"tenant": self.tenant.name, "error": type(exc).__name__}
            )

    def _act(self, event: Event) -> str:
        if event.action != OUTBOUND_RECORD_SAVED:
            return RECORDED
        outbound_id, state = record_saved(event)
        matched = self._stores.members.apply_states(outbound_id, [state])
        if not matched:
            return UNMATCHED
        rule = self._rule(outbound_id)
        if rule is not None and rule.writeback is not None:
            self._writeback(rule.writeback.table).upsert(outbound_id, matched)
        return APPLIED

    def _rule(self, outbound_id: str | None) -> CampaignRule | None:
        return next((r for r in self.tenant.config.campaigns if r.outbound_id == outbound_id), None)

    def _release(self, event: Event) -> None:
        try:
            self._stores.events.release(event)
        except Exception as exc:  # noqa: BLE001 -- cleanup in a handler: the original failure is the one to report
            line = {"tenant": self.tenant.name, "action": event.action, "error": type(exc).__name__}
            log.error("webhook claim not released; a replay will be taken for a duplicate", extra=line)


class CampaignHandOff:
    """Queues a campaigns run (trigger ``webhook``) on the daemon's broker, at most one at a time per tenant.

    The web process never starts a broker: with no live one there is nothing to hand to, and the
    schedule picks the record up. A dialer session brings events in bursts, so a tenant that
    already has a queued or running webhook job gets no second one; the per-tenant lock keeps two
    simultaneous events from both seeing none.
    """

    def __init__(self, settings: ProcessSettings, sender: DaemonSender) -> None:
        self._settings = settings
        self._sender = sender
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def __call__(self, stores: TenantStores) -> str | None:
        """The queued job's id, or None when nothing was queued."""
        broker = live_broker_url(self._settings)
        if broker is None:
            return None
        tenant = stores.tenant
        with self._lock(tenant):
            jobs = stores.jobs
            if any(job.trigger == Trigger.WEBHOOK for job in jobs.active()):
                return None
            job = jobs.create(JobKind.INCREMENTAL, Trigger.WEBHOOK, [CAMPAIGNS_STREAM])
            try:
                self._sender.send(broker, tenant, job.id)
            except Exception as exc:  # noqa: BLE001 -- any failure: a queued job with no task would block the next
                jobs.finish(job.id, JobStatus.FAILED, f"could not enqueue: {type(exc).__name__}")
                line = {"tenant": tenant, "job_id": job.id, "error": type(exc).__name__}
                log.warning("webhook run not queued", extra=line)
                return None
        line = {"tenant": tenant, "job_id": job.id, "kind": JobKind.INCREMENTAL, "trigger": Trigger.WEBHOOK}
        log.info("job queued", extra={**line, "streams": CAMPAIGNS_STREAM})
        return job.id

    def _lock(self, tenant: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(tenant, threading.Lock())
