"""``GET /metrics``: the workers' counters on this host, plus gauges read from the state DBs per scrape.

Workers write their samples to files under ``SYNCD_VAR_DIR/metrics`` (``syncd/metrics.py``); this
route sums them. What is a state rather than an event (how far behind a cursor is, how many
failures are open, how long since a stream last synced) is read from each tenant's state DB at
scrape time, so it is right whichever process, worker or hand-run ``syncd sync``, did the work.

The scrape runs in a thread with a deadline: the state DB queries are blocking, and a hung
database must not hang the event loop (nor ``/health`` and webhooks with it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from syncd.app.runtime import state_streams
from syncd.app.state_views import StateViews
from syncd.observability.metrics import MultiprocessFiles, metrics_dir
from syncd.settings import ConfigError, ProcessSettings
from syncd.settings.discovery import TenantRef, tenant_files, tenant_ref
from syncd.state.cursors import cursor_moves

log = logging.getLogger("syncd.web.metrics")

ROUTE = "/metrics"
REGISTRY_KEY = web.AppKey("metrics_registry", CollectorRegistry)
SCRAPE_TIMEOUT_S = 10.0


def add_metrics_route(app: web.Application, settings: ProcessSettings, views: StateViews) -> None:
    app[REGISTRY_KEY] = metrics_registry(settings, views)
    app.router.add_get(ROUTE, serve_metrics)


def metrics_registry(settings: ProcessSettings, views: StateViews) -> CollectorRegistry:
    """Not the default registry: this process's own (empty) syncd series would duplicate the workers'."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MultiprocessFiles(metrics_dir(settings.var_dir)))
    registry.register(StateGauges(settings, views))
    return registry


async def serve_metrics(request: web.Request) -> web.Response:
    registry = request.app[REGISTRY_KEY]
    try:
        body = await asyncio.wait_for(asyncio.to_thread(generate_latest, registry), SCRAPE_TIMEOUT_S)
    except TimeoutError:
        return web.Response(status=503, text=f"metrics not gathered within {SCRAPE_TIMEOUT_S:g}s\n")
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


class StateGauges:
    """Per tenant and stream, from the state DB: cursor lag, open failures, age of the last synced run,
    runs by status."""

    def __init__(self, settings: ProcessSettings, views: StateViews) -> None:
        self.settings, self.views = settings, views

    def collect(self) -> Iterator[Metric]:
        now = datetime.now(UTC)
        lag = GaugeMetricFamily(
            "syncd_cursor_lag_seconds",
            "Seconds since the stream's cursor last moved (grows on a quiet source too).",
            labels=["tenant", "stream"],
        )
        synced = GaugeMetricFamily(
            "syncd_last_success_age_seconds",
            "Seconds since the stream's last run that ended ok or partial.",
            labels=["tenant", "stream"],
        )
        failures = GaugeMetricFamily(
            "syncd_open_failures", "Failures open in the state DB.", labels=["tenant", "stream", "kind"]
        )
        runs = GaugeMetricFamily(
            "syncd_runs",
            "Runs in the state DB by how they ended (crashed: its process died mid-run; running: not yet).",
            labels=["tenant", "stream", "status"],
        )
        up = GaugeMetricFamily(
            "syncd_state_up",
            "1 when the tenant's file and state DB could be read for this scrape.",
            labels=["tenant"],
        )
        for name, ref in self.tenants():
            if ref is None:
                up.add_metric([name], 0)
                continue
            try:
                self.read_tenant(ref, now, lag, synced, failures)
                self.read_runs(ref, runs)
            except Exception as exc:  # noqa: BLE001 -- one tenant's broken state must not blank the others' series
                line = {"tenant": ref.name, "error": type(exc).__name__}
                log.warning("metrics: state DB not readable", extra=line)
                up.add_metric([ref.name], 0)
            else:
                up.add_metric([ref.name], 1)
        yield from (lag, synced, failures, runs, up)

    def tenants(self) -> Iterator[tuple[str, TenantRef | None]]:
        try:
            files = tenant_files(self.settings.config_dir)
        except ConfigError:
            return
        for file in files:
            try:
                yield file.stem, tenant_ref(file, self.settings)
            except ConfigError:
                yield file.stem, None

    def read_runs(self, ref: TenantRef, runs: GaugeMetricFamily) -> None:
        """Counted from the state DB, so a run closed as crashed by any process shows here."""
        for stream, status, count in self.views.stores(ref.name, ref.state_url).runs.counts_by_status():
            runs.add_metric([ref.name, stream, status], count)

    def read_tenant(
        self,
        ref: TenantRef,
        now: datetime,
        lag: GaugeMetricFamily,
        synced: GaugeMetricFamily,
        failures: GaugeMetricFamily,
    ) -> None:
        stores = self.views.stores(ref.name, ref.state_url)
        moved = cursor_moves(stores.sessions, ref.name)
        open_failures = stores.failures.summary()
        streams = dict.fromkeys([*state_streams(ref.config), *(stream for stream, _ in moved)])
        last = stores.runs.last_synced(list(streams))
        for stream, updated_at in moved:
            lag.add_metric([ref.name, stream], max(0.0, (now - updated_at).total_seconds()))
        for stream, finished in last.items():
            synced.add_metric([ref.name, stream], max(0.0, (now - finished).total_seconds()))
        for stream, summary in open_failures.items():
            for kind, count in summary.by_kind.items():
                failures.add_metric([ref.name, stream, kind], count)
