"""Domain types the engine works with, free of HTTP, SQL and Celery."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Position:
    """A keyset position ``(updated_at, key)`` in a source stream, in the source's native types.

    The engine never compares positions; it only remembers the last one it settled. The
    source adapter orders by them and the state adapter serialises them.
    """

    updated_at: Any
    key: Any


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One row of a stream as read from the source, before any normalising.

    ``note`` is the source's warning about the row itself (e.g. an ``updated_at`` ahead of the
    database's clock): timestamps may appear in it, the row's other values never do.
    """

    key: str
    position: Position
    deleted: bool
    values: Mapping[str, Any] = field(default_factory=dict)
    note: str | None = None
