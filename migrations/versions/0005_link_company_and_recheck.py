"""links remember the company a customer row named, and which customers to check again

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("links") as batch:
        batch.add_column(sa.Column("company_key", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("recheck", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_index("ix_links_company", ["tenant", "stream", "company_key"], unique=False)
        batch.create_index("ix_links_recheck", ["tenant", "stream", "recheck"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("links") as batch:
        batch.drop_index("ix_links_recheck")
        batch.drop_index("ix_links_company")
        batch.drop_column("recheck")
        batch.drop_column("company_key")
