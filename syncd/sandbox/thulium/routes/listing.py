"""What GET customers and GET companies share: the filters on a customer card's fields (a company's data lives
on its own customer record, so both filter the same card) and a stable sort by the ``order`` keys."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from syncd.sandbox.thulium.params import custom_field_filters
from syncd.sandbox.thulium.store import Customer

T = TypeVar("T")
EXACT_FIELDS = ("nip", "type", "group")


def card_filter(query: Any) -> Callable[[Customer], bool]:
    """identifier, email (any of the card's, case-insensitive), phone_number (any of them; empty = none),
    nip, type, group and ``custom_fields[name]``."""
    custom = custom_field_filters(query)

    def matches(cust: Customer) -> bool:
        if "identifier" in query and cust.identifier != query["identifier"]:
            return False
        if "email" in query and query["email"].lower() not in (e.lower() for e in cust.emails):
            return False
        if "phone_number" in query:
            phone = query["phone_number"]
            if (phone not in cust.phones) if phone else bool(cust.phones):
                return False
        if any(k in query and getattr(cust, k) != query[k] for k in EXACT_FIELDS):
            return False
        return all(cust.custom_fields.get(name) in values for name, values in custom.items())

    return matches


def ordered(
    items: list[T], by_id: Callable[[T], int], keys: list[tuple[str, bool]], value: Callable[[T, str], Any]
) -> list[T]:
    """By id first, so that ties keep one order whatever the keys; then by the keys, the first one winning."""
    items = sorted(items, key=by_id)
    for key, desc in reversed(keys):
        items.sort(key=lambda item, k=key: value(item, k), reverse=desc)  # type: ignore[misc]
    return items
