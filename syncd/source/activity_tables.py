"""The activity tables in the tenant's database (created if missing), and writing rows into them.

Rows are compared with what the table holds before anything is written, so a second read of the same
data writes nothing and the run can say exactly what it added and what it changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    inspect,
    select,
)

from syncd.engine.activity.convert import CHAT_COUNTS, STATS, Row
from syncd.engine.activity.ports import Written
from syncd.errors import Fatal

SYNCED_AT = "synced_at"


def connections_table(name: str, metadata: MetaData) -> Table:
    return Table(
        name,
        metadata,
        Column("connection_id", String(64), primary_key=True),
        Column("date", DateTime, index=True),
        *(Column(c, String(40)) for c in ("type", "disposition")),
        *(Column(c, String(100)) for c in ("src", "dst")),
        Column("duration", Integer),
        Column("billsec", Integer),
        *(Column(c, String(200)) for c in ("user_login", "user_name", "dst_user_login")),
        Column("customer_id", BigInteger, index=True),
        Column("source_stream", String(20)),
        Column("source_key", String(255), index=True),
        Column("outbound_id", String(20)),
        Column("queue_id", Integer),
        Column("topic_id", String(40)),
        Column("tags", Text),
        *(Column(c, String(200)) for c in ("disconnected_by", "transferred_to")),
        *(Column(c, String(40)) for c in ("rating_type", "rating_rate")),
        Column("filename", Text),
        Column("operator", String(100)),
        Column(SYNCED_AT, DateTime),
    )


def period_key(who: str) -> list[Column[Any]]:
    """A report row is one period of one person (user or agent) under one aggregation."""
    return [
        Column("aggregate_by", String(10), primary_key=True),
        Column("period", String(32), primary_key=True),
        Column(who, String(200), primary_key=True),
    ]


def chats_summary_table(name: str, metadata: MetaData) -> Table:
    return Table(
        name,
        metadata,
        *period_key("agent_login"),  # "" = the chats no agent took
        Column("user_name", String(200)),
        *(Column(c, Integer) for c in CHAT_COUNTS),
        *(Column(f"{t}_{s}_s", Integer) for t in ("chat_time", "wait_time") for s in STATS),
        Column("service_level_percent", Float),
        Column("sla_percent", Float),
        *(Column(f"rating_{r}", Integer) for r in ("sad", "neutral", "happy")),
        Column("satisfaction_percent", Float),
        Column("rated_percent", Float),
        Column(SYNCED_AT, DateTime),
    )


def agents_work_table(name: str, metadata: MetaData) -> Table:
    counts = ("count", "answered_count", "not_answered_count", "transferred_count")
    seconds = ("sum_s", "average_s", "wait_sum_s", "wait_average_s")
    outbound = (f"outbound_{side}_{part}" for side in ("above", "below") for part in ("count", "sum_s"))
    return Table(
        name,
        metadata,
        *period_key("agent_login"),
        Column("agent_name", String(200)),
        Column("agent_surname", String(200)),
        *(Column(f"inbound_{c}", Integer) for c in (*counts, *seconds)),
        Column("inbound_calls_per_hour", Float),
        *(Column(c, Integer) for c in ("chat_closed", "chat_responded", "ticket_closed", "ticket_responded")),
        Column("ticket_total_responded", Integer),
        *(Column(c, Integer) for c in outbound),
        Column("outbound_above_average_s", Integer),
        Column("outbound_below_average_s", Integer),
        Column("login_date", DateTime),
        Column("logout_date", DateTime),
        Column("pauses", Text),
        Column(SYNCED_AT, DateTime),
    )


def wolkvox_chats_table(name: str, metadata: MetaData) -> Table:
    return Table(
        name,
        metadata,
        Column("window_start", DateTime, primary_key=True),
        Column("window_end", DateTime, primary_key=True),
        Column("channel", String(40), primary_key=True),
        Column("interactions", Integer),
        Column(SYNCED_AT, DateTime),
    )


BUILDERS: dict[str, Callable[[str, MetaData], Table]] = {
    "connections": connections_table,
    "chats_summary": chats_summary_table,
    "agents_work": agents_work_table,
    "wolkvox_chats": wolkvox_chats_table,
}


class TableShapeError(Fatal):
    """An existing table does not have the key or the columns this version of syncd writes."""


class ActivityTable:
    """One activity table: created if missing (``created`` says so), written by primary key. A table of
    another shape (made by an older syncd) is never altered or dropped: the run stops and says what to do."""

    def __init__(self, engine: Engine, stream: str, name: str, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.table = BUILDERS[stream](name, MetaData())
        self.keys = [column.name for column in self.table.primary_key.columns]
        self.clock = clock
        self.created = not inspect(engine).has_table(name)
        if self.created:
            self.table.create(engine, checkfirst=True)
        else:
            self.check_shape()

    def check_shape(self) -> None:
        found = inspect(self.engine)
        name = self.table.name
        keys = list(found.get_pk_constraint(name).get("constrained_columns") or [])
        columns = {column["name"] for column in found.get_columns(name)}
        missing = sorted({c.name for c in self.table.columns} - columns)
        if sorted(keys) != sorted(self.keys) or missing:
            raise TableShapeError(
                f"table {name} was made by another version of syncd: its key is ({', '.join(keys)}), "
                f"this one writes ({', '.join(self.keys)})"
                + (f" and the columns {', '.join(missing)}" if missing else "")
                + f"; rename {name} (to keep its rows) or drop it, and the next run creates it anew "
                "and reads again from the stream's start (or days_back)"
            )

    def write(self, rows: Sequence[Row]) -> Written:
        """Insert new rows, update changed ones, leave equal ones alone (last one wins within ``rows``)."""
        latest = {self.key_of(row): row for row in rows}
        written = Written()
        if not latest:
            return written
        with self.engine.begin() as connection:
            existing = self.existing(connection, list(latest))
            new = [row for key, row in latest.items() if key not in existing]
            changed = [row for key, row in latest.items() if key in existing and row != existing[key]]
            written.inserted, written.updated = len(new), len(changed)
            written.unchanged = len(latest) - len(new) - len(changed)
            now = self.clock()
            if new:
                connection.execute(self.table.insert(), [{**row, SYNCED_AT: now} for row in new])
            if changed:
                connection.execute(
                    self.update_by_key(), [self.keyed({**row, SYNCED_AT: now}) for row in changed]
                )
        return written

    def key_of(self, row: Row) -> tuple[Any, ...]:
        return tuple(row[name] for name in self.keys)

    def existing(self, connection: Any, keys: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], Row]:
        """The stored rows among ``keys``, read by one key column (portable where tuple IN is not): the one
        with the most distinct values here, since a report's ``aggregate_by`` would match its whole table."""
        position = max(range(len(self.keys)), key=lambda i: len({key[i] for key in keys}))
        column = self.table.c[self.keys[position]]
        wanted = set(keys)
        found: dict[tuple[Any, ...], Row] = {}
        values = list({key[position] for key in keys})
        columns = [c for c in self.table.columns if c.name != SYNCED_AT]
        for start in range(0, len(values), 500):
            query = select(*columns).where(column.in_(values[start : start + 500]))
            for stored in connection.execute(query).mappings():
                row = dict(stored)
                key = self.key_of(row)
                if key in wanted:
                    found[key] = row
        return found

    def update_by_key(self) -> Any:
        condition = and_(*(self.table.c[name] == bindparam(f"key_{name}") for name in self.keys))
        return self.table.update().where(condition)

    def keyed(self, row: Row) -> Row:
        return {**{f"key_{name}": row[name] for name in self.keys}, **row}
