"""A migrated state DB per test, on real SQLite and real PostgreSQL, and a hand-moved clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from syncd.state import migrate
from syncd.state.db import make_engine, session_factory
from tests.state.helpers import Clock


@pytest.fixture
def engine(state_url: str) -> Iterator[Engine]:
    migrate.upgrade(state_url)
    engine = make_engine(state_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture
def clock() -> Clock:
    return Clock()
