"""What each console page shows, read from the state DB and the lock; blocking: call from a thread.

The same facts ``syncd status``, ``syncd runs`` and ``syncd failures`` print, gathered per page: the
overview reads every tenant served here, a tenant page one tenant. Free text (run and job errors,
Thulium's messages) is redacted as the logs are, since Thulium may quote a value it refused.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from syncd.app.failure_queries import failure_query
from syncd.app.runtime import RUNNABLE_STREAMS
from syncd.app.state_views import (
    UNUSABLE_DB_ERRORS,
    FailureRow,
    JobInfo,
    RunQuery,
    RunRecord,
    StateViews,
    TenantStores,
)
from syncd.app.tenant_status import TenantStatus, lock_client, tenant_status
from syncd.app.times import ago, describe
from syncd.engine.campaigns.run import CAMPAIGN_PREFIX
from syncd.errors import Skippable
from syncd.observability.logs import redact_text
from syncd.settings import ConfigError, ProcessSettings
from syncd.settings.discovery import TenantRef, tenant_file, tenant_files, tenant_ref
from syncd.state import migrate
from syncd.state.types import utcnow
from syncd.web.console.charts import Series, hourly

if TYPE_CHECKING:
    from redis import Redis

DAY = timedelta(days=1)
DAY_RUNS = 100_000  # every run of a day, for the charts: 10 streams every 10 s are 86,400
RECENT = 50
JOB_WINDOW = 1000  # jobs looked through for one stream's: a job's streams are a JSON list
FAILURES_SHOWN = 100
# The counters that say a run changed something in Thulium (CRM, campaigns) or in the source (activity).
WRITTEN = ("created", "updated", "deleted", "adopted", "added", "changed", "removed", "inserted")


def redacted(text: str | None) -> str:
    return "" if text is None else redact_text(text)


def written(run: RunRecord) -> int:
    return sum(int(run.counters.get(name, 0) or 0) for name in WRITTEN)


@dataclass(frozen=True)
class Activity:
    synced: Series  # records written per hour over the last day
    seconds: Series  # the longest run per hour


@dataclass
class TenantCard:
    status: TenantStatus
    open_by_kind: dict[str, int] = field(default_factory=dict)
    activity: Activity | None = None


@dataclass(frozen=True)
class Campaign:
    stream: str
    by_status: dict[str, int]


@dataclass
class TenantPage:
    card: TenantCard
    lag: dict[str, timedelta] = field(default_factory=dict)  # since the last run that went through ended
    runs: list[RunRecord] = field(default_factory=list)
    jobs: list[JobInfo] = field(default_factory=list)
    campaigns: list[Campaign] = field(default_factory=list)
    runnable: tuple[str, ...] = RUNNABLE_STREAMS


@dataclass(frozen=True)
class RunFilter:
    stream: str = ""
    status: str = ""


@dataclass(frozen=True)
class FailureFilter:
    stream: str = ""
    kind: str = ""
    status: str = "open"
    older_than: str = ""
    newer_than: str = ""


@dataclass
class FailuresPage:
    tenant: str
    rows: list[FailureRow]
    total: int
    streams: list[str]


class UnknownTenant(LookupError, Skippable):
    """No tenant file of that name is served here: the page is a 404, the console goes on."""


class BrokenTenant(LookupError, Skippable):
    """The tenant's file is there and does not parse: its page says why instead of a 404."""

    def __init__(self, name: str, error: str) -> None:
        super().__init__(name, error)
        self.name, self.error = name, error


class NeverRan(LookupError, Skippable):
    """No state DB at the current schema yet: nothing to show, and asking must not create one."""


def served_refs(settings: ProcessSettings) -> list[TenantRef | tuple[str, str]]:
    """Every tenant file served here: its ref, or (name, error) for a file that does not parse."""
    found: list[TenantRef | tuple[str, str]] = []
    for path in tenant_files(settings.config_dir):
        try:
            found.append(tenant_ref(path, settings))
        except ConfigError as exc:
            found.append((path.stem, str(exc)))
    return found


def find_ref(settings: ProcessSettings, name: str) -> TenantRef:
    """One file parsed, not every tenant's: each page and action of a tenant asks this first."""
    try:
        path = tenant_file(name, settings.config_dir)
    except ConfigError:
        raise UnknownTenant(name) from None
    try:
        return tenant_ref(path, settings)
    except ConfigError as exc:
        raise BrokenTenant(name, str(exc)) from None


def current_stores(views: StateViews, ref: TenantRef) -> TenantStores:
    if not migrate.is_current(ref.state_url):
        raise NeverRan(ref.name)
    return views.stores(ref.name, ref.state_url)


# -- the overview ---------------------------------------------------------------------------


def overview(settings: ProcessSettings, views: StateViews) -> list[TenantCard]:
    client = lock_client(settings)
    try:
        cards = []
        for ref in served_refs(settings):
            if isinstance(ref, TenantRef):
                cards.append(tenant_card(ref, views, settings, client))
            else:
                cards.append(TenantCard(TenantStatus(ref[0], error=ref[1])))
        return cards
    finally:
        if client is not None:
            client.close()


def tenant_card(
    ref: TenantRef, views: StateViews, settings: ProcessSettings, client: Redis | None
) -> TenantCard:
    status = tenant_status(ref, client, settings)
    card = TenantCard(status)
    if status.error is not None:
        return card
    try:
        stores = views.stores(ref.name, ref.state_url)
        card.open_by_kind = stores.failures.open_by_kind()
        card.activity = day_activity(stores.runs.find(RunQuery(limit=DAY_RUNS, since=utcnow() - DAY)))
    except UNUSABLE_DB_ERRORS as exc:
        status.error = f"state DB: {type(exc).__name__}"
    return card


def day_activity(runs: Sequence[RunRecord]) -> Activity:
    now = utcnow()
    synced = hourly(((run.started_at, float(written(run))) for run in runs), now, total=True)
    seconds = hourly(((run.started_at, run.seconds or 0.0) for run in runs), now, total=False)
    return Activity(synced, seconds)


# -- one tenant -----------------------------------------------------------------------------


def tenant_page(
    settings: ProcessSettings, views: StateViews, name: str, runs: RunFilter, job_status: str
) -> TenantPage:
    ref = find_ref(settings, name)
    client = lock_client(settings)
    try:
        page = TenantPage(tenant_card(ref, views, settings, client))
    finally:
        if client is not None:
            client.close()
    if page.card.status.error is not None:
        return page
    stores = current_stores(views, ref)
    streams = [s.stream for s in page.card.status.streams]
    now = utcnow()
    page.lag = {stream: now - ended for stream, ended in stores.runs.last_synced(streams).items()}
    query = RunQuery(
        streams=(runs.stream,) if runs.stream else (),
        statuses=(runs.status,) if runs.status else (),
        limit=RECENT,
    )
    page.runs = stores.runs.find(query)
    page.jobs = recent_jobs(stores, runs.stream, job_status)
    page.campaigns = campaigns(stores, streams)
    return page


def recent_jobs(stores: TenantStores, stream: str, status: str) -> list[JobInfo]:
    """The newest jobs of a status (in SQL) that ran ``stream`` (every job of all streams ran it)."""
    found = stores.jobs.recent(RECENT if not stream else JOB_WINDOW, status or None)
    if stream:
        wanted = {stream, "campaigns" if stream.startswith(CAMPAIGN_PREFIX) else stream}
        found = [job for job in found if job.streams is None or wanted & set(job.streams)]
    return found[:RECENT]


def campaigns(stores: TenantStores, streams: Sequence[str]) -> list[Campaign]:
    found = []
    for stream in streams:
        if stream.startswith(CAMPAIGN_PREFIX):
            outbound = stream.removeprefix(CAMPAIGN_PREFIX)
            found.append(Campaign(stream, stores.members.status_counts(outbound)))
    return found


# -- failures -------------------------------------------------------------------------------


def failures_page(
    settings: ProcessSettings, views: StateViews, name: str, chosen: FailureFilter
) -> FailuresPage:
    """Raises ``ValueError`` (in the CLI's words) for a filter ``syncd failures list`` would refuse."""
    ref = find_ref(settings, name)
    stores = current_stores(views, ref)
    query = failure_query(
        [chosen.stream] if chosen.stream else None,
        [chosen.kind] if chosen.kind else None,
        chosen.status or "open",
        chosen.older_than or None,
        chosen.newer_than or None,
        limit=FAILURES_SHOWN,
    )
    now = utcnow()
    rows = sorted(stores.failures.find(query, now), key=lambda row: row.last_failed_at, reverse=True)
    total = stores.failures.count(query, now)
    streams = sorted(set(stores.failures.summary()) | set(_fixed(ref)))
    return FailuresPage(ref.name, rows, total, streams)


def failure_detail(
    settings: ProcessSettings, views: StateViews, name: str, stream: str, key: str
) -> FailureRow | None:
    ref = find_ref(settings, name)
    stores = current_stores(views, ref)
    query = failure_query([stream], None, "all", None, None, keys=[key])
    rows = stores.failures.find(query, utcnow())
    return rows[0] if rows else None


def _fixed(ref: TenantRef) -> list[str]:
    return [name for name in ("companies", "customers") if getattr(ref.config, name) is not None]


def kinds_of(rows: Sequence[FailureRow]) -> Counter[str]:
    return Counter(row.kind for row in rows)


def age(moment: datetime | None) -> str:
    """``3m ago``, as ``syncd runs`` and ``syncd failures`` say it; the exact time is in the title."""
    return "-" if moment is None else ago(moment, utcnow())


def span(delta: timedelta | None) -> str:
    return "-" if delta is None else describe(int(delta.total_seconds()))
