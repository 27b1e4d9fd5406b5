"""Each engine port, twice: the in-memory fake the engine's unit tests use, and the real adapter.

The same test runs against both, so a fake can never drift from what it stands for: where they
disagree, the fake is wrong (the real adapter is what production runs).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import pytest
from sqlalchemy import Boolean, Column, DateTime, MetaData, String, Table

from syncd.engine.ports import Crm, Source, Store
from syncd.engine.records import Position
from syncd.engine.wallclock import wall_clock
from syncd.sandbox import SandboxProcess
from syncd.settings.tenant import StreamSection
from syncd.source import SqlSource
from syncd.state import migrate
from syncd.state.db import make_engine, session_factory
from syncd.state.repository import StateStore
from syncd.thulium import RetryPolicy, ThuliumClient
from syncd.thulium.crm import ThuliumCrm
from tests.engine.fakes import FakeCrm, FakeSource, FakeStore

STREAM = "people"
T0 = wall_clock(2024, 5, 1, 12, 0, 0)  # the rows' updated_at: well before the source database's clock


REAL_AND_FAKE = ["fake", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def database_url(request: pytest.FixtureRequest, sqlite_file: Path) -> str:
    """The parameter's database: a SQLite file here, or the session's throwaway PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{sqlite_file}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(params=REAL_AND_FAKE)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "fake":
        yield FakeStore()
        return
    url = database_url(request, tmp_path / "state.sqlite")
    migrate.upgrade(url)
    engine = make_engine(url)
    yield StateStore(session_factory(engine), "acme")
    engine.dispose()


class SourceRows(Protocol):
    """Writes rows into a source, so one test can fill the fake and a real table alike."""

    @property
    def source(self) -> Source: ...

    def put(self, key: str, tick: int, *, deleted: bool = False, name: str = "", ahead: bool = False) -> None:
        """``tick``: the row's updated_at, in seconds after T0; ``ahead``: stamped past the clock."""
        ...

    def look_back(self, seconds: int) -> None:
        """Re-read this many seconds (ticks) behind the cursor from now on."""
        ...


class FakeRows:
    def __init__(self) -> None:
        self.source = self.fake = FakeSource()

    def put(self, key: str, tick: int, *, deleted: bool = False, name: str = "", ahead: bool = False) -> None:
        self.fake.put(STREAM, key, deleted, stamped=tick, name=name)
        self.fake.tick = max(self.fake.tick, tick)
        self.fake.mark_ahead(STREAM, key, ahead)

    def look_back(self, seconds: int) -> None:
        self.fake.lookback = seconds


class TableRows:
    source: SqlSource

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.table = Table(
            "people",
            MetaData(),
            Column("id", String(20), primary_key=True),
            Column("updated_at", DateTime()),
            Column("deleted", Boolean()),
            Column("name", String(100)),
        )
        self.table.create(self.engine)
        self.look_back(0)

    def put(self, key: str, tick: int, *, deleted: bool = False, name: str = "", ahead: bool = False) -> None:
        stamped = (
            datetime.now(UTC).replace(tzinfo=None) + timedelta(days=1)
            if ahead
            else T0 + timedelta(seconds=tick)
        )
        row: dict[str, Any] = {"id": key, "updated_at": stamped, "deleted": deleted, "name": name}
        with self.engine.begin() as connection:
            connection.execute(self.table.delete().where(self.table.c.id == key))
            connection.execute(self.table.insert(), [row])

    def look_back(self, seconds: int) -> None:
        section = StreamSection(
            table="people",
            key="id",
            updated_at="updated_at",
            deleted="deleted",
            fields={"name": "name"},
            lookback_seconds=seconds,
        )
        self.source = SqlSource(self.engine, {STREAM: section})


@pytest.fixture(params=REAL_AND_FAKE)
def rows(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SourceRows]:
    if request.param == "fake":
        yield FakeRows()
        return
    url = database_url(request, tmp_path / "source.sqlite")
    table_rows = TableRows(url)
    yield table_rows
    table_rows.engine.dispose()


def position_of(source: Source, key: str) -> Position:
    (row,) = source.read_keys(STREAM, [key])
    return row.position


@pytest.fixture(params=["fake", "sandbox"])
def crm(request: pytest.FixtureRequest) -> Iterator[Crm]:
    if request.param == "fake":
        yield FakeCrm()
        return
    sandbox: SandboxProcess = request.getfixturevalue("sandbox")
    client = ThuliumClient(
        str(sandbox.url).rstrip("/") + "/",
        sandbox.user,
        sandbox.password,
        retry=RetryPolicy(max_attempts=2, base_delay=0.01, max_backoff=0.05),
    )
    yield ThuliumCrm(client)
    client.close()
