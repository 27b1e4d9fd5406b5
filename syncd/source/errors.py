"""What reading the tenant's own database raises, named for the layers above the source.

The same toolkit reaches the source and the state DB, so its failures are one class; the
application layer catches it under this name when the database in question is the source.
"""

from __future__ import annotations

from typing import TypeAlias

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

SourceDbError = SQLAlchemyError
SourceEngine: TypeAlias = Engine  # a connection pool to the tenant's database, as runtimes hold it

__all__ = ["SourceDbError", "SourceEngine"]
