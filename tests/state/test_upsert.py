"""``execute_batch`` writes exactly what ``session.execute`` writes, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.orm import Session, sessionmaker

from syncd.state import models
from syncd.state.upsert import execute_batch, upsert

LINKS: Table = models.Base.metadata.tables["links"]
KEY = ("tenant", "stream", "source_key")
NOW = datetime(2026, 12, 2, 11, 30, 15, 123456, tzinfo=UTC)


def link_upsert(dialect: str) -> Any:
    return upsert(dialect, LINKS, KEY, lambda new: {"thulium_id": new["thulium_id"], "state": new["state"]})


def rows(tenant: str, count: int, *, thulium_base: int) -> list[dict[str, Any]]:
    """Shared values (tenant, state, one datetime object) and values that vary from row to row."""
    return [
        {
            "tenant": tenant,
            "stream": "customers",
            "source_key": f"k{i}",
            "thulium_id": thulium_base + i,
            "payload_hash": None if i % 2 else f"h{i}",
            "state": "synced",
            "synced_at": NOW if i % 3 else NOW + timedelta(seconds=i),
        }
        for i in range(count)
    ]


def table_of(sessions: sessionmaker[Session], tenant: str) -> list[tuple[Any, ...]]:
    """The rows as the database holds them, read past SQLAlchemy's types: a datetime stored in another
    spelling (SQLite keeps text) would still read back equal through them, and sort wrongly in SQL."""
    sql = (
        "SELECT source_key, thulium_id, payload_hash, state, recheck, CAST(synced_at AS VARCHAR(40)) "
        "FROM links WHERE tenant = :tenant ORDER BY source_key"
    )
    with sessions() as session:
        return [tuple(row) for row in session.execute(text(sql), {"tenant": tenant})]


def test_a_batch_through_the_driver_lands_as_the_orm_writes_it(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        dialect = session.get_bind().dialect.name
        session.execute(link_upsert(dialect), rows("orm", 7, thulium_base=100))
        execute_batch(session, link_upsert(dialect), rows("driver", 7, thulium_base=100))
    driver = table_of(sessions, "driver")
    assert driver == table_of(sessions, "orm")
    assert len(driver) == 7
    assert {bool(row[4]) for row in driver} == {False}  # recheck: the column's default, as the ORM fills it


def test_a_second_batch_updates_the_rows_the_first_wrote(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        dialect = session.get_bind().dialect.name
        execute_batch(session, link_upsert(dialect), rows("again", 4, thulium_base=100))
        execute_batch(session, link_upsert(dialect), rows("again", 4, thulium_base=500))
    assert [row[1] for row in table_of(sessions, "again")] == [500, 501, 502, 503]
    assert len({row[-1] for row in table_of(sessions, "again")}) == 2  # k3 is three seconds on


def test_an_empty_batch_writes_nothing(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        execute_batch(session, link_upsert(session.get_bind().dialect.name), [])
    assert table_of(sessions, "orm") == []
