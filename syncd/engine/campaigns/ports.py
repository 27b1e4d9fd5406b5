"""The protocols a campaign run drives; syncd.source, syncd.state and syncd.thulium implement them."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol

from syncd.engine.campaigns.plan import Member, Placed
from syncd.engine.campaigns.records import KeyedState, RecordState
from syncd.engine.ports import Commit, CrmResult


class RuleSource(Protocol):
    def rule_rows(self, outbound_id: str) -> Iterator[Mapping[str, Any]]:
        """The rows of the campaign's rule query (``key`` and the optional record fields)."""
        ...


class CustomerLinks(Protocol):
    def customer_ids(self, keys: Collection[str]) -> dict[str, int]:
        """Thulium customer ids of the linked keys (unlinked keys are absent)."""
        ...


class Members(Protocol):
    def members(self, outbound_id: str) -> dict[str, Member]: ...

    def commit(self, outbound_id: str, placed: Sequence[Placed], removed: Sequence[str]) -> None: ...

    def apply_states(self, outbound_id: str, states: Sequence[RecordState]) -> list[KeyedState]: ...

    def forget(self, outbound_id: str, keys: Sequence[str]) -> None: ...

    def poll_mark(self, outbound_id: str) -> str | None: ...

    def set_poll_mark(self, outbound_id: str, value: str) -> None: ...


class Failures(Protocol):
    """The failures table, for the campaign's own stream name (``campaign:<outbound_id>``)."""

    def open_failure_hashes(self, stream: str, keys: Collection[str]) -> dict[str, str | None]: ...

    def due_retries(self, stream: str, now: datetime) -> list[str]: ...

    def commit(self, stream: str, commit: Commit) -> None: ...


class CampaignCrm(Protocol):
    def max_batch(self) -> int: ...

    def add(self, outbound_id: str, records: Sequence[tuple[int, Mapping[str, Any]]]) -> list[CrmResult]:
        """One batch add; each result's ``thulium_id`` is the record id (also for ALREADY_EXISTS)."""
        ...

    def remove(self, outbound_id: str, customer_ids: Sequence[int]) -> list[CrmResult]: ...

    def change(self, outbound_id: str, customer_id: int, fields: Mapping[str, Any]) -> CrmResult: ...

    def records(self, outbound_id: str, since: date | None) -> Iterator[RecordState]:
        """Every record (``since=None``) or those called on/after ``since``."""
        ...

    def newest(self, outbound_id: str, count: int) -> list[RecordState]:
        """The ``count`` records added last (records are listed in the order they were added)."""
        ...

    def record(self, outbound_id: str, customer_id: int) -> RecordState | None:
        """One record as Thulium holds it now; None if the campaign has none for the customer."""
        ...

    def customer_exists(self, customer_id: int) -> bool | None:
        """Whether Thulium has this customer (``GET customers/:id``); None when the check itself failed."""
        ...


class Writeback(Protocol):
    def upsert(self, outbound_id: str, states: Sequence[KeyedState]) -> None: ...

    def delete(self, outbound_id: str, keys: Sequence[str]) -> None: ...

    def keys(self, outbound_id: str) -> set[str]: ...
