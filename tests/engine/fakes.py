"""Small in-memory implementations of the engine's protocols, with scripted faults."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, ParamSpec, TypeVar

from syncd.engine.ports import Commit, CrmResult, FailureRecord, Link, Payload, RemoteRecord
from syncd.engine.records import Position, SourceRow
from syncd.engine.resolve import ItemStatus
from syncd.vocabulary import BLOCKED_KINDS, PENDING_KINDS

P = ParamSpec("P")
R = TypeVar("R")


def locked(method: Callable[P, R]) -> Callable[P, R]:
    """One thread at a time in the fake, as a database gives each connection a consistent view: the run
    reads its next page on a thread of its own while the main thread commits (``engine/crm/ahead.py``)."""

    @functools.wraps(method)
    def inside(*args: P.args, **kwargs: P.kwargs) -> R:
        fake = args[0]
        assert hasattr(fake, "lock"), "only fakes with a lock are locked"
        with fake.lock:
            return method(*args, **kwargs)

    return inside


class Crash(BaseException):
    """The process dying: not an error any code path may handle."""


class FakeClock:
    def __init__(self) -> None:
        self.current = datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def sleep(self, seconds: float) -> None:
        self.current += timedelta(seconds=max(seconds, 0.001))


@dataclass
class FakeSource:
    """Rows stamped with a tick as ``updated_at``; ``lookback`` ticks behind the cursor are read again,
    like ``lookback_seconds`` of the SQL source."""

    tables: dict[str, dict[str, SourceRow]] = field(default_factory=dict)
    tick: int = 0
    lookback: int = 0
    # Keys whose updated_at is ahead of the source's clock: read_changed leaves them to read_ahead.
    ahead: dict[str, set[str]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    @locked
    def put(
        self, stream: str, key: str, deleted: bool = False, *, stamped: int | None = None, **values: Any
    ) -> None:
        """``stamped``: an ``updated_at`` from the past, as a transaction that commits late writes it."""
        if stamped is None:
            self.tick += 1
            stamped = self.tick
        self.tables.setdefault(stream, {})[key] = SourceRow(key, Position(stamped, key), deleted, values)

    @locked
    def drop(self, stream: str, key: str) -> None:
        del self.tables[stream][key]
        self.ahead.get(stream, set()).discard(key)

    @locked
    def mark_ahead(self, stream: str, key: str, ahead: bool = True) -> None:
        """The row's ``updated_at`` is ahead of the source's clock (or, ``ahead=False``, no longer)."""
        marked = self.ahead.setdefault(stream, set())
        if ahead:
            marked.add(key)
        else:
            marked.discard(key)

    @locked
    def read_ahead(self, stream: str) -> Iterator[SourceRow]:
        table = self.tables.get(stream, {})
        rows = sorted(
            (table[k] for k in self.ahead.get(stream, set()) if k in table),
            key=lambda r: (r.position.updated_at, r.key),
        )
        return (replace(r, note=f"updated_at {r.position.updated_at} is ahead of the clock") for r in rows)

    def read_changed(self, stream: str, after: Position | None) -> Iterator[SourceRow]:
        """Keyset reads of the current table up to the tick of the call, like SqlSource: a row changed
        while the reader works moves past that bound and is left for the next run."""
        return self.keyset(stream, after, upper=self.tick)

    def keyset(self, stream: str, after: Position | None, upper: int) -> Iterator[SourceRow]:
        last: tuple[Any, str] | None = None
        while True:
            with self.lock:
                rows = [
                    row
                    for row in self.tables.get(stream, {}).values()
                    if row.position.updated_at <= upper
                    and row.key not in self.ahead.get(stream, set())
                    and (after is None or self.in_window(row.position, after))
                    and (last is None or (row.position.updated_at, row.key) > last)
                ]
            if not rows:
                return
            row = min(rows, key=lambda r: (r.position.updated_at, r.key))
            last = (row.position.updated_at, row.key)
            yield row

    def in_window(self, position: Position, after: Position) -> bool:
        """From the cursor's own tick on, like SqlSource (tests/contracts hold them to it)."""
        if self.lookback > 0:
            return bool(position.updated_at > after.updated_at - self.lookback)
        return bool(position.updated_at >= after.updated_at)

    @locked
    def read_keys(self, stream: str, keys: Iterable[str]) -> list[SourceRow]:
        table = self.tables.get(stream, {})
        return [table[k] for k in keys if k in table]


@dataclass
class FakeStore:
    links_by_stream: dict[str, dict[str, Link]] = field(default_factory=dict)
    failures: dict[tuple[str, str], FailureRecord] = field(default_factory=dict)
    cursors: dict[str, Position] = field(default_factory=dict)
    pending: dict[str, set[str]] = field(default_factory=dict)
    recheck: set[str] = field(default_factory=set)  # customer keys whose company moved
    commits: int = 0
    fail_on_commit: int | None = None
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    @locked
    def cursor(self, stream: str) -> Position | None:
        return self.cursors.get(stream)

    @locked
    def links(self, stream: str, keys: Collection[str]) -> dict[str, Link]:
        table = self.links_by_stream.get(stream, {})
        return {k: table[k] for k in keys if k in table}

    @locked
    def all_links(self, stream: str) -> Iterator[Link]:
        return iter(list(self.links_by_stream.get(stream, {}).values()))

    @locked
    def pending_keys(self, stream: str, keys: Collection[str]) -> set[str]:
        return self.pending.get(stream, set()) & set(keys)

    @locked
    def due_retries(self, stream: str, now: datetime) -> list[str]:
        due = [
            key
            for (s, key), f in self.failures.items()
            if s == stream and f.kind in PENDING_KINDS and (f.next_attempt_at or now) <= now
        ]
        moved = sorted(self.recheck - set(due)) if stream == "customers" else []
        return due + moved

    @locked
    def open_failure_hashes(self, stream: str, keys: Collection[str]) -> dict[str, str | None]:
        return {
            key: f.payload_hash
            for (s, key), f in self.failures.items()
            if s == stream and key in keys and f.kind in BLOCKED_KINDS
        }

    @locked
    def newest_id(self, stream: str) -> int | None:
        return max((link.thulium_id for link in self.links_by_stream.get(stream, {}).values()), default=None)

    @locked
    def open_failure_keys(self, stream: str) -> set[str]:
        return {key for (s, key) in self.failures if s == stream}

    @locked
    def commit(self, stream: str, commit: Commit) -> None:
        self.commits += 1
        if self.fail_on_commit is not None and self.commits >= self.fail_on_commit:
            raise ConnectionError("state DB went away")
        self._commit_links(stream, commit)
        self._commit_rechecks(stream, commit)
        for key in commit.resolved:
            self.failures.pop((stream, key), None)
        for failure in commit.failures:
            self.failures[(stream, failure.source_key)] = failure
        if commit.cursor is not None:
            self.cursors[stream] = commit.cursor

    def _commit_links(self, stream: str, commit: Commit) -> None:
        table = self.links_by_stream.setdefault(stream, {})
        pending = self.pending.setdefault(stream, set())
        for key in commit.unlinked:
            table.pop(key, None)
            pending.discard(key)
        for key in commit.pending:
            table.pop(key, None)
            pending.add(key)
        for link in commit.links:
            table[link.source_key] = link
            pending.discard(link.source_key)

    def _commit_rechecks(self, stream: str, commit: Commit) -> None:
        """A linked or rechecked customer is settled; a moved company's customers must be looked at again."""
        if stream == "customers":
            self.recheck.difference_update(link.source_key for link in commit.links)
            self.recheck.difference_update(commit.rechecked)
        if stream == "companies" and commit.moved:
            customers = self.links_by_stream.get("customers", {})
            self.recheck.update(k for k, link in customers.items() if link.company_key in commit.moved)

    @locked
    def failure_kinds(self, stream: str) -> dict[str, str]:
        return {key: f.kind for (s, key), f in self.failures.items() if s == stream}


Fault = Callable[[str, int], ItemStatus | None]  # (operation, item index in call) -> injected status


@dataclass
class FakeCrm:
    """Thulium as a dict: id -> (stream, payload). ``fault`` may replace an item's outcome.

    A fault status of ``ItemStatus(None)`` models a lost response *after* the item was applied.
    """

    records: dict[int, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    next_id: int = 100
    batch: int = 1000
    fault: Fault | None = None
    calls: list[tuple[str, str, int]] = field(default_factory=list)
    crash_after: int | None = None

    def max_batch(self, stream: str) -> int:
        return self.batch

    def _call(self, stream: str, operation: str, count: int) -> None:
        if self.crash_after is not None and len(self.calls) >= self.crash_after:
            raise Crash("simulated crash")
        self.calls.append((stream, operation, count))

    def _injected(self, operation: str, index: int) -> ItemStatus | None:
        return self.fault(operation, index) if self.fault else None

    def create(self, stream: str, payloads: Sequence[Payload]) -> list[CrmResult]:
        self._call(stream, "create", len(payloads))
        results = []
        for index, payload in enumerate(payloads):
            injected = self._injected("create", index)
            if injected is not None and injected.http_status is not None:
                results.append(CrmResult(injected))
                continue
            self.next_id += 1
            self.records[self.next_id] = (stream, dict(payload))
            results.append(CrmResult(injected or ItemStatus(201), thulium_id=self.next_id))
        return results

    def update(self, stream: str, changes: Sequence[tuple[int, Payload]]) -> list[CrmResult]:
        self._call(stream, "update", len(changes))
        results = []
        for index, (thulium_id, payload) in enumerate(changes):
            injected = self._injected("update", index)
            if injected is not None and injected.http_status is not None:
                results.append(CrmResult(injected))
            elif thulium_id not in self.records:
                results.append(CrmResult(ItemStatus(404, message="Customer not found.")))
            else:
                self.records[thulium_id] = (stream, merge(self.records[thulium_id][1], payload))
                results.append(CrmResult(injected or ItemStatus(204)))
        return results

    def delete(self, stream: str, thulium_ids: Sequence[int]) -> list[CrmResult]:
        self._call(stream, "delete", len(thulium_ids))
        results = []
        for index, thulium_id in enumerate(thulium_ids):
            injected = self._injected("delete", index)
            if injected is not None and injected.http_status is not None:
                results.append(CrmResult(injected))
                continue
            existed = self.records.pop(thulium_id, None) is not None
            results.append(CrmResult(injected or ItemStatus(204 if existed else 404)))
        return results

    def find(self, stream: str, identifier: str) -> list[RemoteRecord]:
        self._call(stream, "find", 1)
        return [r for r in self.scan(stream) if r.identifier == identifier]

    def settle(
        self, stream: str, identifiers: Sequence[str], floor: int | None
    ) -> dict[str, list[RemoteRecord]]:
        """Like Thulium read newest first down to ``floor``: one call, whatever the batch."""
        self._call(stream, "settle", len(identifiers))
        wanted = set(identifiers)
        found: dict[str, list[RemoteRecord]] = {identifier: [] for identifier in identifiers}
        for record in self.scan(stream):
            if record.identifier in wanted and (floor is None or record.thulium_id > floor):
                found[record.identifier].append(record)
        return found

    def scan(self, stream: str) -> Iterator[RemoteRecord]:
        for thulium_id, (s, payload) in list(self.records.items()):
            if s == stream:
                fields = {k: v for k, v in payload.items() if v not in ("", None)}
                yield RemoteRecord(thulium_id, str(payload.get("identifier", "")), fields)

    # -- what tests look at -----------------------------------------------------------------
    def identifiers(self, stream: str) -> list[str]:
        return sorted(str(p.get("identifier")) for s, p in self.records.values() if s == stream)

    def by_identifier(self, stream: str) -> dict[str, dict[str, Any]]:
        return {str(p["identifier"]): p for s, p in self.records.values() if s == stream}

    def writes(self) -> int:
        return sum(1 for _, operation, _ in self.calls if operation not in ("find", "settle"))


def merge(old: Mapping[str, Any], new: Payload) -> dict[str, Any]:
    merged = dict(old)
    for key, value in new.items():
        if isinstance(value, Mapping):
            merged[key] = {**merged.get(key, {}), **value}
        else:
            merged[key] = value
    return merged


def failing(times: dict[str, int], status: ItemStatus) -> Fault:
    """Fail the first ``times[operation]`` items of that operation with ``status``."""
    left = dict(times)

    def fault(operation: str, _index: int) -> ItemStatus | None:
        if left.get(operation, 0) > 0:
            left[operation] -= 1
            return status
        return None

    return fault


__all__ = ["Crash", "FakeClock", "FakeCrm", "FakeSource", "FakeStore", "failing", "replace"]
