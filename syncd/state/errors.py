"""What the state layer raises, named so ops, web and worker can catch it without knowing SQLAlchemy.

The state DB is reached through SQLAlchemy, and every failure of it (unreachable, locked, a
schema it does not expect) is a ``SQLAlchemyError``. The layers above only need to tell "the state
DB did not answer" from their own errors, so they catch ``StateDbError``: the same class under the
state layer's name, so nothing they catch changes. The source's SQL goes through the same toolkit,
so its database errors are ``StateDbError`` too (``syncd.app.attempts`` relies on that to print
the first line of either).
"""

from __future__ import annotations

from sqlalchemy.exc import ArgumentError, SQLAlchemyError

StateDbError = SQLAlchemyError
NotADatabaseUrl = ArgumentError  # the URL itself does not parse: nothing was tried

__all__ = ["NotADatabaseUrl", "StateDbError"]
