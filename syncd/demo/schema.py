"""The demo source schema, the one ``config/example.toml`` maps.

``customers.company_id`` has no foreign key on purpose: real sources are dirty, and a customer
pointing at a company that does not exist is one of the cases the demo exercises.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Integer, MetaData, String, Table

metadata = MetaData()


def _party(name: str, names: tuple[Column[str], ...], extra: tuple[Column[object], ...] = ()) -> Table:
    """Companies and customers share their key, contact columns and change tracking, in this order."""
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        *names,
        Column("email", String(200)),
        Column("phone", String(100)),
        Column("city", String(100)),
        Column("street", String(200)),
        *extra,
        Column("updated_at", DateTime, nullable=False, index=True),
        Column("deleted", Boolean, nullable=False, default=False),
    )


companies = _party("companies", (Column("name", String(200)), Column("nip", String(20))))
customers = _party(
    "customers",
    (Column("first_name", String(100)), Column("last_name", String(100))),
    (Column("segment", String(50)), Column("company_id", Integer, nullable=True)),
)

campaign_targets = Table(
    "campaign_targets",
    metadata,
    Column("outbound_id", String(5), nullable=False),
    Column("customer_id", Integer, nullable=False),
)
