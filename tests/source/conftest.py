"""Source databases for the reader tests: real SQLite, PostgreSQL and MariaDB, fresh per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine

SOURCES = [
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mariadb", marks=pytest.mark.mariadb),
]


@pytest.fixture(params=SOURCES)
def source_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'source.sqlite'}"
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
def engine(source_url: str) -> Iterator[Engine]:
    engine = create_engine(source_url)
    try:
        yield engine
    finally:
        engine.dispose()
