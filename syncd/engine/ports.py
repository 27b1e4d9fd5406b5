"""The protocols the engine drives; adapters in syncd.source, syncd.state and syncd.thulium implement them.

Streams are named "companies" and "customers". Payloads are the JSON-ready dicts built by
``engine.normalize`` (plus ``identifier`` and, for customers, ``company_id``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from syncd.engine.records import Position, SourceRow
from syncd.engine.resolve import ItemStatus
from syncd.vocabulary import FailureKind

Payload = Mapping[str, Any]


class Clock(Protocol):
    """Time as the engine sees it; injected so tests can run a day of backoff in no time."""

    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class WindowLimit(Protocol):
    """How many calls to the CRM may be out at once right now: the limit ``max_in_flight = "auto"``
    learns from Thulium's answers. The run asks before each send, so its window follows the limit."""

    def current(self) -> int: ...


class Source(Protocol):
    """Read-only access to one tenant's source database, per stream."""

    def read_changed(self, stream: str, after: Position | None) -> Iterator[SourceRow]:
        """Rows from the cursor's own ``updated_at`` on, in ``(updated_at, key)`` order, soft-deleted
        ones included.

        The upper bound is fixed when the call starts (rows committed later wait for the
        next run) and is never later than the source's clock (rows stamped past it come from
        ``read_ahead``); the stream's lookback window is re-read, and rows are streamed in pages.
        ``after=None`` reads the whole stream, which is what a full reconcile does. A value the
        driver cannot convert comes back as ``normalize.Unreadable`` (its row is rejected)
        instead of failing the read of every row behind it.
        """
        ...

    def read_ahead(self, stream: str) -> Iterator[SourceRow]:
        """Rows whose ``updated_at`` is past the clock bound ``read_changed`` stops at (the source
        database's now plus the stream's ``clock_skew_seconds``), each with ``note`` saying so.

        A row stamped in the future must still be synced, but must not become the cursor: every
        ordinary change after it would then sit behind the cursor until the clock caught up.
        """
        ...

    def read_keys(self, stream: str, keys: Iterable[str]) -> list[SourceRow]:
        """The current rows for these keys (missing keys are simply absent)."""
        ...


@dataclass(frozen=True, slots=True)
class Link:
    """What the state DB knows of one source key: its Thulium record and the hash last sent."""

    source_key: str
    thulium_id: int
    payload_hash: str | None
    # Companies only: the id of the company's own customer record in Thulium.
    company_customer_id: int | None = None
    # Customers only: the company key the row named when it was written (sent with it or not).
    company_key: str | None = None


@dataclass(frozen=True, slots=True)
class FailureRecord:
    """A row that is not in Thulium as it should be, and why.

    ``kind`` is "rejected" (invalid, never sent), "permanent" (Thulium said no; retried when
    the source row changes), "retryable" (transient, retried by later runs from
    ``next_attempt_at``), "waiting" (depends on something not synced yet, e.g. its company) or
    "warning" (synced, but not all of it: a customer sent without the company it names). A
    warning is not a failure of its row; it stays open as long as what it says holds.
    """

    source_key: str
    operation: str
    kind: FailureKind
    message: str
    http_status: int | None = None
    request_id: str | None = None
    payload_hash: str | None = None
    next_attempt_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Commit:
    """Everything one batch settles, written in ONE state-DB transaction."""

    links: Sequence[Link] = ()
    unlinked: Sequence[str] = ()  # source keys whose Thulium record is gone (deleted by us)
    failures: Sequence[FailureRecord] = ()
    resolved: Sequence[str] = ()  # source keys whose open failure is now settled
    cursor: Position | None = None  # advance the stream's cursor to here (None: leave it)
    # Keys about to be created: if the process dies before their outcome is committed, the next
    # run finds them pending and looks them up by identifier instead of creating them again.
    pending: Sequence[str] = ()
    # Companies whose Thulium record changed (created, adopted, re-created or deleted): the customers
    # naming them are read again by the next customers run, so they get or lose the link.
    moved: Sequence[str] = ()
    # Keys read again for that reason and planned now: nothing more to check for them.
    rechecked: Sequence[str] = ()


class Store(Protocol):
    """The state DB as the engine sees it, scoped to one tenant."""

    def cursor(self, stream: str) -> Position | None: ...

    def links(self, stream: str, keys: Collection[str]) -> dict[str, Link]: ...

    def all_links(self, stream: str) -> Iterator[Link]: ...

    def pending_keys(self, stream: str, keys: Collection[str]) -> set[str]:
        """Keys whose create was sent but whose outcome was never committed."""
        ...

    def due_retries(self, stream: str, now: datetime) -> list[str]:
        """Source keys to read again before the changed rows: an open retryable/waiting failure whose
        next attempt is due, or a company that moved in Thulium since the row was last written."""
        ...

    def open_failure_hashes(self, stream: str, keys: Collection[str]) -> dict[str, str | None]:
        """Keys with an open permanent failure, and the payload hash that failed.

        Such a row is not sent again until its payload changes.
        """
        ...

    def newest_id(self, stream: str) -> int | None:
        """The largest Thulium id linked in the stream: a record that existed before anything this run
        sends, so a record a create of this run made has a larger id."""
        ...

    def open_failure_keys(self, stream: str) -> set[str]:
        """Every key of the stream with an open failure of any kind.

        A full reconcile resolves those whose row it did not see: a row deleted from the
        source has nothing left to fix, whatever its failure said.
        """
        ...

    def commit(self, stream: str, commit: Commit) -> None: ...


@dataclass(frozen=True, slots=True)
class CrmResult:
    """One item's outcome as the Crm adapter reports it (whole-request failures spread to every item)."""

    status: ItemStatus
    thulium_id: int | None = None
    company_customer_id: int | None = None
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class RemoteRecord:
    """A record as Thulium holds it, in payload shape, so the engine can compare it with what it would send.

    ``fields`` uses the payload's keys: ``email`` and ``phone_number`` as lists, ``address``
    (and the other addresses) as dicts, ``custom_fields`` as a dict, ``company_id`` as an
    int; empty values are omitted.
    """

    thulium_id: int
    identifier: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    company_customer_id: int | None = None
    # The payload keys Thulium's read carried at all (``None``: every one). A field the read leaves out
    # (``pesel``, ``job``, ``note`` … are written but not returned) cannot be compared, so it is not.
    read: frozenset[str] | None = None


class Crm(Protocol):
    """Thulium's CRM as the engine sees it, per stream; the adapter picks batch or single endpoints."""

    def max_batch(self, stream: str) -> int:
        """Items one call may carry (1 for streams without a batch endpoint)."""
        ...

    def create(self, stream: str, payloads: Sequence[Payload]) -> list[CrmResult]: ...

    def update(self, stream: str, changes: Sequence[tuple[int, Payload]]) -> list[CrmResult]: ...

    def delete(self, stream: str, thulium_ids: Sequence[int]) -> list[CrmResult]: ...

    def find(self, stream: str, identifier: str) -> list[RemoteRecord]:
        """Records whose identifier equals this one exactly (used to settle ambiguous creates)."""
        ...

    def settle(
        self, stream: str, identifiers: Sequence[str], floor: int | None
    ) -> dict[str, list[RemoteRecord]]:
        """The records of each identifier, for creates whose outcome is unknown.

        ``floor`` is the newest Thulium id known to exist before those creates were sent: any record they
        made has a larger one, so reading the newest records down to it settles a whole batch in one
        request. ``None`` (not known) makes the adapter look each identifier up.
        """
        ...

    def scan(self, stream: str) -> Iterator[RemoteRecord]:
        """Every record of the stream in Thulium (full reconcile and first-run adoption)."""
        ...
