"""webhook events, and member lookups by record and customer id

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(length=100), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("outbound_id", sa.String(length=5), nullable=True),
        sa.Column("record_id", sa.BigInteger(), nullable=True),
        sa.Column("customer_id", sa.BigInteger(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
        sa.UniqueConstraint("tenant", "digest", name="uq_webhook_events_tenant_digest"),
    )
    with op.batch_alter_table("webhook_events") as batch:
        batch.create_index("ix_webhook_events_tenant_received", ["tenant", "received_at"], unique=False)
    with op.batch_alter_table("campaign_members") as batch:
        batch.create_index("ix_campaign_members_record", ["tenant", "outbound_id", "record_id"], unique=False)
        batch.create_index(
            "ix_campaign_members_customer", ["tenant", "outbound_id", "customer_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("campaign_members") as batch:
        batch.drop_index("ix_campaign_members_customer")
        batch.drop_index("ix_campaign_members_record")
    with op.batch_alter_table("webhook_events") as batch:
        batch.drop_index("ix_webhook_events_tenant_received")
    op.drop_table("webhook_events")
