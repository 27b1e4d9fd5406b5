"""What the resources put on the wire: request bodies, query parameters and path segments (no I/O).

Ids and segments are checked before a URL is built, so a bad value is a ``ValueError`` on this machine, never
a request to the wrong record.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel

Payload = Mapping[str, Any] | BaseModel
"""A request body item: a ``schemas`` payload model (dumped with ``exclude_none``) or a plain mapping (sent as
is)."""

Params = list[tuple[str, str]]


def dump(payload: Payload) -> dict[str, Any]:
    if isinstance(payload, BaseModel):
        return payload.model_dump(mode="json", exclude_none=True)
    return dict(payload)


def identifiers(bodies: Sequence[Mapping[str, Any]]) -> list[str]:
    """The customer or company identifiers a create carries: how a lost answer is looked up."""
    return [str(b["identifier"]) for b in bodies if b.get("identifier")]


def int_id(value: object) -> int:
    """Ids go into paths; refuse anything that is not a plain positive integer rather than build a wrong
    URL."""
    if isinstance(value, bool):
        raise ValueError(f"not an id: {value!r}")
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValueError(f"not an id: {value!r}") from None
    if number <= 0 or (isinstance(value, str) and not value.strip().isdigit()):
        raise ValueError(f"not an id: {value!r}")
    return number


def segment(value: str) -> str:
    if not value:
        raise ValueError("empty path segment")
    return quote(str(value), safe="")


def check_unique(ids: Sequence[int]) -> None:
    """A 207 keyed by id cannot tell two items for the same id apart; the caller must not send duplicates."""
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    if dupes:
        raise ValueError(f"duplicate customer ids in one batch: {sorted(dupes)}")


def customer_ids(bodies: Sequence[Mapping[str, Any]], what: str) -> list[int]:
    """The ``customer_id`` of every batch item, which keys its 207 result: each present, valid and unique."""
    ids: list[int] = []
    for body in bodies:
        if body.get("customer_id") is None:
            raise ValueError(f"every {what} needs a customer_id")
        ids.append(int_id(body["customer_id"]))
    check_unique(ids)
    return ids


def check_limit(limit: int, maximum: int) -> None:
    if not 1 <= limit <= maximum:
        raise ValueError(f"limit must be between 1 and {maximum}, got {limit}")


def param_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def params(**values: object) -> Params:
    """Query parameters, skipping ``None`` (so an explicit ``""`` filter is still sent)."""
    return [(k, param_value(v)) for k, v in values.items() if v is not None]


def filter_params(filters: Mapping[str, object]) -> Params:
    """A resource's keyword filters as query parameters: ``None`` is left out, and so is a false
    ``include_*`` flag — Thulium sends what is asked for, and unlike filters such as company_flag, a flag's
    False means absent."""
    return params(**{k: (v or None) if k.startswith("include_") else v for k, v in filters.items()})


def custom_field_params(custom_fields: Mapping[str, str | Sequence[str]] | None) -> Params:
    """PHP-style ``custom_fields[Name]=v`` / ``custom_fields[Name][i]=v`` (alternatives for one field)."""
    found: Params = []
    for name, value in (custom_fields or {}).items():
        if isinstance(value, str):
            found.append((f"custom_fields[{name}]", value))
        else:
            found.extend((f"custom_fields[{name}][{i}]", v) for i, v in enumerate(value))
    return found
