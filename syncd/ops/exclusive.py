"""A one-shot ``syncd sync`` next to a live daemon takes the same tenant lease as a worker.

Without it, a hand-run sync and a scheduled run could write one tenant at once. With no
daemon on this machine (no broker configured, no embedded Redis running) there is nobody
to exclude, and the sync runs unfenced as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from syncd.settings import ProcessSettings, Tenant
from syncd.state.db import make_engine, session_factory
from syncd.worker.broker import live_broker_url
from syncd.worker.lease import Lease, tenant_lease
from syncd.worker.resources import connect_redis


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
        yield None
        return
    engine = make_engine(state_url)
    client = connect_redis(broker)
    try:
        sessions = session_factory(engine)
        if wait is None:
            # a sync killed without cleanup leaves its lock for one TTL: wait that long before calling it busy
            wait = settings.lock_ttl + 5
        with tenant_lease(client, sessions, tenant.name, "cli", settings.lock_ttl, wait=wait) as lease:
            yield lease
    finally:
        client.close()
        engine.dispose()
