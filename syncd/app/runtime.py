"""The composition root: the one place that builds adapters and hands them to the engine."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from syncd.engine.campaigns.ports import CampaignCrm
from syncd.engine.campaigns.run import CampaignOptions, campaign_stream
from syncd.engine.crm.options import RunOptions
from syncd.engine.crm.plan import StreamSpec
from syncd.engine.ports import Crm, WindowLimit
from syncd.settings import ProcessSettings, Tenant
from syncd.settings.activity import ACTIVITY_STREAMS
from syncd.settings.tenant import StreamSection, TenantFile, ThuliumSection
from syncd.source import SqlSource
from syncd.source.engine import SourceEngine
from syncd.source.engine import source_engine as open_source
from syncd.source.writeback import WritebackTable
from syncd.state.db import make_engine, session_factory
from syncd.state.members import MemberStore
from syncd.state.repository import StateStore
from syncd.thulium import ThuliumClient, Timeouts
from syncd.thulium.campaigns import ThuliumCampaigns
from syncd.thulium.concurrency import (
    AdaptiveLimit,
    Gates,
    LimitPolicy,
    LimitState,
    LimitStore,
    local_limits,
)
from syncd.thulium.crm import ThuliumCrm
from syncd.thulium.pacing import (
    InProcessBackend,
    PacingBackend,
    PacingGate,
    PacingPolicy,
    account_key,
    local_account,
)

if TYPE_CHECKING:
    from redis import Redis

log = logging.getLogger("syncd.app.runtime")

# A customer needs its company's Thulium id; a campaign record needs its customer's.
STREAM_ORDER = ("companies", "customers", "campaigns")
# What `syncd sync --stream` accepts: the CRM streams in order, then the read-only activity ones.
RUNNABLE_STREAMS = (*STREAM_ORDER, *ACTIVITY_STREAMS)


class Guard(Protocol):
    """Wraps a daemon run's Thulium writers so each write first checks the tenant lease."""

    def crm(self, crm: Crm) -> Crm: ...

    def campaigns(self, campaigns: CampaignCrm) -> CampaignCrm: ...


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
    engines: tuple[SourceEngine, ...]
    members: MemberStore
    campaigns: CampaignCrm
    writebacks: dict[str, WritebackTable] = field(default_factory=dict)  # by table name
    window: WindowLimit | None = None  # the learnt concurrency limit, with max_in_flight = "auto"

    @property
    def source_engine(self) -> SourceEngine:
        return self.engines[0]

    def writeback(self, table: str) -> WritebackTable:
        if table not in self.writebacks:
            self.writebacks[table] = WritebackTable(self.source_engine, table)
        return self.writebacks[table]

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
    guard: Guard | None = None,
    settings: ProcessSettings | None = None,
) -> Iterator[TenantRuntime]:
    """Build a tenant's adapters; a daemon run passes its fencing ``epoch`` and a lease ``guard``."""
    config = tenant.config
    source_engine = open_source(tenant.source_url.get_secret_value())
    state_engine = make_engine(state_url or tenant.state_url)
    pacing = pacing_gate(config.thulium, settings)
    limit = concurrency_limit(config, settings)
    gate = Gates(pacing, limit) if pacing and limit else pacing or limit
    client = ThuliumClient(
        config.thulium.url,
        config.thulium.user,
        tenant.thulium_password,
        timeouts=Timeouts(connect=config.thulium.connect_timeout, read=config.thulium.read_timeout),
        gate=gate,
        max_connections=max(8, config.sync.window * 2),
        max_url_bytes=config.thulium.max_url_bytes,
    )
    sessions = session_factory(state_engine)
    campaigns = ThuliumCampaigns(client, max_batch=config.sync.batch_size)
    runtime = TenantRuntime(
        tenant,
        SqlSource.for_tenant(source_engine, config),
        StateStore(sessions, tenant.name, epoch=epoch),
        client,
        guard.crm(ThuliumCrm(client)) if guard else ThuliumCrm(client),
        (source_engine, state_engine),
        MemberStore(sessions, tenant.name, epoch=epoch),
        guard.campaigns(campaigns) if guard else campaigns,
        window=limit,
    )
    try:
        yield runtime
    finally:
        runtime.close()
        if gate is not None:
            gate.close()


def pacing_gate(thulium: ThuliumSection, settings: ProcessSettings | None = None) -> PacingGate | None:
    """The account's shared pacing, or None when the tenant set no rate (requests go out unpaced)."""
    if thulium.max_requests_per_second is None:
        return None
    policy = PacingPolicy(
        max_requests_per_second=thulium.max_requests_per_second,
        burst=thulium.burst,
        breaker_failures=thulium.breaker_failures,
        breaker_cooldown=thulium.breaker_cooldown_seconds,
    )
    account = account_key(thulium.url, thulium.user)
    return PacingGate(pacing_backend(account, policy, settings or ProcessSettings()))


def pacing_backend(account: str, policy: PacingPolicy, settings: ProcessSettings) -> PacingBackend:
    """Redis when this machine has a broker (workers and manual syncs then share one budget), else this
    process alone. An unreachable broker never stops a sync: it paces alone, with a warning."""
    local = InProcessBackend(policy, local_account(account))
    from syncd.thulium.shared_pacing import FallbackBackend, RedisBackend

    alone = "paces its requests alone, without sharing the account's budget"
    client = broker_redis(settings, "request pacing", alone)
    return local if client is None else FallbackBackend(RedisBackend(client, account, policy), local)


def concurrency_limit(config: TenantFile, settings: ProcessSettings | None = None) -> AdaptiveLimit | None:
    """With ``max_in_flight = "auto"``, the account's learnt limit (shared through the broker's Redis when
    this machine has one); None for a fixed number. Nothing is looked up until the first request."""
    sync = config.sync
    if sync.max_in_flight != "auto":
        return None
    policy = LimitPolicy(cap=sync.max_in_flight_cap)
    account = account_key(config.thulium.url, config.thulium.user)
    return AdaptiveLimit(lambda: limit_store(account, policy, settings or ProcessSettings()), policy)


def limit_store(account: str, policy: LimitPolicy, settings: ProcessSettings) -> LimitStore:
    """Redis when this machine has a broker, so workers and manual syncs learn one limit; else this process
    alone. An unreachable broker never stops a sync: the process keeps its own limit, with a warning."""
    local = local_limits(account, policy)
    from syncd.thulium.shared_pacing import FallbackLimits, RedisLimits

    client = broker_redis(settings, "concurrency limit", "learns its own limit, without sharing it")
    if client is None:
        return local
    return FallbackLimits(RedisLimits(client, account, LimitState(float(policy.initial))), local)


def broker_redis(settings: ProcessSettings, what: str, alone: str) -> Redis | None:
    """The broker's Redis when this machine has one and it answers; None, with a warning, when it does not."""
    broker = live_broker(settings)
    if broker is None:
        return None
    import redis

    from syncd.broker.redis_broker import redis_client_url
    from syncd.thulium.shared_pacing import connect_redis

    try:
        return connect_redis(redis_client_url(broker))
    except (redis.RedisError, OSError, ValueError) as exc:
        log.warning(
            "%s: the broker's Redis is unreachable (%s); this process %s with other workers",
            what,
            type(exc).__name__,
            alone,
        )
        return None


def live_broker(settings: ProcessSettings) -> str | None:
    """The broker of this machine's daemon, if one runs (imported here: only pacing and "auto" ask)."""
    from syncd.broker.redis_broker import live_broker_url

    try:
        return live_broker_url(settings)
    except ValueError:  # an embedded broker's socket path would be too long: there is no such broker
        return None


def configured_streams(tenant: Tenant) -> list[str]:
    """Every stream the tenant file enables, in the order they run: the CRM's, then the activity ones."""
    return crm_streams(tenant.config) + activity_streams(tenant.config)


def crm_streams(config: TenantFile) -> list[str]:
    return [name for name in STREAM_ORDER if getattr(config, name)]


def activity_streams(config: TenantFile) -> list[str]:
    return list(config.activity.sections()) if config.activity else []


def state_streams(config: TenantFile) -> list[str]:
    """The stream names the state DB records runs and failures under: one per campaign rule."""
    streams = [name for name in STREAM_ORDER[:-1] if getattr(config, name) is not None]
    campaigns = [campaign_stream(rule.outbound_id) for rule in config.campaigns]
    return streams + campaigns + activity_streams(config)


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
        max_in_flight=sync.window,
        item_attempts=sync.item_attempts,
        on_thulium_delete=sync.on_thulium_delete,
        on_thulium_edit=sync.on_thulium_edit,
        max_delete_fraction=sync.max_delete_fraction,
    )


def campaign_options(tenant: Tenant, *, full: bool, dry_run: bool) -> CampaignOptions:
    sync = tenant.config.sync
    return CampaignOptions(
        full=full,
        dry_run=dry_run,
        batch_size=sync.batch_size,
        max_in_flight=sync.window,
        item_attempts=sync.item_attempts,
    )
