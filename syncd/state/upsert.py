"""INSERT … ON CONFLICT DO UPDATE / DO NOTHING for the two state-DB dialects.

A native upsert keeps a batch to one statement and stays correct under the unique
constraints even if two writers ever overlapped, which select-then-update would not.
SQLite (3.24+) and PostgreSQL spell it the same way, so one helper serves both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlalchemy.sql.dml import Insert

from syncd.errors import Fatal

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
    if dialect == "postgresql":
        pg = postgresql.insert(table)
        return pg.on_conflict_do_update(index_elements=list(conflict), set_=dict(set_(pg.excluded)))
    if dialect == "sqlite":
        lite = sqlite.insert(table)
        return lite.on_conflict_do_update(index_elements=list(conflict), set_=dict(set_(lite.excluded)))
    raise UnsupportedDialect(f"the state DB must be SQLite or PostgreSQL, not {dialect!r}")


def insert_missing(dialect: str, table: Table, conflict: Sequence[str]) -> Insert:
    """An INSERT on ``table`` that does nothing where a row already holds the ``conflict`` key.

    For seeding a row two processes may create at once: the loser's insert is a no-op rather
    than an IntegrityError that would abort its transaction.
    """
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=list(conflict))
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=list(conflict))
    raise UnsupportedDialect(f"the state DB must be SQLite or PostgreSQL, not {dialect!r}")
