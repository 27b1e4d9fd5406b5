"""Small builders shared by the reader tests."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, Column, DateTime, Engine, Integer, MetaData, String, Table, event
from sqlalchemy.types import TypeEngine

from syncd.engine.records import Position, SourceRow
from syncd.engine.wallclock import wall_clock
from syncd.settings.tenant import StreamSection
from syncd.source import SqlSource

T0 = wall_clock(2024, 5, 1, 12, 0, 0)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def make_table(
    engine: Engine,
    name: str = "people",
    *,
    key_type: TypeEngine[Any] | None = None,
    updated_type: TypeEngine[Any] | None = None,
    deleted_type: TypeEngine[Any] | None = None,
    extra: Iterable[str] = ("name",),
) -> Table:
    table = Table(
        name,
        MetaData(),
        Column("id", key_type if key_type is not None else Integer(), primary_key=True, autoincrement=False),
        Column("updated_at", updated_type if updated_type is not None else DateTime(), nullable=True),
        Column("deleted", deleted_type if deleted_type is not None else Boolean(), nullable=True),
        *(Column(c, String(200)) for c in extra),
    )
    table.create(engine)
    return table


def insert(engine: Engine, table: Table, rows: Iterable[Mapping[str, Any]]) -> None:
    with engine.begin() as conn:
        conn.execute(table.insert(), [dict(r) for r in rows])


def stream(
    table: str | None = "people",
    *,
    query: str | None = None,
    fields: Mapping[str, str] | None = None,
    **kw: Any,
) -> StreamSection:
    return StreamSection(
        table=None if query else table,
        query=query,
        key=kw.pop("key", "id"),
        updated_at=kw.pop("updated_at", "updated_at"),
        deleted=kw.pop("deleted", "deleted"),
        fields=dict({"name": "name"} if fields is None else fields),
        lookback_seconds=kw.pop("lookback_seconds", 0),  # the plain keyset, unless a test looks back
        **kw,
    )


def source(engine: Engine, section: StreamSection | None = None, **options: int) -> SqlSource:
    return SqlSource(engine, {"people": section or stream()}, **options)


def keys(rows: Iterable[SourceRow]) -> list[str]:
    return [r.key for r in rows]


def read_all(src: SqlSource, after: Position | None = None) -> list[SourceRow]:
    return list(src.read_changed("people", after))


@contextmanager
def recorded(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Every statement the engine sends, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
