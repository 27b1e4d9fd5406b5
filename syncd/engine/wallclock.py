"""Naive datetimes, on purpose: wall-clock times that carry no zone.

The state DB holds aware UTC only (``state.types.UTCDateTime`` refuses a naive value). The times that come
from outside do not: a source database's naive ``updated_at`` column holds its session's local time, and
Thulium's and Wolkvox's ``YYYY-MM-DD HH:MM`` text is the account's wall clock. Such a value must stay naive,
since a zone guessed for it would compare, bind and print as another moment. Where the code builds a naive
datetime from nothing (a constructor, a parse, the clock), it calls one of these, so ruff's DTZ rules stay on
everywhere else and each naive value is a decision someone took, not one they forgot.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo


def wall_clock(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, microsecond: int = 0
) -> datetime:
    """A time as a zone-less column or API holds it."""
    return datetime(year, month, day, hour, minute, second, microsecond)  # noqa: DTZ001 -- this module's job


def parse_wall_clock(text: str, layout: str) -> datetime:
    """``strptime`` for a layout with no ``%z``: the zone is the writer's, and not ours to guess."""
    return datetime.strptime(text, layout)  # noqa: DTZ007 -- this module's job


def wall_clock_now(zone: tzinfo | None = None) -> datetime:
    """What a wall clock in ``zone`` (this machine's when None) reads now."""
    return datetime.now(UTC).astimezone(zone).replace(tzinfo=None)
