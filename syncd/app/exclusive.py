"""A one-shot ``syncd sync`` next to a live daemon takes the same tenant lease as a worker.

Without it, a hand-run sync and a scheduled run could write one tenant at once. With no
daemon on this machine (no broker configured, no embedded Redis running) there is nobody
to exclude, and the sync runs unfenced as before. Either way, runs left ``running`` by a
process that died are closed as ``crashed`` first (``syncd.state.runs``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from syncd.app.lease import Lease
from syncd.broker.redis_broker import live_broker_url
from syncd.settings import ProcessSettings, Tenant
from syncd.state.db import StateDb
from syncd.state.runs import UNKNOWN_LOCK, reap


@contextmanager
def exclusive_run(
    settings: ProcessSettings,
    tenant: Tenant,
    state_url: str,
    *,
    enabled: bool = True,
    wait: float | None = None,
) -> Iterator[Lease | None]:
    """Raises ``TenantBusy`` when a daemon run holds the tenant; a dry run writes nothing, needs none."""
    broker = live_broker_url(settings) if enabled else None
    if broker is None:
        if enabled:
            close_dead_unleased(tenant.name, state_url)
        yield None
        return
    # Redis is loaded only here: a sync on a machine with no daemon has nobody to exclude
    from syncd.app.broker_client import connect_redis
    from syncd.app.tenant_lease import tenant_lease

    db = StateDb.open(state_url)
    client = connect_redis(broker)
    try:
        if wait is None:
            # a sync killed without cleanup leaves its lock for one TTL: wait that long before calling it busy
            wait = settings.lock_ttl + 5
        with tenant_lease(client, db.sessions, tenant.name, "cli", settings.lock_ttl, wait=wait) as lease:
            yield lease
    finally:
        client.close()
        db.dispose()


def close_dead_unleased(tenant: str, state_url: str) -> None:
    """With no lock to take, the runs of syncs killed on this machine are found by their process ids."""
    with StateDb.open(state_url) as db:
        reap(db.sessions, tenant, lambda: UNKNOWN_LOCK, "the next run")
