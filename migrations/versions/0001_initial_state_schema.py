"""initial state schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "campaign_members",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(length=100), nullable=False),
        sa.Column("outbound_id", sa.String(length=5), nullable=False),
        sa.Column("source_key", sa.String(length=255), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=True),
        sa.Column("record_id", sa.BigInteger(), nullable=True),
        sa.Column("status_id", sa.Integer(), nullable=True),
        sa.Column("system_status", sa.String(length=40), nullable=True),
        sa.Column("desired", sa.Boolean(), nullable=False),
        sa.Column("desired_hash", sa.String(length=64), nullable=True),
        sa.Column("call_date", sa.String(length=20), nullable=True),
        sa.Column("agent_login", sa.String(length=100), nullable=True),
        sa.Column("last_note", sa.Text(), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_members")),
        sa.UniqueConstraint(
            "tenant", "outbound_id", "source_key", name="uq_campaign_members_tenant_outbound_key"
        ),
    )
    op.create_table(
        "cursors",
        sa.Column("tenant", sa.String(length=100), nullable=False),
        sa.Column("stream", sa.String(length=100), nullable=False),
        sa.Column("cursor_value", sa.String(length=64), nullable=True),
        sa.Column("cursor_key", sa.String(length=255), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "stream", name=op.f("pk_cursors")),
    )
    op.create_table(
        "failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(length=100), nullable=False),
        sa.Column("stream", sa.String(length=100), nullable=False),
        sa.Column("source_key", sa.String(length=255), nullable=False),
        sa.Column("operation", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("payload_hash", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_failures")),
        sa.UniqueConstraint("tenant", "stream", "source_key", name="uq_failures_tenant_stream_key"),
    )
    with op.batch_alter_table("failures", schema=None) as batch_op:
        batch_op.create_index(
            "ix_failures_open", ["tenant", "stream", "resolved_at", "next_attempt_at"], unique=False
        )

    op.create_table(
        "links",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(length=100), nullable=False),
        sa.Column("stream", sa.String(length=100), nullable=False),
        sa.Column("source_key", sa.String(length=255), nullable=False),
        sa.Column("thulium_id", sa.BigInteger(), nullable=True),
        sa.Column("company_customer_id", sa.BigInteger(), nullable=True),
        sa.Column("payload_hash", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_links")),
        sa.UniqueConstraint("tenant", "stream", "source_key", name="uq_links_tenant_stream_key"),
    )
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.create_index("ix_links_thulium", ["tenant", "stream", "thulium_id"], unique=False)

    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(length=100), nullable=False),
        sa.Column("stream", sa.String(length=100), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("counters", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_runs_tenant_stream_started", ["tenant", "stream", "started_at"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index("ix_runs_tenant_stream_started")

    op.drop_table("runs")
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.drop_index("ix_links_thulium")

    op.drop_table("links")
    with op.batch_alter_table("failures", schema=None) as batch_op:
        batch_op.drop_index("ix_failures_open")

    op.drop_table("failures")
    op.drop_table("cursors")
    op.drop_table("campaign_members")
