"""Source databases for the reader tests: a real SQLite file and a real PostgreSQL, fresh per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def source_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'source.sqlite'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def engine(source_url: str) -> Iterator[Engine]:
    engine = create_engine(source_url)
    try:
        yield engine
    finally:
        engine.dispose()
