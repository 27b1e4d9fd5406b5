"""The cursors table: per stream, how far its source has been read (and a campaign's poll mark).

A stream's cursor is written only in the transaction of the batch that got it there
(``StateStore.commit``), so it is never ahead of the links it stands for.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from syncd.engine.position_codec import decode_position
from syncd.engine.records import Position
from syncd.state import models
from syncd.state.db import Sessions
from syncd.state.upsert import upsert

_CURSORS: Table = models.Base.metadata.tables["cursors"]
_KEY = ("tenant", "stream")
_UPDATED = ("cursor_value", "cursor_key", "updated_at")


def read_position(sessions: Sessions, tenant: str, stream: str) -> Position | None:
    """Where the stream's source read stands, as the source's own values; None before its first batch."""
    found = read_cursor(sessions, tenant, stream)
    return None if found is None else decode_position(*found)


def read_cursor(sessions: Sessions, tenant: str, stream: str) -> tuple[str, str] | None:
    """The stored (value, key) of the stream's cursor; None until both are written."""
    cursor = models.Cursor
    query = select(cursor.cursor_value, cursor.cursor_key).where(
        cursor.tenant == tenant, cursor.stream == stream
    )
    with sessions() as session:
        row = session.execute(query).one_or_none()
    if row is None or row.cursor_value is None or row.cursor_key is None:
        return None
    return row.cursor_value, row.cursor_key


def write_cursor(
    session: Session, dialect: str, tenant: str, stream: str, cursor: tuple[str, str], now: datetime
) -> None:
    """In the caller's transaction: the cursor moves with what got it there, or not at all."""
    value, key = cursor
    row = {"tenant": tenant, "stream": stream, "cursor_value": value, "cursor_key": key, "updated_at": now}
    statement = upsert(dialect, _CURSORS, _KEY, lambda new: {name: new[name] for name in _UPDATED})
    session.execute(statement, [row])


def cursor_moves(sessions: Sessions, tenant: str) -> list[tuple[str, datetime]]:
    """(stream, when its cursor last moved) for every cursor of the tenant."""
    cursor = models.Cursor
    query = select(cursor.stream, cursor.updated_at).where(cursor.tenant == tenant)
    with sessions() as session:
        return [(stream, updated_at) for stream, updated_at in session.execute(query)]
