"""The engine of the tenant's own database, which syncd only reads.

SQLite creates a database file (and syncd's state helper its folder) on first connect: for the source that
would turn a mistyped path into an empty database and a "no such table" traceback. A missing file is said
as what it is, and nothing is created.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeAlias

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from syncd.source.errors import SourceMissing
from syncd.state.db import make_engine

SourceEngine: TypeAlias = Engine  # a connection pool to the tenant's database, as runtimes hold it


def source_engine(url: str) -> SourceEngine:
    parsed = make_url(url)
    database = parsed.database
    on_disk = database and database != ":memory:" and not database.startswith("file:")
    if parsed.get_backend_name() == "sqlite" and on_disk and not Path(str(database)).is_file():
        raise SourceMissing(
            f"source.url: the SQLite file {database} does not exist; syncd only reads the source and "
            "never creates it: check the path (relative paths start from the working directory)"
        )
    return make_engine(url)
