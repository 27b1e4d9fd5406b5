"""Bound parameters typed from the value, not from the (untyped) source column.

Source columns are declared without types so rows come back exactly as the driver returns
them; comparisons then need a bind type that matches the value. Left to inference, a
Python int would be cast ``::INTEGER`` on PostgreSQL (overflowing a BIGINT key or an epoch
in milliseconds) and an aware datetime ``::TIMESTAMP WITHOUT TIME ZONE`` (shifted by the
session's time zone); these types avoid both.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
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


def type_of(value: Any) -> TypeEngine[Any] | None:
    # bool before int and datetime before date: each is a subclass of the other.
    if isinstance(value, bool):
        return Boolean()
    if isinstance(value, int):
        return BigInteger()
    if isinstance(value, float):
        return Float()
    if isinstance(value, Decimal):
        return Numeric()
    if isinstance(value, datetime):
        return DateTime(timezone=value.tzinfo is not None)
    if isinstance(value, date):
        return Date()
    if isinstance(value, time):
        return Time(timezone=value.tzinfo is not None)
    if isinstance(value, str):
        return String()
    if isinstance(value, uuid.UUID):
        return Uuid()
    if isinstance(value, bytes):
        return LargeBinary()
    return None


def bound(value: Any) -> BindParameter[Any]:
    return bindparam(None, value, type_=type_of(value))


def bound_list(values: Sequence[Any]) -> BindParameter[Any]:
    """An expanding ``IN`` parameter: one placeholder per value, never values in the SQL text."""
    return bindparam(None, list(values), expanding=True, type_=type_of(values[0]) if values else None)
