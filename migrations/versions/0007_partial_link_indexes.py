"""links' thulium, company and recheck indexes hold only the rows their queries look for; company customer ids
get one

Every link write kept an entry in all three for every link, though the queries read only linked ids
(``thulium_id IS NOT NULL``), customers naming a company (``company_key IS NOT NULL``) and links marked for
a second look (``recheck``, almost never true). Partial indexes are smaller and a write that leaves such a
column empty (a pending mark, a customer without a company, every unmarked link) touches none of them.
A company's own customer id (only company links have one) had no index at all: finding the source key of
a page of Thulium customer ids read every company link.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (name, columns, SQLite predicate, PostgreSQL predicate): written as SQLAlchemy renders the queries' own
# terms, so each planner can prove a query implies the predicate (SQLite's prover matches terms as written).
PARTIAL = (
    (
        "ix_links_thulium",
        ["tenant", "stream", "thulium_id"],
        "thulium_id IS NOT NULL",
        "thulium_id IS NOT NULL",
    ),
    (
        "ix_links_company",
        ["tenant", "stream", "company_key"],
        "company_key IS NOT NULL",
        "company_key IS NOT NULL",
    ),
    ("ix_links_recheck", ["tenant", "stream", "recheck"], "recheck IS 1", "recheck IS true"),
)


COMPANY_CUSTOMER = "ix_links_company_customer"


def upgrade() -> None:
    for name, columns, sqlite, postgresql in PARTIAL:
        op.drop_index(name, table_name="links")
        op.create_index(
            name, "links", columns, sqlite_where=sa.text(sqlite), postgresql_where=sa.text(postgresql)
        )
    where = sa.text("company_customer_id IS NOT NULL")
    columns = ["tenant", "stream", "company_customer_id"]
    op.create_index(COMPANY_CUSTOMER, "links", columns, sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    op.drop_index(COMPANY_CUSTOMER, table_name="links")
    for name, columns, _sqlite, _postgresql in PARTIAL:
        op.drop_index(name, table_name="links")
        op.create_index(name, "links", columns)
