"""The FROM clause of one stream: the tenant's table or its query, and the columns it needs.

Columns are untyped (``sqlalchemy.column(name)``) so values reach the engine exactly as the
driver returns them and cursor values compare in the database with the database's own
ordering. Names come from the tenant file and are rendered as quoted identifiers by
SQLAlchemy, never pasted into SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnClause, FromClause, column, table, text
from sqlalchemy.sql.elements import KeyedColumnElement

from syncd.settings.tenant import CustomersSection, StreamSection

# The pattern SQLAlchemy's text() takes for a bind parameter (":name" not after ':', a word
# character or a backslash). A tenant query has no parameters, so any such text is literal.
_BIND_LIKE = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")


@dataclass(frozen=True)
class StreamSource:
    """One stream's selectable and the columns the reader uses from it."""

    name: str
    source: FromClause
    key: KeyedColumnElement[Any]
    updated_at: KeyedColumnElement[Any]
    deleted: KeyedColumnElement[Any] | None
    values: tuple[str, ...]
    lookback_seconds: int
    clock_skew_seconds: int

    @property
    def columns(self) -> list[KeyedColumnElement[Any]]:
        names = [self.key.key, self.updated_at.key]
        if self.deleted is not None:
            names.append(self.deleted.key)
        names += [n for n in self.values if n not in names]
        return [self.source.c[n] for n in names]


def value_columns(section: StreamSection) -> tuple[str, ...]:
    """Source columns whose raw values the engine normalises: the mapped ones and the company key."""
    names = list(dict.fromkeys(section.fields.values()))
    if isinstance(section, CustomersSection) and section.company_key and section.company_key not in names:
        names.append(section.company_key)
    return tuple(names)


def build(name: str, section: StreamSection) -> StreamSource:
    values = value_columns(section)
    needed = list(dict.fromkeys([section.key, section.updated_at, *filter(None, [section.deleted]), *values]))
    cols: list[ColumnClause[Any]] = [column(n) for n in needed]
    source: FromClause
    if section.table is not None:
        schema, _, table_name = section.table.rpartition(".")
        source = table(table_name, *cols, schema=schema or None)
    else:
        assert section.query is not None
        source = text(literal_colons(section.query)).columns(*cols).subquery(f"src_{_safe(name)}")
    return StreamSource(
        name=name,
        source=source,
        key=source.c[section.key],
        updated_at=source.c[section.updated_at],
        deleted=source.c[section.deleted] if section.deleted else None,
        values=values,
        lookback_seconds=section.lookback_seconds,
        clock_skew_seconds=section.clock_skew_seconds,
    )


def literal_colons(query: str) -> str:
    r"""The query with ``:word`` escaped so text() keeps it literal, and any trailing ``;`` dropped."""
    return _BIND_LIKE.sub(r"\\:\1", query.strip().rstrip(";").rstrip())


def _safe(name: str) -> str:
    return re.sub(r"\W", "_", name)
