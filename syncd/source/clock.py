"""The source database's own clock, as an upper bound in the ``updated_at`` column's type.

A read's upper bound used to be ``max(updated_at)``: one row stamped in the future (a writer
whose clock runs ahead, a typo like 2031) became the cursor, and every ordinary change after
it sat behind the cursor for ever. So the bound is also capped at the database's "now" plus
``clock_skew_seconds``, read from the database itself: it is the clock the writers' own
``NOW()`` / ``DEFAULT CURRENT_TIMESTAMP`` use, whatever this machine's clock says.

SQLite has no clock of its own, so this machine's stands in (as for a dialect whose clock
this module does not know how to read). A naive SQLite timestamp may
have been written in UTC or in local time, and we cannot tell which: the later of the two is
used, so a correct row is never held back; the price is that a row stamped up to the zone's
offset ahead is still taken as current.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func

from syncd.engine.wallclock import wall_clock_now
from syncd.source.lookback import epoch_unit, text_like


@dataclass(frozen=True, slots=True)
class DatabaseNow:
    """One reading of the clock: ``local`` is what a naive column holds (the session's zone)."""

    local: datetime
    utc: datetime
    whose: str = "the source database's clock"

    def describe(self, sample: Any) -> str:
        """The clock as a person reads it, in the column's terms (naive local or aware)."""
        moment = self.local if _naive_like(sample) else self.utc
        if isinstance(sample, datetime) and sample.tzinfo is not None:
            moment = self.utc.astimezone(sample.tzinfo)
        return str(moment.replace(microsecond=0))


def now_columns(dialect: str) -> list[ColumnElement[Any]]:
    """What to select, next to ``max(updated_at)``, to read the database's clock in one statement."""
    if dialect == "postgresql":
        return [func.localtimestamp(), func.now()]
    if dialect in ("mysql", "mariadb"):
        return [func.now(), func.utc_timestamp()]
    return []


def database_now(dialect: str, values: Sequence[Any]) -> DatabaseNow:
    if dialect == "postgresql":
        local, aware = values
        return DatabaseNow(local, aware.astimezone(UTC))
    if dialect in ("mysql", "mariadb"):
        local, utc = values
        return DatabaseNow(local, utc.replace(tzinfo=UTC))
    utc_now = datetime.now(UTC)
    local_now = wall_clock_now()
    whose = "this machine's clock (SQLite has none)" if dialect == "sqlite" else "this machine's clock"
    return DatabaseNow(max(local_now, utc_now.replace(tzinfo=None)), utc_now, whose)


def clock_bound(sample: Any, now: DatabaseNow, skew_seconds: int) -> Any:
    """``now + skew`` as a value of the same type and layout as ``sample`` (a value of the column);
    None when the column's values are not times this can tell (a time of day, non-ISO text)."""
    skew = timedelta(seconds=skew_seconds)
    if isinstance(sample, bool):
        return None
    if isinstance(sample, datetime):
        if sample.tzinfo is None:
            return now.local + skew
        return (now.utc + skew).astimezone(sample.tzinfo)
    if isinstance(sample, date):
        return (now.local + skew).date()
    if isinstance(sample, int | float | Decimal):
        return _epoch(sample, now.utc + skew)
    if isinstance(sample, str):
        return _text(sample, now, skew)
    return None


def _epoch(sample: float | Decimal, moment: datetime) -> Any:
    unit = epoch_unit(sample)
    if isinstance(sample, int):
        return math.floor(moment.timestamp()) * unit + (moment.microsecond * unit) // 1_000_000
    if isinstance(sample, Decimal):
        return Decimal(str(moment.timestamp())) * unit
    return moment.timestamp() * unit


def _text(sample: str, now: DatabaseNow, skew: timedelta) -> str | None:
    try:
        parsed = datetime.fromisoformat(sample.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return text_like(sample, now.local + skew)
    return text_like(sample, (now.utc + skew).astimezone(parsed.tzinfo))


def _naive_like(sample: Any) -> bool:
    if isinstance(sample, datetime):
        return sample.tzinfo is None
    if isinstance(sample, date):
        return True
    if isinstance(sample, str):
        try:
            return datetime.fromisoformat(sample.strip()).tzinfo is None
        except ValueError:
            return True
    return False  # epochs count in UTC
