"""Bound parameters typed from the value, not from the (untyped) source column.

Source columns are declared without types so rows come back exactly as the driver returns
them; comparisons then need a bind type that matches the value. Left to inference, a
Python int would be cast ``::INTEGER`` on PostgreSQL (overflowing a BIGINT key or an epoch
in milliseconds) and an aware datetime ``::TIMESTAMP WITHOUT TIME ZONE`` (shifted by the
session's time zone); these types avoid both.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    Boolean,
    Date,
    DateTime,
    Float,
    LargeBinary,
    Numeric,
    String,
    Time,
    Uuid,
    bindparam,
)
from sqlalchemy.types import TypeEngine


def _aware(value: datetime | time) -> bool:
    return value.tzinfo is not None


# In order, first match wins: bool before int and datetime before date, each is a subclass of the other.
_BIND_TYPES: tuple[tuple[type, Callable[[Any], TypeEngine[Any]]], ...] = (
    (bool, lambda _: Boolean()),
    (int, lambda _: BigInteger()),
    (float, lambda _: Float()),
    (Decimal, lambda _: Numeric()),
    (datetime, lambda v: DateTime(timezone=_aware(v))),
    (date, lambda _: Date()),
    (time, lambda v: Time(timezone=_aware(v))),
    (str, lambda _: String()),
    (uuid.UUID, lambda _: Uuid()),
    (bytes, lambda _: LargeBinary()),
)


def type_of(value: Any) -> TypeEngine[Any] | None:
    return next((make(value) for kind, make in _BIND_TYPES if isinstance(value, kind)), None)


def bound(value: Any) -> BindParameter[Any]:
    return bindparam(None, value, type_=type_of(value))


def bound_list(values: Sequence[Any]) -> BindParameter[Any]:
    """An expanding ``IN`` parameter: one placeholder per value, never values in the SQL text."""
    return bindparam(None, list(values), expanding=True, type_=type_of(values[0]) if values else None)
