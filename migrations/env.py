"""Alembic environment: the state DB URL comes from the caller, never from a committed file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from syncd.settings.process import ProcessSettings
from syncd.state.db import make_engine
from syncd.state.models import Base

config = context.config


def state_url() -> str:
    given = config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get("url")
    return str(given) if given else ProcessSettings().default_state_url()


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if isinstance(connection, Connection):
        run_with(connection)
        return
    engine = make_engine(state_url())
    try:
        with engine.connect() as conn:
            run_with(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    context.configure(url=state_url(), target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
