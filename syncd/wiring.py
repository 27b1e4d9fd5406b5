"""The composition root: the one place that builds adapters and hands them to the engine."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine

from syncd.engine.plan import StreamSpec
from syncd.engine.ports import Crm
from syncd.engine.run import RunOptions
from syncd.settings import Tenant
from syncd.settings.tenant import StreamSection
from syncd.source import SqlSource
from syncd.state.db import make_engine, session_factory
from syncd.state.repository import StateStore
from syncd.thulium import ThuliumClient, Timeouts
from syncd.thulium.crm import ThuliumCrm

STREAM_ORDER = ("companies", "customers")  # a customer needs its company's Thulium id


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass
class TenantRuntime:
    tenant: Tenant
    source: SqlSource
    store: StateStore
    client: ThuliumClient
    crm: Crm
    engines: tuple[Engine, ...]

    def close(self) -> None:
        self.client.close()
        for engine in self.engines:
            engine.dispose()


@contextmanager
def tenant_runtime(
    tenant: Tenant,
    state_url: str | None = None,
    *,
    epoch: int | None = None,
    guard: Callable[[Crm], Crm] | None = None,
) -> Iterator[TenantRuntime]:
    """Build a tenant's adapters; a daemon run passes its fencing ``epoch`` and a lease ``guard``."""
    config = tenant.config
    source_engine = make_engine(tenant.source_url.get_secret_value())
    state_engine = make_engine(state_url or tenant.state_url)
    client = ThuliumClient(
        config.thulium.url,
        config.thulium.user,
        tenant.thulium_password,
        timeouts=Timeouts(connect=config.thulium.connect_timeout, read=config.thulium.read_timeout),
        max_connections=max(8, config.sync.max_in_flight * 2),
    )
    runtime = TenantRuntime(
        tenant,
        SqlSource.for_tenant(source_engine, config),
        StateStore(session_factory(state_engine), tenant.name, epoch=epoch),
        client,
        guard(ThuliumCrm(client)) if guard else ThuliumCrm(client),
        (source_engine, state_engine),
    )
    try:
        yield runtime
    finally:
        runtime.close()


def configured_streams(tenant: Tenant) -> list[str]:
    config = tenant.config
    return [name for name in STREAM_ORDER if getattr(config, name) is not None]


def stream_spec(tenant: Tenant, stream: str) -> StreamSpec:
    config = tenant.config
    section: StreamSection | None = getattr(config, stream)
    if section is None:
        raise KeyError(f"{tenant.path}: no [{stream}] section")
    company_key = config.customers.company_key if stream == "customers" and config.customers else None
    return StreamSpec(
        name=stream,
        kind="company" if stream == "companies" else "customer",
        fields=section.fields,
        company_key=company_key,
        identifier_prefix=config.sync.identifier_prefix,
        on_source_delete=config.sync.on_source_delete,
    )


def run_options(tenant: Tenant, *, full: bool, dry_run: bool, force: bool) -> RunOptions:
    sync = tenant.config.sync
    return RunOptions(
        full=full,
        dry_run=dry_run,
        force=force,
        batch_size=sync.batch_size,
        max_in_flight=sync.max_in_flight,
        item_attempts=sync.item_attempts,
        on_thulium_delete=sync.on_thulium_delete,
        on_thulium_edit=sync.on_thulium_edit,
        max_delete_fraction=sync.max_delete_fraction,
    )
