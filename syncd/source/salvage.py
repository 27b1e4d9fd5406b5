"""Rows the database driver cannot read: isolated, so one bad value costs its row, not the stream.

A driver fails a whole statement when it cannot convert one value (SQLite text that is not
valid UTF-8, a PostgreSQL date beyond Python's year 9999). Uncaught, that is a poison page:
every run fails on it, and no row behind it in keyset order is ever read again. So a page
that fails is read again in parts:

1. the same statement with ``LIMIT 0``, then its positions only (key and ``updated_at``),
   with the same WHERE, ORDER BY and LIMIT: if either fails, no value is to blame (a column
   the tenant file maps is gone, or the row cannot be placed in keyset order at all) and the
   original error stands: the run aborts and the next one tries again;
2. its rows by key, halving the key list until each failing part is one row;
3. that row's columns one by one: those the driver cannot read become ``Unreadable`` (their
   reason: the driver's error, values left out), and the engine rejects the row with it.

If no single column fails, the original error stands (not a value problem). A transient
error is not mistaken for bad data unless it strikes the very reads of step 3; such a row
is rejected until it changes or the next full reconcile reads it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Executable, Select, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import KeyedColumnElement

from syncd.engine.crm.normalize import Unreadable, describe_error
from syncd.engine.records import Position, SourceRow
from syncd.source.binds import bound, bound_list
from syncd.source.selectable import StreamSource
from syncd.source.truthy import is_deleted

log = logging.getLogger(__name__)

Fetch = Callable[[Executable], Sequence[Mapping[Any, Any]]]
Statement = Callable[[Sequence[KeyedColumnElement[Any]]], Select[Any]]  # the page's query, given columns


def to_row(spec: StreamSource, data: Mapping[Any, Any]) -> SourceRow:
    key = data[spec.key.key]
    deleted = spec.deleted is not None and is_deleted(data[spec.deleted.key])
    return SourceRow(
        key=str(key),
        position=Position(data[spec.updated_at.key], key),
        deleted=deleted,
        values={name: data[name] for name in spec.values},
    )


def read_page(fetch: Fetch, spec: StreamSource, statement: Statement) -> list[SourceRow]:
    """The rows of one statement, in its order; a row whose values cannot be read comes back rejectable."""
    try:
        return [to_row(spec, data) for data in fetch(statement(spec.columns))]
    except DBAPIError as error:
        if error.connection_invalidated:
            raise
        return salvage(fetch, spec, statement, error)


def salvage(fetch: Fetch, spec: StreamSource, statement: Statement, error: DBAPIError) -> list[SourceRow]:
    try:
        fetch(statement(spec.columns).limit(0))  # no row read: a failure here is the statement's own
        positions = fetch(statement([spec.key, spec.updated_at]))
    except DBAPIError:
        raise error from None
    updated = {data[spec.key.key]: data[spec.updated_at.key] for data in positions}
    rows = rows_by_key(fetch, spec, updated, error)
    return [rows[key] for key in updated if key in rows]


def rows_by_key(
    fetch: Fetch, spec: StreamSource, updated: dict[Any, Any], error: DBAPIError
) -> dict[Any, SourceRow]:
    """Native key -> row, halving the keys until the part that fails is a single row."""
    keys = list(updated)
    if not keys:
        return {}
    try:
        found = fetch(select(*spec.columns).where(spec.key.in_(bound_list(keys))))
        return {data[spec.key.key]: to_row(spec, data) for data in found}
    except DBAPIError as failed:
        if failed.connection_invalidated:
            raise
    if len(keys) == 1:
        row = unreadable_row(fetch, spec, keys[0], updated[keys[0]], error)
        return {} if row is None else {keys[0]: row}
    half = len(keys) // 2
    first = rows_by_key(fetch, spec, {k: updated[k] for k in keys[:half]}, error)
    return first | rows_by_key(fetch, spec, {k: updated[k] for k in keys[half:]}, error)


def unreadable_row(
    fetch: Fetch, spec: StreamSource, key: Any, updated_at: Any, error: DBAPIError
) -> SourceRow | None:
    """The row with each value the driver cannot read replaced by ``Unreadable``; None if it is gone."""
    values: dict[str, Any] = {spec.key.key: key, spec.updated_at.key: updated_at}
    for column in spec.columns:
        if column.key in values:
            continue
        try:
            found = fetch(select(column).where(spec.key == bound(key)))
        except DBAPIError as failed:
            if failed.connection_invalidated:
                raise
            values[column.key] = Unreadable(describe_error(failed.orig or failed))
            continue
        if not found:
            return None  # deleted meanwhile: the next read settles it
        values[column.key] = found[0][column.key]
    blamed = sorted(name for name, value in values.items() if isinstance(value, Unreadable))
    if not blamed:
        raise error  # every value reads on its own: not this row's data
    log.warning(
        "stream %s: key %s has values the database driver cannot read (%s); the row is rejected",
        spec.name,
        key,
        ", ".join(blamed),
    )
    marker = values.get(spec.deleted.key) if spec.deleted is not None else None
    deleted = marker is not None and not isinstance(marker, Unreadable) and is_deleted(marker)
    kept = {name: values[name] for name in spec.values}
    if spec.deleted is not None and isinstance(marker, Unreadable):
        kept[spec.deleted.key] = marker  # the row cannot be told deleted or not: rejected with the reason
    return SourceRow(str(key), Position(updated_at, key), deleted, kept)
