"""What counts as "deleted" in a soft-delete column.

Sources mark deletions with booleans, 0/1, 'Y'/'N' strings or a ``deleted_at`` timestamp;
a value is treated as deleted unless it clearly says "no", so an unexpected marker errs
towards the deletion being visible rather than silently ignored.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

FALSE_WORDS = frozenset({"", "0", "false", "f", "no", "n", "off", "null", "none"})


def is_deleted(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return value != 0
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        word = value.strip().lower()
        if word in FALSE_WORDS:
            return False
        try:
            return float(word) != 0
        except ValueError:
            return True
    return True
