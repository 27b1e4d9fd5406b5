"""Source databases for the reader tests: real SQLite, PostgreSQL and MariaDB, fresh per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine


@pytest.fixture
def engine(source_url: str) -> Iterator[Engine]:
    engine = create_engine(source_url)
    try:
        yield engine
    finally:
        engine.dispose()
