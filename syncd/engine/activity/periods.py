"""Report periods and read windows, in Thulium's local, zone-less time.

A report row for a period is final only once the period has ended, so a stream's cursor is the start
of the first period that was still open when it was last read: everything before it is settled, and
the next run reads again from there.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)


def period_start(moment: datetime, aggregate_by: str) -> datetime:
    """The start of the ``aggregate_by`` period (minute … year) that holds ``moment``."""
    if aggregate_by == "minute":
        return moment.replace(second=0, microsecond=0)
    if aggregate_by == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = datetime.combine(moment.date(), time())
    if aggregate_by == "day":
        return day
    if aggregate_by == "week":  # ISO weeks start on Monday
        return day - timedelta(days=moment.weekday())
    if aggregate_by == "month":
        return day.replace(day=1)
    if aggregate_by == "year":
        return day.replace(month=1, day=1)
    raise ValueError(f"not a period: {aggregate_by!r}")


def first_moment(start: date | None, days_back: int, now: datetime) -> datetime:
    """Where a stream with no cursor begins: its configured start, else ``days_back`` days before today."""
    first_day = start if start is not None else (now - timedelta(days=days_back)).date()
    return datetime.combine(first_day, time())


def day_spans(begin: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """``[begin, end)`` cut at midnights into half-open spans ``[low, high)``: every second before ``end``
    lies in exactly one span, and ``high`` is a whole minute (the next midnight, or ``end``)."""
    cursor = begin
    while cursor < end:
        next_start = datetime.combine(cursor.date(), time()) + DAY
        yield cursor, min(end, next_start)
        cursor = next_start


def whole_windows(begin: datetime, now: datetime, days: int) -> list[tuple[datetime, datetime]]:
    """Windows of ``days`` days from ``begin`` with their full bounds: the last one may still be open (its
    end after ``now``), and is stored under the same bounds each time it is read."""
    out: list[tuple[datetime, datetime]] = []
    start = begin
    while start <= now:
        end = start + days * DAY - timedelta(seconds=1)
        out.append((start, end))
        start = end + timedelta(seconds=1)
    return out


def seconds_of(text: object) -> int:
    """``"HH:MM:SS"`` (hours may pass 24), or a plain number of seconds, as whole seconds."""
    if isinstance(text, bool):
        raise ValueError("is a yes/no value, not a duration")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError("is negative")
        return int(text)
    if not isinstance(text, str):
        raise ValueError("is not a duration")
    parts = text.strip().split(":")
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        raise ValueError('is not a duration "HH:MM:SS"')
    hours, minutes, seconds = (int(part) for part in parts)
    if minutes >= 60 or seconds >= 60:
        raise ValueError('is not a duration "HH:MM:SS"')
    return hours * 3600 + minutes * 60 + seconds


def thulium_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def thulium_minute(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def wolkvox_time(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S")
