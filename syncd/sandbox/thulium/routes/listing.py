"""What GET customers and GET companies share: the filters on a customer card's fields (a company's data lives
on its own customer record, so both filter the same card), a stable sort by the ``order`` keys, and the page.

A page in id order (no ``order``, or the id first) is read from the id order kept beside the records and
costs O(page); a filter with an index (``identifier``, ``nip``, a customer's ``company_id``) reads only its
candidates. Only an ``order`` by another field, or a filter with no index, walks every record — syncd sends
neither while it pages, and a sandbox that walked N records per page would put its own curve on syncd's.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from syncd.sandbox.thulium.id_order import IdOrder
from syncd.sandbox.thulium.params import custom_field_filters
from syncd.sandbox.thulium.store import Customer

T = TypeVar("T")
EXACT_FIELDS = ("nip", "type", "group")
CARD_FILTERS = ("identifier", "email", "phone_number", *EXACT_FIELDS)


def card_filter(query: Any) -> Callable[[Customer], bool] | None:
    """identifier, email (any of the card's, case-insensitive), phone_number (any of them; empty = none),
    nip, type, group and ``custom_fields[name]``; None when the query names none of them."""
    custom = custom_field_filters(query)
    if not custom and not any(k in query for k in CARD_FILTERS):
        return None

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


@dataclass(frozen=True)
class Listing(Generic[T]):
    """One list request: the records' id order and how to read one, what the query keeps and sorts by."""

    order: IdOrder
    get: Callable[[int], T]
    by_id: Callable[[T], int]
    id_key: str
    keys: list[tuple[str, bool]]
    value: Callable[[T, str], Any]
    keep: Callable[[T], bool] | None
    """None when the query filters nothing."""
    candidates: Collection[int] | None = None
    """The ids an index narrowed the filter to (``keep`` still decides), or None to read them all."""

    def page(self, limit: int, offset: int) -> list[T]:
        if self.keys and self.keys[0][0] != self.id_key:
            kept = list(self._kept(self._ids(descending=False)))
            return ordered(kept, self.by_id, self.keys, self.value)[offset : offset + limit]
        descending = bool(self.keys) and self.keys[0][1]
        if self.keep is None and self.candidates is None:
            return [self.get(i) for i in self.order.page(offset, limit, descending=descending)]
        # Stops at the end of the page: a scan for the first page of a filter reads no further than it.
        return list(itertools.islice(self._kept(self._ids(descending=descending)), offset, offset + limit))

    def _ids(self, *, descending: bool) -> Iterable[int]:
        if self.candidates is not None:
            return sorted(self.candidates, reverse=descending)
        return self.order.descending() if descending else self.order.ascending()

    def _kept(self, ids: Iterable[int]) -> Iterator[T]:
        items = map(self.get, ids)
        return items if self.keep is None else filter(self.keep, items)
