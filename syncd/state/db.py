"""Engine and session factory for the state DB, and ``StateDb``: the two as one object for callers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from sqlalchemy import CursorResult, Engine, Result, create_engine, event, make_url, text
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


Sessions = Callable[[], Session]  # what every store is built on: a new session per unit of work


class StateDb(AbstractContextManager["StateDb"]):
    """One state DB's engine and its sessions, handed around as one object.

    The layers above the state layer open, share and close a state DB through it, so none of
    them needs to know what an engine or a sessionmaker is. ``with StateDb.open(url) as db`` for
    one command; a long-lived process keeps its ``StateDbs``.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions: Sessions = session_factory(engine)

    @classmethod
    def open(cls, url: str) -> StateDb:
        return cls(make_engine(url))

    def ping(self) -> None:
        """A round trip to the database; raises ``StateDbError`` when it does not answer."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()

    def __exit__(self, *_exc: object) -> None:
        self.dispose()


class StateDbs:
    """One ``StateDb`` per URL for the life of a process, so each request does not pay for a new pool.

    Thread-safe (the web process reads from worker threads). Pools must not cross a fork: a
    worker keeps one ``StateDbs`` per pid (``syncd.worker.resources``).
    """

    def __init__(self) -> None:
        self._dbs: dict[str, StateDb] = {}
        self._lock = threading.Lock()

    def get(self, url: str) -> StateDb:
        with self._lock:
            db = self._dbs.get(url)
            if db is None:
                db = self._dbs[url] = StateDb.open(url)
            return db

    def dispose(self) -> None:
        with self._lock:
            for db in self._dbs.values():
                db.dispose()
            self._dbs.clear()
