"""The write-back table: campaign outcomes copied into the tenant's own database.

Integrators read call results next to their customers with plain SQL, so the table is
keyed like their data — (outbound_id, source_key) — and syncd creates it if it is missing.
It is the only table syncd writes in the tenant's database; rows are upserted from polls
and webhooks and deleted when syncd takes the record out of the campaign.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
)
from sqlalchemy import select as sa_select

from syncd.engine.campaigns.records import OUTCOME_FIELDS, KeyedState
from syncd.state.upsert import upsert


def writeback_table(name: str) -> Table:
    return Table(
        name,
        MetaData(),
        Column("outbound_id", String(5), primary_key=True),
        Column("source_key", String(255), primary_key=True),
        Column("customer_id", BigInteger, nullable=False),
        Column("record_id", BigInteger),
        Column("status_id", Integer),
        Column("status", String(255)),
        Column("system_status", String(40)),
        Column("call_date", String(20)),
        Column("create_date", String(20)),
        Column("next_call_date", String(20)),
        Column("agent_login", String(100)),
        Column("agent_name", String(255)),
        Column("last_note", Text),
        Column("record_order", Integer),
        Column("synced_at", DateTime(timezone=True), nullable=False),
    )


class WritebackTable:
    """One write-back table; several campaign rules may share it (the outbound id is in the key)."""

    def __init__(self, engine: Engine, name: str, clock: Callable[[], datetime] | None = None) -> None:
        self.engine, self.table = engine, writeback_table(name)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._ready = False

    def ensure(self) -> None:
        if not self._ready:
            self.table.metadata.create_all(self.engine, checkfirst=True)
            self._ready = True

    def upsert(self, outbound_id: str, states: Sequence[KeyedState]) -> None:
        """Write what is known of each record; fields the news does not carry keep their value."""
        if not states:
            return
        self.ensure()
        now = self._clock()
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for keyed in states:
            said = keyed.state.said()
            row = {
                "outbound_id": outbound_id,
                "source_key": keyed.key,
                "customer_id": keyed.customer_id,
                "record_id": keyed.state.record_id,
                "synced_at": now,
                # Thulium's empty value is "": stored as NULL, which is what SQL users test for
                **{name: None if value == "" else value for name, value in said.items()},
            }
            groups.setdefault(tuple(sorted(said)), []).append(row)
        with self.engine.begin() as connection:
            dialect = connection.dialect.name
            for said_fields, rows in groups.items():
                statement = upsert(
                    dialect, self.table, ("outbound_id", "source_key"), _setter(self.table, said_fields)
                )
                connection.execute(statement, rows)

    def delete(self, outbound_id: str, keys: Sequence[str]) -> None:
        if not keys:
            return
        self.ensure()
        row = self.table.c
        with self.engine.begin() as connection:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                connection.execute(
                    delete(self.table).where(row.outbound_id == outbound_id, row.source_key.in_(chunk))
                )

    def keys(self, outbound_id: str) -> set[str]:
        self.ensure()
        row = self.table.c
        with self.engine.connect() as connection:
            query = sa_select(row.source_key).where(row.outbound_id == outbound_id)
            return {str(key) for key in connection.scalars(query)}


def _setter(table: Table, said_fields: Sequence[str]) -> Callable[[Any], dict[str, Any]]:
    """Only the fields the news carries are overwritten; the record id is kept when it has none."""

    def updates(new: Any) -> dict[str, Any]:
        values: dict[str, Any] = {name: new[name] for name in said_fields if name in OUTCOME_FIELDS}
        if "status_id" in said_fields and "status" not in said_fields:
            # a webhook names no status: the old name would mislead until the next poll
            values["status"] = None
        values["synced_at"] = new["synced_at"]
        values["customer_id"] = new["customer_id"]
        values["record_id"] = func.coalesce(new["record_id"], table.c.record_id)
        return values

    return updates
