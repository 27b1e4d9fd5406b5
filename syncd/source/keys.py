"""Turning the engine's string keys back into values the key column can be compared with.

PostgreSQL refuses ``integer = varchar`` and SQLite compares 7 and '7' as different values,
so keys are converted to the type the column actually returns, learnt from one of its rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any


def converter_for(sample: Any) -> Callable[[str], Any]:
    if isinstance(sample, bool):
        return str
    for kind in (int, Decimal, float, uuid.UUID):
        if isinstance(sample, kind):
            return kind
    return str


def native_keys(keys: Iterable[str], sample: Any) -> dict[Any, str]:
    """Native key value → the engine's string, for the keys that can exist in the column at all.

    A key is kept only if converting it back gives the same string (``str(int("007"))`` is
    ``"7"``, so "007" cannot be a key of an integer column).
    """
    convert = converter_for(sample)
    native: dict[Any, str] = {}
    for key in dict.fromkeys(keys):
        try:
            value = convert(key)
        except (ValueError, TypeError, InvalidOperation):
            continue
        if str(value) == key:
            native[value] = key
    return native
