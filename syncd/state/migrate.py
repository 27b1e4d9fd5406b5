"""Run the Alembic migrations from code, so `syncd db upgrade` needs no alembic.ini.

Every `syncd sync` asks whether its state DB is current. That question is answered with one query
against ``HEAD_REVISION`` instead of loading Alembic and its scripts (a tenth of a second of every
run); a test keeps the constant equal to the newest script's revision.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, make_url, text

from syncd.state.db import make_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
HEAD_REVISION = "0007"


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    # stdout now: Config's default is the sys.stdout of when alembic was first imported, which may be
    # a stream captured and closed since (a command run in-process by a test runner or an embedder)
    config = Config(attributes={"url": url}, stdout=sys.stdout)
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def upgrade_if_needed(url: str) -> None:
    if not is_current(url):
        upgrade(url)


def downgrade(url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    """The revision recorded in ``alembic_version`` (what Alembic itself would report), or None."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return recorded_revision(conn)
    finally:
        engine.dispose()


def recorded_revision(conn: Connection) -> str | None:
    """``alembic_version``'s one row, read as Alembic reads it, without loading Alembic."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return None if revision is None else str(revision)


def is_current(url: str) -> bool:
    """At head; a SQLite file that does not exist yet is not current (and is not created by asking)."""
    parsed = make_url(url)
    database = parsed.database
    is_sqlite_file = parsed.get_backend_name() == "sqlite" and database not in (None, "", ":memory:")
    if is_sqlite_file and not Path(str(database)).exists():
        return False
    return current_revision(url) == HEAD_REVISION


def head_revision() -> str | None:
    """The newest script's revision, read by Alembic (what ``HEAD_REVISION`` must say)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
