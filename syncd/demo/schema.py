"""The demo source schema, the one ``config/example.toml`` maps.

``customers.company_id`` has no foreign key on purpose: real sources are dirty, and a customer
pointing at a company that does not exist is one of the cases the demo exercises.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Integer, MetaData, String, Table

metadata = MetaData()

companies = Table(
    "companies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(200)),
    Column("nip", String(20)),
    Column("email", String(200)),
    Column("phone", String(100)),
    Column("city", String(100)),
    Column("street", String(200)),
    Column("updated_at", DateTime, nullable=False, index=True),
    Column("deleted", Boolean, nullable=False, default=False),
)

customers = Table(
    "customers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("first_name", String(100)),
    Column("last_name", String(100)),
    Column("email", String(200)),
    Column("phone", String(100)),
    Column("city", String(100)),
    Column("street", String(200)),
    Column("segment", String(50)),
    Column("company_id", Integer, nullable=True),
    Column("updated_at", DateTime, nullable=False, index=True),
    Column("deleted", Boolean, nullable=False, default=False),
)

campaign_targets = Table(
    "campaign_targets",
    metadata,
    Column("outbound_id", String(5), nullable=False),
    Column("customer_id", Integer, nullable=False),
)
