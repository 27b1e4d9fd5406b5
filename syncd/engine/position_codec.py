"""Cursor positions as two strings for the state DB, and back in the source's native types.

The source compares the stored cursor against its own column, so a position must come back
as the same Python type it was read as: a datetime that came back as a string would compare
as text on PostgreSQL and fail, an aware datetime that came back naive would shift by the
session's time zone. Hence type-tagged JSON instead of ``str()``.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from syncd.engine.records import Position

# Checked in order: bool before int (bool is an int), datetime before date (datetime is a date).
_ENCODERS: list[tuple[type, str, Callable[[Any], Any]]] = [
    (bool, "b", lambda v: v),
    (int, "i", str),
    (float, "f", repr),
    (Decimal, "dec", str),
    (str, "s", lambda v: v),
    (datetime, "dt", lambda v: v.isoformat()),
    (date, "d", lambda v: v.isoformat()),
    (time, "t", lambda v: v.isoformat()),
    (uuid.UUID, "uuid", str),
    (bytes, "bytes", lambda v: base64.b64encode(v).decode("ascii")),
]

_DECODERS: dict[str, Callable[[Any], Any]] = {
    "b": bool,
    "i": int,
    "f": float,
    "dec": Decimal,
    "s": str,
    "dt": datetime.fromisoformat,
    "d": date.fromisoformat,
    "t": time.fromisoformat,
    "uuid": uuid.UUID,
    "bytes": lambda v: base64.b64decode(v.encode("ascii")),
}


def encode_value(value: Any) -> str:
    if value is None:
        return json.dumps(["null", None])
    for kind, tag, encode in _ENCODERS:
        if isinstance(value, kind):
            return json.dumps([tag, encode(value)], separators=(",", ":"), ensure_ascii=False)
    raise TypeError(f"cannot store a cursor value of type {type(value).__name__}: {value!r}")


def decode_value(text: str) -> Any:
    try:
        tag, raw = json.loads(text)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not an encoded cursor value: {text!r}") from exc
    if tag == "null":
        return None
    decode = _DECODERS.get(tag)
    if decode is None:
        raise ValueError(f"unknown cursor value type {tag!r} in {text!r}")
    return decode(raw)


def encode_position(position: Position) -> tuple[str, str]:
    """``(updated_at, key)`` as two strings for ``cursors.cursor_value`` and ``cursors.cursor_key``."""
    return encode_value(position.updated_at), encode_value(position.key)


def decode_position(value: str, key: str) -> Position:
    return Position(decode_value(value), decode_value(key))
