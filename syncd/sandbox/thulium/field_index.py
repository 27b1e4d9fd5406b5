"""Record ids by the value of one field, so a filter or a uniqueness check reads its matches, not all records.

Looking up a customer by ``identifier`` (how syncd settles a create whose answer was lost), checking a new
company's tax id (NIP) against every other company's, and finding a company's members each walked the whole
store; at a million customers those walks, not syncd, set the pace of a load.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)

_EMPTY: frozenset[int] = frozenset()


class FieldIndex(Generic[K]):
    def __init__(self) -> None:
        self._ids: dict[K, set[int]] = {}

    def add(self, value: K, record_id: int) -> None:
        self._ids.setdefault(value, set()).add(record_id)

    def discard(self, value: K, record_id: int) -> None:
        ids = self._ids.get(value)
        if ids is None:
            return
        ids.discard(record_id)
        if not ids:
            del self._ids[value]

    def ids(self, value: K) -> frozenset[int] | set[int]:
        """The ids holding ``value`` (not a copy: read it before the next change)."""
        return self._ids.get(value, _EMPTY)
