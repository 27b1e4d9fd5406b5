"""``syncd runs``: the run history of each tenant and stream, as the state layer's run log keeps it.

A run is one stream of one sync (by hand or by the daemon; ``syncd.state.run_log``). Only counts
and ids are shown, never rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from syncd.app.state_views import RunRecord
from syncd.settings import ProcessSettings
from syncd.state.db import Sessions
from syncd.state.runs import reap


def merge_newest(groups: Sequence[Sequence[RunRecord]], limit: int) -> list[RunRecord]:
    """Tenants are read one state DB at a time; the listing is still newest first across them."""
    rows = [row for group in groups for row in group]
    rows.sort(key=lambda row: (row.started_at, row.id), reverse=True)
    return rows[:limit]


def close_crashed_runs(
    settings: ProcessSettings, tenants: Sequence[tuple[Sessions, str]], noticed_by: str
) -> None:
    """Before listing: runs whose process died are closed as ``crashed`` (``syncd.state.runs``)."""
    from syncd.app.broker_client import connect_redis
    from syncd.app.tenant_lease import lock_seen
    from syncd.broker.redis_broker import live_broker_url

    broker = live_broker_url(settings)
    client = None if broker is None else connect_redis(broker)
    try:
        for sessions, tenant in tenants:
            reap(sessions, tenant, partial(lock_seen, client, tenant), noticed_by)
    finally:
        if client is not None:
            client.close()
