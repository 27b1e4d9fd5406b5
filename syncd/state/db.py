"""Engine and session factory for the state DB."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import CursorResult, Engine, Result, create_engine, event, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 10_000

# What opening and reading a database raises when it cannot be used: a URL that does not parse
# (ArgumentError; ValueError for its port), a dialect or driver not installed (NoSuchModuleError,
# ImportError), a server or file that refuses or fails (DBAPIError, OSError), a stored value that does not
# read back (ValueError). A caller that reports an unusable state DB and goes on catches these, not
# Exception, so a bug of ours still surfaces.
UNUSABLE_DB_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, ImportError, ValueError, OSError)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL and a busy timeout so a worker and the CLI can share it."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL + NORMAL: a commit survives the process being killed (what syncd's crash safety is
    # about) without an fsync per batch; only a power cut can lose the last commits. Use
    # PostgreSQL where that matters.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def rowcount(result: Result[Any]) -> int:
    """Rows a Core UPDATE matched: compare-and-set writes decide on it.

    ``Session.execute`` is typed as returning a plain ``Result``, which has no ``rowcount``.
    """
    assert isinstance(result, CursorResult), "Core DML returns a cursor result"
    return result.rowcount
