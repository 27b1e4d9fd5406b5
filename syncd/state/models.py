"""State DB tables: what syncd knows about each tenant's mirror.

Every table is keyed by tenant first, so one state DB can serve many tenants and a
tenant's rows can be inspected or dropped on their own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from syncd.state.types import UTCDateTime, utcnow
from syncd.vocabulary import JobStatus, RunStatus

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TENANT = 100
STREAM = 100
KEY = 255
JOB_ID = 32
HOLDER = 255


def _where(sqlite: str, postgresql: str | None = None) -> dict[str, Any]:
    """A partial index's predicate per dialect, written as SQLAlchemy renders the queries' own terms."""
    return {"sqlite_where": text(sqlite), "postgresql_where": text(postgresql or sqlite)}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Link(Base):
    """Ties a source row to the Thulium record that mirrors it, with the hash last sent."""

    __tablename__ = "links"
    __table_args__ = (
        UniqueConstraint("tenant", "stream", "source_key", name="uq_links_tenant_stream_key"),
        # Partial: each holds only the rows its queries look for (migration 0007 says why).
        Index("ix_links_thulium", "tenant", "stream", "thulium_id", **_where("thulium_id IS NOT NULL")),
        Index("ix_links_company", "tenant", "stream", "company_key", **_where("company_key IS NOT NULL")),
        Index("ix_links_recheck", "tenant", "stream", "recheck", **_where("recheck IS 1", "recheck IS true")),
        Index(
            "ix_links_company_customer",
            "tenant",
            "stream",
            "company_customer_id",
            **_where("company_customer_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(TENANT))
    stream: Mapped[str] = mapped_column(String(STREAM))
    source_key: Mapped[str] = mapped_column(String(KEY))
    thulium_id: Mapped[int | None] = mapped_column(BigInteger)
    # A company is also a customer record in Thulium; campaigns and lookups need that id too.
    company_customer_id: Mapped[int | None] = mapped_column(BigInteger)
    payload_hash: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20), default="synced")
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Customers only: the company key the source row named when last written, whether Thulium has that
    # company or not, so a company that arrives, moves or goes away can send its customers round again.
    company_key: Mapped[str | None] = mapped_column(String(KEY))
    # Set when the customer's company changed in Thulium; the next customers run reads the row again.
    recheck: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Cursor(Base):
    """High-water mark of a stream: every source row at or below it is settled."""

    __tablename__ = "cursors"

    tenant: Mapped[str] = mapped_column(String(TENANT), primary_key=True)
    stream: Mapped[str] = mapped_column(String(STREAM), primary_key=True)
    cursor_value: Mapped[str | None] = mapped_column(String(64))
    cursor_key: Mapped[str | None] = mapped_column(String(KEY))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Run(Base):
    """One run of one stream. ``running`` until its process finishes it, or until another process
    sees that the process died (its lease is gone) and closes it as ``crashed`` (``state/runs.py``)."""

    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_tenant_stream_started", "tenant", "stream", "started_at"),
        Index("ix_runs_tenant_status", "tenant", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(TENANT))
    stream: Mapped[str] = mapped_column(String(STREAM))
    trigger: Mapped[str] = mapped_column(String(20))
    mode: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=RunStatus.RUNNING)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    counters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    # The daemon job this run belongs to; null for runs started outside the daemon.
    job_id: Mapped[str | None] = mapped_column(String(JOB_ID), index=True)
    # The process running it: the tenant lease's token (host:pid:job:suffix) and fencing epoch, or for a
    # run outside any lease (no daemon on the machine) a token of the same shape and no epoch.
    holder: Mapped[str | None] = mapped_column(String(HOLDER))
    epoch: Mapped[int | None] = mapped_column(Integer)
    # When its process last showed it alive: start, each commit, each lease renewal.
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Failure(Base):
    """A row that could not be settled, with what Thulium said; one live row per source key."""

    __tablename__ = "failures"
    __table_args__ = (
        UniqueConstraint("tenant", "stream", "source_key", name="uq_failures_tenant_stream_key"),
        Index("ix_failures_open", "tenant", "stream", "resolved_at", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(TENANT))
    stream: Mapped[str] = mapped_column(String(STREAM))
    source_key: Mapped[str] = mapped_column(String(KEY))
    operation: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    http_status: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(64))
    payload_hash: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    first_failed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CampaignMember(Base):
    """A source key's place in a CRM campaign: what we want and what the dialer did."""

    __tablename__ = "campaign_members"
    __table_args__ = (
        UniqueConstraint(
            "tenant", "outbound_id", "source_key", name="uq_campaign_members_tenant_outbound_key"
        ),
        Index("ix_campaign_members_record", "tenant", "outbound_id", "record_id"),
        Index("ix_campaign_members_customer", "tenant", "outbound_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(TENANT))
    outbound_id: Mapped[str] = mapped_column(String(5))
    source_key: Mapped[str] = mapped_column(String(KEY))
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    record_id: Mapped[int | None] = mapped_column(BigInteger)
    status_id: Mapped[int | None] = mapped_column(Integer)  # as last seen (poll or webhook)
    sent_status_id: Mapped[int | None] = mapped_column(Integer)  # as syncd last set it
    system_status: Mapped[str | None] = mapped_column(String(40))
    desired: Mapped[bool] = mapped_column(default=True)
    desired_hash: Mapped[str | None] = mapped_column(String(64))
    call_date: Mapped[str | None] = mapped_column(String(20))
    agent_login: Mapped[str | None] = mapped_column(String(100))
    last_note: Mapped[str | None] = mapped_column(Text)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Lease(Base):
    """The fencing epoch of a tenant's lock.

    The lock itself lives in Redis and can lapse without its holder noticing; the epoch is
    bumped on every acquisition, so the state DB can refuse writes from a stale holder.
    """

    __tablename__ = "leases"

    tenant: Mapped[str] = mapped_column(String(TENANT), primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer)
    holder: Mapped[str | None] = mapped_column(String(HOLDER))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Job(Base):
    """One daemon request to sync a tenant, kept across redeliveries so poison jobs can be counted."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_tenant_created", "tenant", "created_at"),)

    id: Mapped[str] = mapped_column(String(JOB_ID), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(TENANT))
    kind: Mapped[str] = mapped_column(String(20))  # incremental | full
    streams: Mapped[list[str] | None] = mapped_column(JSON)  # null means every stream
    trigger: Mapped[str] = mapped_column(String(20))  # schedule | retry | resync | webhook
    status: Mapped[str] = mapped_column(String(20), default=JobStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    holder: Mapped[str | None] = mapped_column(String(HOLDER))
    error: Mapped[str | None] = mapped_column(Text)


class Schedule(Base):
    """When a tenant's next scheduled job of a kind is due.

    Beat may run in more than one process; moving ``next_due_at`` with a compare-and-set is
    what makes exactly one of them enqueue each slot.
    """

    __tablename__ = "schedules"

    tenant: Mapped[str] = mapped_column(String(TENANT), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)  # incremental | full | retry
    next_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_job_id: Mapped[str | None] = mapped_column(String(JOB_ID))


class WebhookEvent(Base):
    """An event Thulium posted, remembered by a digest of its content so a replay is handled once.

    Thulium sends no delivery id, so two posts with the same body are the same event. Only
    ids are kept: bodies carry phone numbers and note texts.
    """

    __tablename__ = "webhook_events"
    __table_args__ = (
        UniqueConstraint("tenant", "digest", name="uq_webhook_events_tenant_digest"),
        Index("ix_webhook_events_tenant_received", "tenant", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(TENANT))
    digest: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    outbound_id: Mapped[str | None] = mapped_column(String(5))
    record_id: Mapped[int | None] = mapped_column(BigInteger)
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    outcome: Mapped[str] = mapped_column(String(20))  # applied | recorded | unmatched
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
