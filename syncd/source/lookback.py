"""Moving a cursor's ``updated_at`` back by the lookback window, in the column's own type.

The shifted value is bound against the source column, so it must keep the column's type and,
for text columns, the same textual layout: SQLite compares ISO strings as text, so
``2024-05-01T10:00:00`` and ``2024-05-01 10:00:00`` do not order as the times they spell.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

_FRACTION = re.compile(r"[T ]\d{2}:\d{2}:\d{2}\.(\d+)")


def shift_back(value: Any, seconds: int) -> Any:
    """``value - seconds``; dates step back whole days, numbers are epochs in their own unit."""
    if isinstance(value, bool):
        raise TypeError("a boolean updated_at cannot have a lookback window")
    if isinstance(value, datetime):
        return value - timedelta(seconds=seconds)
    if isinstance(value, date):
        return value - timedelta(days=math.ceil(seconds / 86400))
    if isinstance(value, int | float):
        return value - seconds * epoch_unit(value)
    if isinstance(value, Decimal):
        return value - Decimal(seconds * epoch_unit(value))
    if isinstance(value, str):
        return _shift_text(value, seconds)
    raise TypeError(f"cannot apply a lookback window to updated_at of type {type(value).__name__}")


def epoch_unit(value: float | Decimal) -> int:
    """Ticks per second of a numeric epoch, guessed from its size.

    1e11 seconds is the year 5138, so anything larger is milliseconds, micro- or nanoseconds
    (as JavaScript, Java and many ORMs write them), not seconds.
    """
    magnitude = abs(float(value))
    steps: tuple[tuple[int, int], ...] = ((1_000_000_000, 10**17), (1_000_000, 10**14), (1000, 10**11))
    for ticks, threshold in steps:
        if magnitude >= threshold:
            return ticks
    return 1


def _shift_text(value: str, seconds: int) -> str:
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(
            f"lookback_seconds needs an ISO date/time in updated_at, got {value!r}; set lookback_seconds = 0"
        ) from exc
    if len(text) == 10:  # a bare date: YYYY-MM-DD
        return str(shift_back(moment.date(), seconds).isoformat())
    return text_like(text, moment - timedelta(seconds=seconds))


def text_like(sample: str, moment: datetime) -> str:
    """``moment`` written in the layout of ``sample`` (an ISO date/time): its separator, fraction
    digits and zone suffix; an aware ``moment`` is written in its own offset, so convert it first."""
    text = sample.strip()
    if len(text) == 10:
        return moment.date().isoformat()
    separator = text[10]
    fraction = _FRACTION.search(text)
    digits = len(fraction.group(1)) if fraction else 0
    body = moment.replace(tzinfo=None).isoformat(sep=separator, timespec="microseconds")
    body = body[: len(body) - 6 + digits] if digits <= 6 else body + "0" * (digits - 6)
    if body.endswith("."):
        body = body[:-1]
    if datetime.fromisoformat(text).tzinfo is None:
        return body
    if text.endswith("Z"):
        return body + "Z"
    return body + moment.isoformat()[-6:]
