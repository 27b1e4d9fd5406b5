"""Moments as ops read them, in the CLI's tables and the console: ``5m ago``, ``in 2h``, or the UTC time
with its age."""

from __future__ import annotations

from datetime import UTC, datetime


def moment(value: datetime | None, now: datetime) -> str | None:
    if value is None:
        return None
    return f"{value.astimezone(UTC).isoformat(sep=' ', timespec='seconds')} ({ago(value, now)})"


def ago(value: datetime, now: datetime) -> str:
    seconds = int((now - value).total_seconds())
    if seconds < 0:
        return f"in {describe(-seconds)}"
    return f"{describe(seconds)} ago"


def describe(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"
