"""What each item decision does to links, failures and counters.

``run.py`` sequences; this module turns one decided item into state-DB changes and tells
the sequencer which items go round again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from syncd.engine.counters import Tally
from syncd.engine.crm.options import RunOptions
from syncd.engine.crm.plan import Op, PagePlan
from syncd.engine.ports import Clock, Commit, CrmResult, FailureRecord, Link, RemoteRecord
from syncd.engine.records import Position
from syncd.engine.resolve import Decision, ItemStatus
from syncd.vocabulary import FailureKind

UNTRACKED = -1  # items no page waits for (purging duplicates)
PREVIEW_ROWS = 5


@dataclass(slots=True)
class Item:
    op: Op
    page_id: int
    attempts: int = 0
    backoff: bool = False
    refusal: CrmResult | None = None  # a refused create, looked up before it is blamed on the row


@dataclass(slots=True)
class Counters(Tally):
    read: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    rejected: int = 0
    failed: int = 0
    retried: int = 0
    adopted: int = 0
    waiting: int = 0
    warnings: int = 0  # synced, with a warning (a customer sent without its company)


@dataclass(slots=True)
class CommitBuilder:
    links: list[Link] = field(default_factory=list)
    unlinked: list[str] = field(default_factory=list)
    failures: list[FailureRecord] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    settled_pages: list[int] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # creates about to be sent (see ``Commit.pending``)
    moved: list[str] = field(default_factory=list)  # companies whose Thulium record changed
    rechecked: list[str] = field(default_factory=list)

    def resolve(self, keys: Iterable[str]) -> CommitBuilder:
        self.resolved.extend(keys)
        return self

    def settle(self, item: Item) -> None:
        if item.page_id != UNTRACKED:
            self.settled_pages.append(item.page_id)

    @property
    def empty(self) -> bool:
        lists = (self.links, self.unlinked, self.failures, self.resolved, self.pending, self.moved)
        return not (any(lists) or self.rechecked)

    def build(self, cursor: Position | None = None) -> Commit:
        return Commit(
            tuple(self.links),
            tuple(self.unlinked),
            tuple(self.failures),
            tuple(self.resolved),
            cursor,
            tuple(self.pending),
            tuple(self.moved),
            tuple(self.rechecked),
        )


class Outcomes:
    def __init__(
        self, stream: str, options: RunOptions, clock: Clock, *, moves_dependants: bool = False
    ) -> None:
        """``moves_dependants``: the stream's records are what other rows point at (companies), so a record
        that changes identity is reported as moved."""
        self.stream, self.options, self.clock = stream, options, clock
        self.moves_dependants = moves_dependants
        self.counters = Counters()

    # -- rows settled by planning alone --------------------------------------------------
    def count_plan(self, plan: PagePlan) -> None:
        self.counters.unchanged += len(plan.unchanged)
        self.counters.rejected += sum(1 for f in plan.failures if f.kind == FailureKind.REJECTED)
        self.count_notes([*plan.failures, *plan.notes])

    def count_notes(self, notes: Iterable[FailureRecord]) -> None:
        for note in notes:
            if note.kind == FailureKind.WAITING:
                self.counters.waiting += 1
            elif note.kind == FailureKind.WARNING:
                self.counters.warnings += 1

    def settle_plan(self, plan: PagePlan) -> CommitBuilder:
        builder = CommitBuilder().resolve(plan.resolved)
        builder.failures.extend(self.dated(f) for f in [*plan.failures, *plan.notes])
        builder.links.extend(plan.relinked)
        return builder

    def dated(self, failure: FailureRecord) -> FailureRecord:
        """A row waiting for its company is read again by the next run."""
        return (
            replace(failure, next_attempt_at=self.clock.now())
            if failure.kind == FailureKind.WAITING
            else failure
        )

    def preview_ops(self, ops: list[Op], preview: dict[str, list[str]]) -> None:
        for op in ops:
            name = "adopt" if op.adopted else op.kind
            preview.setdefault(name, [])
            if len(preview[name]) < PREVIEW_ROWS:
                preview[name].append(op.key)
            self.count_done(op)

    # -- one item's decided outcome --------------------------------------------------------
    def resolve(
        self, item: Item, decision: Decision, result: CrmResult, builder: CommitBuilder
    ) -> list[Item]:
        op = item.op
        if decision is Decision.OK:
            return self.done(item, result, builder)
        if decision is Decision.UNKNOWN and op.kind == "create":
            return self.again(item, result, builder, replace(op, lookup_first=True))
        if decision in (Decision.RETRY, Decision.UNKNOWN):
            return self.again(item, result, builder, op)
        if decision is Decision.GONE and self.options.on_thulium_delete == "recreate":
            return [Item(replace(op, kind="create", thulium_id=None, company_customer_id=None), item.page_id)]
        if decision is Decision.GONE:
            builder.unlinked.append(op.key)
            self.moved(op.key, builder)
            return self.fail(
                item, result, builder, FailureKind.PERMANENT, "deleted in Thulium; on_thulium_delete = ignore"
            )
        if decision is Decision.DEAD and op.kind == "create" and item.refusal is None:
            # Thulium may refuse a create because the record is already there — a racing or late
            # attempt of ours holds its unique NIP. Look it up before blaming the row.
            return [Item(replace(op, lookup_first=True), item.page_id, item.attempts, refusal=result)]
        if decision is Decision.DEAD:
            return self.fail(item, result, builder, FailureKind.PERMANENT)
        return self.fail(item, result, builder, FailureKind.RETRYABLE)

    def looked_up(self, item: Item, found: list[RemoteRecord] | None, builder: CommitBuilder) -> list[Item]:
        """After an ambiguous create: adopt what Thulium has, create only when it has nothing."""
        if found is None:
            return self.again(
                item, CrmResult(ItemStatus(None, message="lookup by identifier failed")), builder, item.op
            )
        if item.op.kind == "delete":
            return self.looked_up_delete(item, found, builder)
        if not found and item.refusal is not None:
            unfound = replace(item, op=replace(item.op, lookup_first=False))
            return self.fail(unfound, item.refusal, builder, FailureKind.PERMANENT)
        if not found:
            return [Item(replace(item.op, lookup_first=False), item.page_id, item.attempts)]
        keep, *duplicates = sorted(found, key=lambda record: record.thulium_id)
        self.counters.adopted += 1
        adopted = replace(
            item.op,
            kind="update",
            thulium_id=keep.thulium_id,
            company_customer_id=keep.company_customer_id,
            lookup_first=False,
            adopted=True,
        )
        purges = [
            Item(Op("delete", item.op.key, thulium_id=d.thulium_id, purge=True), UNTRACKED)
            for d in duplicates
        ]
        return [Item(adopted, item.page_id, item.attempts), *purges]

    def looked_up_delete(self, item: Item, found: list[RemoteRecord], builder: CommitBuilder) -> list[Item]:
        """A deleted row whose create may have landed: delete what Thulium holds under its identifier."""
        if not found:
            builder.unlinked.append(item.op.key)  # nothing landed: drop the pending intent
            builder.resolved.append(item.op.key)
            builder.settle(item)
            return []
        first, *duplicates = sorted(found, key=lambda record: record.thulium_id)
        delete = replace(item.op, thulium_id=first.thulium_id, lookup_first=False)
        purges = [
            Item(Op("delete", item.op.key, thulium_id=d.thulium_id, purge=True), UNTRACKED)
            for d in duplicates
        ]
        return [Item(delete, item.page_id, item.attempts), *purges]

    def done(self, item: Item, result: CrmResult, builder: CommitBuilder) -> list[Item]:
        op = item.op
        if op.purge:
            self.counters.deleted += 1
        elif op.kind == "delete":
            builder.unlinked.append(op.key)
            builder.resolved.append(op.key)
            self.moved(op.key, builder)
            self.count_done(op)
        else:
            thulium_id = result.thulium_id if op.kind == "create" else op.thulium_id
            if thulium_id is None:
                return self.again(item, result, builder, replace(op, lookup_first=True))
            customer_id = result.company_customer_id or op.company_customer_id
            builder.links.append(Link(op.key, thulium_id, op.payload_hash, customer_id, op.company_key))
            self.noted(op, builder)
            if op.kind == "create" or op.adopted:
                self.moved(op.key, builder)
            self.count_done(op)
        builder.settle(item)
        return []

    def noted(self, op: Op, builder: CommitBuilder) -> None:
        """A row written with a note keeps it open (its warning, or its wait); others are settled."""
        if op.note is None:
            builder.resolved.append(op.key)
            return
        builder.failures.append(self.dated(replace(op.note, payload_hash=op.payload_hash)))
        self.count_notes([op.note])

    def moved(self, key: str, builder: CommitBuilder) -> None:
        if self.moves_dependants:
            builder.moved.append(key)

    def count_done(self, op: Op) -> None:
        if op.kind == "create":
            self.counters.created += 1
        elif op.kind == "update" and not op.adopted:
            self.counters.updated += 1
        elif op.kind == "delete":
            self.counters.deleted += 1

    def again(self, item: Item, result: CrmResult, builder: CommitBuilder, op: Op) -> list[Item]:
        attempts = item.attempts + 1
        if attempts >= self.options.item_attempts:
            return self.fail(replace(item, op=op), result, builder, FailureKind.RETRYABLE)
        self.counters.retried += 1
        return [Item(op, item.page_id, attempts, backoff=True)]

    def fail(
        self,
        item: Item,
        result: CrmResult,
        builder: CommitBuilder,
        kind: FailureKind,
        message: str | None = None,
    ) -> list[Item]:
        op, status = item.op, result.status
        text = (
            message or status.message or (f"HTTP {status.http_status}" if status.http_status else "no answer")
        )
        retry_at = self.clock.now() + self.options.park_for if kind == FailureKind.RETRYABLE else None
        operation = op.kind
        if op.kind == "create" and kind == FailureKind.PERMANENT:
            builder.unlinked.append(op.key)  # definitely not created: drop its pending intent
        builder.failures.append(
            FailureRecord(
                op.key,
                operation,
                kind,
                text,
                status.http_status,
                result.request_id,
                op.payload_hash,
                retry_at,
            )
        )
        self.counters.failed += 1
        builder.settle(item)
        return []
