"""The state schema on real SQLite and real PostgreSQL, created only through migrations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic import command
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from syncd.state import migrate
from syncd.state.db import make_engine, session_factory
from syncd.state.models import Base, Failure, Link, Run

TABLES = {
    *("links", "cursors", "runs", "failures", "campaign_members"),
    *("leases", "jobs", "schedules", "webhook_events"),
}
DAEMON_TABLES = {"leases", "jobs", "schedules"}


def table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def run_columns(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return {column["name"] for column in inspect(engine).get_columns("runs")}
    finally:
        engine.dispose()


def test_upgrade_creates_every_table_and_matches_the_models(state_url: str) -> None:
    migrate.upgrade(state_url)
    assert table_names(state_url) == TABLES == set(Base.metadata.tables)
    assert migrate.current_revision(state_url) == migrate.head_revision()


def test_downgrade_base_then_upgrade_round_trips(state_url: str) -> None:
    migrate.upgrade(state_url)
    migrate.downgrade(state_url, "base")
    assert table_names(state_url) == set()
    assert migrate.current_revision(state_url) is None
    migrate.upgrade(state_url)
    assert table_names(state_url) == TABLES


def test_daemon_revision_downgrades_alone(state_url: str) -> None:
    migrate.upgrade(state_url)
    migrate.downgrade(state_url, "0001")
    assert table_names(state_url) == TABLES - DAEMON_TABLES - {"webhook_events"}
    assert "job_id" not in run_columns(state_url)
    migrate.upgrade(state_url)
    assert table_names(state_url) == TABLES
    assert "job_id" in run_columns(state_url)


def test_migrations_match_the_models(state_url: str) -> None:
    """``alembic check``: a model change without its migration fails here, on both dialects."""
    migrate.upgrade(state_url)
    command.check(migrate.alembic_config(state_url))


def test_datetimes_come_back_aware_in_utc(state_url: str) -> None:
    migrate.upgrade(state_url)
    engine = make_engine(state_url)
    warsaw_noon = datetime(2026, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    with session_factory(engine)() as session:
        session.add(
            Run(tenant="acme", stream="customers", trigger="cli", mode="incremental", started_at=warsaw_noon)
        )
        session.commit()
    with session_factory(engine)() as session:
        run = session.scalars(select(Run)).one()
    engine.dispose()
    assert run.started_at == warsaw_noon
    assert run.started_at.tzinfo is not None
    assert run.started_at.utcoffset() == timedelta(0)
    assert run.started_at.hour == 10


def test_one_link_per_source_key(state_url: str) -> None:
    migrate.upgrade(state_url)
    engine = make_engine(state_url)
    with session_factory(engine)() as session:
        session.add(Link(tenant="acme", stream="customers", source_key="7", thulium_id=1, payload_hash="a"))
        session.add(Link(tenant="other", stream="customers", source_key="7", thulium_id=2, payload_hash="a"))
        session.commit()
        session.add(Link(tenant="acme", stream="customers", source_key="7", thulium_id=3, payload_hash="b"))
        with pytest.raises(IntegrityError):
            session.commit()
    engine.dispose()


def test_failures_keep_one_row_per_key(state_url: str) -> None:
    migrate.upgrade(state_url)
    engine = make_engine(state_url)
    now = datetime.now(UTC)
    with session_factory(engine)() as session:
        row = Failure(
            tenant="acme",
            stream="customers",
            source_key="9",
            operation="create",
            kind="rejected",
            message="surname is required",
            last_failed_at=now,
        )
        session.add(row)
        session.commit()
        session.add(
            Failure(
                tenant="acme",
                stream="customers",
                source_key="9",
                operation="create",
                kind="rejected",
                message="again",
            )
        )
        with pytest.raises(IntegrityError):
            session.commit()
    engine.dispose()


def test_sqlite_state_runs_in_wal_mode(sqlite_url: str) -> None:
    migrate.upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
    engine.dispose()
    assert mode == "wal"


def test_the_fast_head_check_names_the_newest_migration() -> None:
    """`syncd sync` compares the state DB with HEAD_REVISION without loading Alembic: a new migration
    script must move the constant too, or every run would upgrade (and the daemon never call a DB current)."""
    assert migrate.head_revision() == migrate.HEAD_REVISION


def test_the_run_liveness_revision_downgrades_alone(state_url: str) -> None:
    liveness = {"holder", "epoch", "last_seen_at"}
    migrate.upgrade(state_url)
    assert liveness <= run_columns(state_url)
    migrate.downgrade(state_url, "0005")
    assert not liveness & run_columns(state_url)
    assert "job_id" in run_columns(state_url)
    migrate.upgrade(state_url)
    assert liveness <= run_columns(state_url)


def link_indexes(url: str) -> dict[str, bool]:
    """Index name -> whether it is partial (has a WHERE), as the database reports it (PostgreSQL lists the
    unique constraint's index too)."""
    engine = make_engine(url)
    try:
        return {
            str(index["name"]): any(k.endswith("_where") for k in index.get("dialect_options", {}))
            for index in inspect(engine).get_indexes("links")
            if str(index["name"]).startswith("ix_")
        }
    finally:
        engine.dispose()


def test_the_partial_link_indexes_revision_downgrades_alone(state_url: str) -> None:
    partial = {"ix_links_thulium", "ix_links_company", "ix_links_recheck", "ix_links_company_customer"}
    migrate.upgrade(state_url)
    assert {name for name, is_partial in link_indexes(state_url).items() if is_partial} == partial
    migrate.downgrade(state_url, "0006")
    assert link_indexes(state_url) == dict.fromkeys(partial - {"ix_links_company_customer"}, False)
    migrate.upgrade(state_url)
    assert {name for name, is_partial in link_indexes(state_url).items() if is_partial} == partial
