"""INSERT … ON CONFLICT DO UPDATE / DO NOTHING for the two state-DB dialects.

A native upsert keeps a batch to one statement and stays correct under the unique
constraints even if two writers ever overlapped, which select-then-update would not.
SQLite (3.24+) and PostgreSQL spell it the same way, so one helper serves both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Dialect, Table
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from syncd.errors import Fatal

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite

Excluded = ReadOnlyColumnCollection[str, ColumnElement[Any]]
SetClause = Callable[[Excluded], Mapping[str, Any]]


class UnsupportedDialect(RuntimeError, Fatal):
    pass


def upsert(dialect: str, table: Table, conflict: Sequence[str], set_: SetClause) -> Insert:
    """An INSERT on ``table`` that updates the row already holding the ``conflict`` key instead.

    ``set_`` receives the would-be-inserted row (``excluded``) and returns the columns to update;
    plain ``table.c`` references in it mean the row as it was.  Execute it with a list of
    parameter dicts: the driver sends the batch in one go.
    """
    statement = _dialect_insert(dialect, table)
    return statement.on_conflict_do_update(index_elements=list(conflict), set_=dict(set_(statement.excluded)))


def _dialect_insert(dialect: str, table: Table) -> postgresql.Insert | sqlite.Insert:
    """Imported on first use: PostgreSQL's dialect package costs a SQLite state DB 25 ms of every start."""
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)
    raise UnsupportedDialect(f"the state DB must be SQLite or PostgreSQL, not {dialect!r}")


def insert_missing(dialect: str, table: Table, conflict: Sequence[str]) -> Insert:
    """An INSERT on ``table`` that does nothing where a row already holds the ``conflict`` key.

    For seeding a row two processes may create at once: the loser's insert is a no-op rather
    than an IntegrityError that would abort its transaction.
    """
    return _dialect_insert(dialect, table).on_conflict_do_nothing(index_elements=list(conflict))


@dataclass(frozen=True)
class DriverStatement:
    """A statement compiled for one dialect and column set: its SQL, the order its parameters go in
    (None for a driver that takes them by name), and each column's bind conversion."""

    sql: str
    positions: tuple[str, ...] | None
    convert: Mapping[str, Callable[[Any], Any] | None]
    defaults: Mapping[str, Any]  # columns the rows leave out whose default is a plain value


@lru_cache(maxsize=64)
def driver_statement(statement: Insert, dialect: Dialect, columns: tuple[str, ...]) -> DriverStatement | None:
    """None when the statement needs a parameter the rows do not give and no plain default fills."""
    compiled = statement.compile(dialect=dialect, column_keys=list(columns), for_executemany=True)
    defaults = {
        column.key: column.default.arg
        for column in compiled.insert_prefetch
        if isinstance(column.default, ScalarElementColumnDefault) and column.key not in columns
    }
    if set(compiled.binds) != {*columns, *defaults}:
        return None
    convert = {
        name: bind.type.dialect_impl(dialect).bind_processor(dialect) for name, bind in compiled.binds.items()
    }
    positions = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
    return DriverStatement(compiled.string, positions, convert, defaults)


def execute_batch(session: Session, statement: Insert, rows: Sequence[Mapping[str, Any]]) -> None:
    """``session.execute(statement, rows)`` through the driver's own ``executemany``.

    SQLAlchemy builds and converts a parameter set per row in Python: for a page's links that cost
    as much as the database's own work. Here the statement is compiled once per dialect and column
    set, and each column's bind conversion (a datetime's UTC form, a boolean as 0/1) is applied as
    SQLAlchemy would; a value every row shares (the commit's time) is converted once.
    """
    if not rows:
        return
    connection = session.connection()
    columns = tuple(rows[0])
    driver = driver_statement(statement, connection.dialect, columns)
    if driver is None:
        session.execute(statement, list(rows))
        return
    first = {**driver.defaults, **rows[0]}
    fixed = {
        name: _converted(driver.convert[name], value)
        for name, value in first.items()
        if name in driver.defaults or all(row[name] is value for row in rows)
    }
    order = driver.positions or tuple(first)
    values = [
        [fixed[name] if name in fixed else _converted(driver.convert[name], row[name]) for name in order]
        for row in rows
    ]
    if driver.positions is None:
        connection.exec_driver_sql(driver.sql, [dict(zip(order, value, strict=True)) for value in values])
    else:
        connection.exec_driver_sql(driver.sql, [tuple(value) for value in values])


def _converted(convert: Callable[[Any], Any] | None, value: Any) -> Any:
    return value if convert is None else convert(value)
