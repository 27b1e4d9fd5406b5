"""What reading the tenant's own database raises, named for the layers above the source.

The same toolkit reaches the source and the state DB, so its failures are one class; the
application layer catches it under this name when the database in question is the source.
"""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from syncd.errors import Fatal

SourceDbError = SQLAlchemyError


class SourceMissing(ValueError, Fatal):
    """The source database named in the tenant file does not exist."""


__all__ = ["SourceDbError", "SourceMissing"]
