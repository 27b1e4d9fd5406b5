"""The only sequencer: one run of one stream, given Source, Crm and Store.

The main thread reads the source, plans, resolves results and commits; worker threads
only carry Crm calls, so the store needs no locking and commits happen in one order.
A crash anywhere re-reads from the last commit and re-sends nothing already linked with
the same hash.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any

from syncd.engine.crm.options import RunOptions
from syncd.engine.crm.outcomes import CommitBuilder, Item, Outcomes
from syncd.engine.crm.plan import (
    Op,
    PageContext,
    PagePlan,
    StreamSpec,
    clearing_payload,
    company_key_of,
    plan_page,
)
from syncd.engine.crm.remote import RemoteIndex
from syncd.engine.crm.tracker import CursorTracker
from syncd.engine.errors import RunAborted
from syncd.engine.ports import Clock, Commit, Crm, CrmResult, Link, RemoteRecord, Source, Store
from syncd.engine.records import Position, SourceRow
from syncd.engine.resolve import decide

SAVE_EVERY = 0.05  # seconds between group commits of settled results


@dataclass(slots=True)
class RunReport:
    stream: str
    counters: dict[str, int]
    preview: dict[str, list[str]] = field(default_factory=dict)


Call = tuple[str, list[Item]]  # ("create" | "update" | "delete" | "purge" | "lookup" | "settle", items)
LOOKUPS = ("lookup", "settle")


class StreamRun:
    def __init__(
        self,
        spec: StreamSpec,
        options: RunOptions,
        source: Source,
        store: Store,
        crm: Crm,
        clock: Clock,
        on_progress: Callable[[dict[str, int]], None] | None = None,
    ) -> None:
        self.spec, self.options, self.clock = spec, options, clock
        self.source, self.store, self.crm = source, store, crm
        self.outcomes = Outcomes(spec.name, options, clock, moves_dependants=spec.kind == "company")
        self.on_progress = on_progress or (lambda _counters: None)
        self.ready: deque[Call] = deque()
        self.buffers: dict[str, list[Item]] = {}
        self.waiting: list[tuple[float, Item]] = []  # items to re-send after a backoff (monotonic deadline)
        self.inflight: dict[Future[Any], Call] = {}
        self.remote: RemoteIndex | None = None
        self.seen: set[str] = set()
        self.preview: dict[str, list[str]] = {}
        self.start_cursor: Position | None = None
        self.marked: set[str] = set()  # keys marked pending in the state DB by this run
        self.linked: set[str] = set()  # keys the retry phase linked: newer than Thulium's scan
        self.unsaved = CommitBuilder()  # settled by Thulium, not yet written to the state DB
        self.saved_at = 0.0
        self.known_max: int | None = None  # the newest Thulium id known to exist (see Op.floor)

    # -- the run ----------------------------------------------------------------------------
    def run(self) -> RunReport:
        first_run = next(iter(self.store.all_links(self.spec.name)), None) is None
        self.known_max = self.store.newest_id(self.spec.name)
        if self.options.full or first_run:
            self.remote = RemoteIndex.build(self.crm.scan(self.spec.name))
            self.note_ids([0, *self.remote.by_id])  # every record there now is at most this new
            self.keep_oldest()
        with ThreadPoolExecutor(self.options.max_in_flight, thread_name_prefix="syncd-crm") as pool:
            self.pool = pool
            if not self.options.full:
                self.phase(self.retry_rows(), advance_cursor=False, lookup_first=True)
            self.start_cursor = self.store.cursor(self.spec.name)
            after = None if self.options.full else self.start_cursor
            self.phase(self.source.read_changed(self.spec.name, after), advance_cursor=True)
            # Rows stamped past the source's clock are synced every run, never taken as the cursor: one row
            # of 2031 would otherwise hide every ordinary change after it.
            self.phase(self.source.read_ahead(self.spec.name), advance_cursor=False)
            if self.options.full:
                self.sweep()
        return RunReport(self.spec.name, self.outcomes.counters.as_dict(), self.preview)

    @property
    def counters(self) -> dict[str, int]:
        return self.outcomes.counters.as_dict()

    def retry_rows(self) -> Iterator[SourceRow]:
        keys = self.store.due_retries(self.spec.name, self.clock.now())
        rows = self.source.read_keys(self.spec.name, keys)
        vanished = set(keys) - {row.key for row in rows}
        if vanished and not self.options.dry_run:
            builder = CommitBuilder().resolve(vanished)
            builder.rechecked.extend(vanished)
            self.store.commit(self.spec.name, builder.build())
        return iter(rows)

    def phase(
        self,
        rows: Iterable[SourceRow],
        advance_cursor: bool,
        lookup_first: bool = False,
        initial: Sequence[Op] = (),
    ) -> None:
        self.tracker, self.advance_cursor = CursorTracker(), advance_cursor
        if initial:
            page_id = self.tracker.open_page(Position(None, None), len(initial))
            self.enqueue([Item(op, page_id) for op in initial])
        pages = chunked(rows, self.options.page_size)
        exhausted = False
        while True:
            if not exhausted and len(self.ready) < self.options.max_in_flight:
                page = next(pages, None)
                if page is None:
                    exhausted = True
                else:
                    self.take_page(page, lookup_first)
                    continue
            self.release_waiting()
            if exhausted:
                self.flush()
            self.submit_ready()
            if not self.inflight:
                if exhausted and not self.ready and not self.waiting:
                    break
                if self.waiting and not self.ready:
                    self.clock.sleep(max(0.0, min(d for d, _ in self.waiting) - self.monotonic()))
                continue
            self.collect()

    # -- planning ---------------------------------------------------------------------------
    def take_page(self, rows: list[SourceRow], lookup_first: bool) -> None:
        self.outcomes.counters.read += len(rows)
        if self.options.full:  # only the sweep asks what was seen: incremental runs keep no key set
            self.seen.update(row.key for row in rows)
        keys = [row.key for row in rows]
        ctx = PageContext(
            links=self.store.links(self.spec.name, keys),
            failed_hashes=self.store.open_failure_hashes(self.spec.name, keys),
            lookup_first=set(keys) if lookup_first else self.store.pending_keys(self.spec.name, keys),
            full=self.options.full,
            **self.company_context(rows),
        )
        plan = plan_page(rows, self.spec, ctx)
        self.outcomes.count_plan(plan)
        ops = self.reconcile(plan)
        if self.options.dry_run:
            self.outcomes.preview_ops(ops, self.preview)
            return
        page_id = self.tracker.open_page(rows[-1].position, len(ops))
        commit = self.outcomes.settle_plan(plan)
        # The page's creates are marked pending with its plan, so sending them needs no transaction of
        # its own; one that dies unsent costs the next run a lookup, never a duplicate.
        commit.pending = [op.key for op in ops if call_kind(op) == "create"]
        if lookup_first:  # the retry phase: a row read again because its company moved is planned now;
            sent = {op.key for op in ops}  # a written link clears its own flag, so only once it is written
            commit.rechecked = [key for key in keys if key not in sent]
        self.marked.update(commit.pending)
        self.commit(commit)
        self.enqueue([Item(op, page_id) for op in ops])

    def company_context(self, rows: list[SourceRow]) -> dict[str, Any]:
        if self.spec.company_key is None:
            return {}
        wanted = {k for row in rows if not row.deleted and (k := self.company_of(row, self.spec.company_key))}
        links = self.store.links("companies", wanted)
        missing = wanted - set(links)
        found = self.source.read_keys("companies", missing) if missing else []
        in_source = {r.key for r in found if not r.deleted}
        blocked = set(self.store.open_failure_hashes("companies", in_source)) if in_source else set()
        return {
            "company_links": links,
            "companies_in_source": in_source,
            "companies_deleted": {r.key for r in found if r.deleted},
            "companies_blocked": blocked,
        }

    @staticmethod
    def company_of(row: SourceRow, column: str) -> str | None:
        """A company key that cannot be read counts as none here: planning rejects its row with the reason."""
        try:
            return company_key_of(row, column)
        except Exception:  # noqa: BLE001 -- as blind as plan_page's per-row guard, which records why
            return None

    def reconcile(self, plan: PagePlan) -> list[Op]:
        """With Thulium's records at hand, adopt matching records and repair edited or deleted ones."""
        if self.remote is None:
            return plan.ops
        ops = [self.remote.adopt(op, self.spec) if op.kind == "create" else op for op in plan.ops]
        # A record this run wrote itself (its retry phase, then the same row re-read as changed) is not in
        # the scan taken at the start, and must not be "repaired" into a second record.
        repairs = [
            r
            for op in plan.unchanged
            if op.key not in self.linked and (r := self.remote.repair(op, self.spec, self.options))
        ]
        self.outcomes.counters.adopted += sum(1 for op in ops if op.adopted)
        self.outcomes.counters.unchanged -= len(repairs)
        return ops + repairs

    # -- sending ----------------------------------------------------------------------------
    def enqueue(self, items: list[Item]) -> None:
        """Buffer items by call kind; full batches are ready at once, partial ones when flushed."""
        for item in items:
            kind = call_kind(item.op)
            buffer = self.buffers.setdefault(kind, [])
            buffer.append(item)
            if len(buffer) >= self.batch_limit(kind):
                self.ready.append((kind, buffer[:]))
                buffer.clear()

    def flush(self) -> None:
        for kind, buffer in self.buffers.items():
            if buffer:
                self.ready.append((kind, buffer[:]))
                buffer.clear()

    def batch_limit(self, kind: str) -> int:
        if kind == "lookup":
            return 1  # an identifier at a time, in parallel: nothing bounds where its record may be
        return max(1, min(self.options.batch_size, self.crm.max_batch(self.spec.name)))

    def release_waiting(self) -> None:
        now = self.monotonic()
        due = [item for deadline, item in self.waiting if deadline <= now]
        if due:
            self.waiting = [(d, i) for d, i in self.waiting if d > now]
            self.enqueue(due)

    def submit_ready(self) -> None:
        """Every call that fits goes out now; a create not marked pending with its page (one that a
        lookup turned into a create) is marked first."""
        calls: list[Call] = []
        while self.ready and len(self.inflight) + len(calls) < self.options.max_in_flight:
            calls.append(self.ready.popleft())
        for kind, items in calls:
            if kind == "create":
                for item in items:
                    item.op = replace(item.op, floor=self.known_max)
        unmarked = [
            item.op.key
            for kind, items in calls
            if kind == "create"
            for item in items
            if item.op.key not in self.marked
        ]
        if unmarked:
            self.store.commit(self.spec.name, Commit(pending=unmarked))
            self.marked.update(unmarked)
        for call in calls:
            self.inflight[self.pool.submit(self.send, call)] = call

    def send(self, call: Call) -> list[CrmResult] | list[RemoteRecord] | dict[str, list[RemoteRecord]]:
        kind, items = call
        stream, ops = self.spec.name, [item.op for item in items]
        if kind == "create":
            return self.crm.create(stream, [op.payload or {} for op in ops])
        if kind == "update":
            changes = [(op.thulium_id or 0, clearing_payload(op.payload or {}, self.spec)) for op in ops]
            return self.crm.update(stream, changes)
        if kind in ("delete", "purge"):
            return self.crm.delete(stream, [op.thulium_id or 0 for op in ops])
        if kind == "settle":
            floors = [op.floor for op in ops if op.floor is not None]
            identifiers = [self.spec.identifier(op.key) for op in ops]
            return self.crm.settle(stream, identifiers, min(floors) if floors else None)
        return self.crm.find(stream, self.spec.identifier(ops[0].key))

    def collect(self) -> None:
        """Settle every call that has finished; the state DB is written at most every ``SAVE_EVERY``.

        Group commits keep this thread — the only one that plans and commits — from being the
        bottleneck when answers come back faster than one transaction each. What a crash loses
        from the last fraction of a second is settled by the next run: creates are pending (looked
        up, not re-created), updates and deletes are sent again.
        """
        done, _ = wait(list(self.inflight), timeout=self.next_deadline(), return_when=FIRST_COMPLETED)
        builder = self.unsaved
        for future in done:
            kind, items = self.inflight.pop(future)
            error = future.exception()
            if error is not None and (
                kind not in LOOKUPS or not isinstance(error, Exception) or isinstance(error, RunAborted)
            ):
                self.save()  # what the other finished calls settled must not be lost
                raise error
            if kind in LOOKUPS:
                again = self.looked_up(kind, items, None if error is not None else future.result(), builder)
            else:
                again = self.resolve(kind, items, future.result(), builder)
            self.schedule(again)
        self.submit_ready()  # keep Thulium busy while this process writes down what came back
        if not self.inflight or self.monotonic() - self.saved_at >= SAVE_EVERY or len(builder.links) >= 1000:
            self.save()

    def looked_up(self, kind: str, items: list[Item], answer: Any, builder: CommitBuilder) -> list[Item]:
        """A failed lookup (``answer`` None) sends its items round again, a bounded number of times."""
        if kind == "lookup":
            return self.outcomes.looked_up(items[0], answer, builder)
        again: list[Item] = []
        for item in items:
            found = None if answer is None else answer.get(self.spec.identifier(item.op.key), [])
            if found:
                self.note_ids({record.thulium_id for record in found})
            again.extend(self.outcomes.looked_up(item, found, builder))
        return again

    def note_ids(self, ids: Iterable[int]) -> None:
        newest = max(ids, default=None)
        if newest is not None and (self.known_max is None or newest > self.known_max):
            self.known_max = newest

    def save(self) -> None:
        builder, self.unsaved, self.saved_at = self.unsaved, CommitBuilder(), self.monotonic()
        self.commit(builder)

    def resolve(
        self, kind: str, items: list[Item], results: list[CrmResult], builder: CommitBuilder
    ) -> list[Item]:
        if len(results) != len(items):
            raise RunAborted(f"Crm adapter returned {len(results)} results for {len(items)} items")
        again: list[Item] = []
        for item, result in zip(items, results, strict=True):
            operation = "delete" if kind == "purge" else item.op.kind
            again.extend(self.outcomes.resolve(item, decide(operation, result.status), result, builder))
        if kind == "create":
            self.note_ids(result.thulium_id for result in results if result.thulium_id is not None)
        return again

    def schedule(self, items: list[Item]) -> None:
        for item in items:
            if item.backoff:
                delay = self.options.item_backoff * (2 ** max(0, item.attempts - 1))
                self.waiting.append((self.monotonic() + min(delay, 10.0), item))
            else:
                self.enqueue([item])

    def commit(self, builder: CommitBuilder) -> None:
        for page_id in builder.settled_pages:
            self.tracker.settle(page_id)
        cursor = self.tracker.advance() if self.advance_cursor else None
        if cursor is not None and not is_after(cursor, self.start_cursor):
            cursor = None  # a lookback page re-read rows behind the cursor: never move it back
        if builder.empty and cursor is None:
            return
        self.store.commit(self.spec.name, builder.build(cursor))
        self.forget_settled(builder)
        self.on_progress(self.outcomes.counters.as_dict())

    def forget_settled(self, builder: CommitBuilder) -> None:
        """Keep the per-run key sets small (memory flat in N): a settled key needs no pending mark any
        more, and only the retry phase's links can be read again by this run (as changed rows)."""
        linked = [link.source_key for link in builder.links]
        self.marked.difference_update(linked)
        self.marked.difference_update(failure.source_key for failure in builder.failures)
        if not self.advance_cursor:
            self.linked.update(linked)

    # -- full reconcile: what the source no longer has --------------------------------------
    def sweep(self) -> None:
        unseen = [link for link in self.store.all_links(self.spec.name) if link.source_key not in self.seen]
        failed = self.store.open_failure_keys(self.spec.name) - self.seen
        self.recheck_unseen({link.source_key for link in unseen} | failed)
        gone = [link for link in unseen if link.source_key not in self.seen]
        vanished = failed - self.seen
        strays = self.remote.strays(self.seen, self.spec, self.store) if self.remote else []
        stray_ids = {record.thulium_id for _, record in strays}
        orphans = self.remote.orphans(self.seen, self.spec) if self.remote else []
        orphans = [record for record in orphans if record.thulium_id not in stray_ids]
        twins = self.twins()
        doomed = len(gone) + len(strays) + len(orphans) + len(twins)
        deleting = self.spec.on_source_delete != "ignore" and doomed > 0
        total = max(1, len(self.seen) + len(gone))
        if deleting and doomed > self.options.max_delete_fraction * total and not self.options.force:
            raise RunAborted(
                f"{self.spec.name}: full reconcile would delete {doomed} of {total} "
                "records "
                f"(more than max_delete_fraction = {self.options.max_delete_fraction}); "
                "check the source, then re-run with --force"
            )
        self.resolve_vanished(vanished)
        if not deleting:
            return
        ops = [Op("delete", link.source_key, thulium_id=link.thulium_id) for link in gone]
        ops += [Op("delete", key, thulium_id=record.thulium_id) for key, record in strays]
        ops += [
            Op("delete", record.identifier, thulium_id=record.thulium_id, purge=True) for record in orphans
        ]
        ops += twins
        if self.options.dry_run:
            self.outcomes.preview_ops(ops, self.preview)
            return
        self.phase((), advance_cursor=False, initial=ops)

    def recheck_unseen(self, keys: set[str]) -> None:
        """Keys the full read did not see (linked, failed, or named by Thulium's records), looked up once
        more before anything is deleted or resolved.

        The read's upper bound is fixed when it starts, so a row changed while it reads (a page it had
        not reached yet) moves past that bound and is not seen. It is not gone: deleting its record
        would cost the customer's history in Thulium and a new record on the next run.
        """
        if self.remote is not None:
            keys = keys | (self.remote.our_keys(self.spec) - self.seen)
        if keys:
            self.seen.update(row.key for row in self.source.read_keys(self.spec.name, sorted(keys)))

    def resolve_vanished(self, keys: set[str]) -> None:
        """Open failures of rows the full read did not see: a rejected or refused row deleted from the
        source has nothing left to fix. Only after the delete guard passed, so a source that read as
        empty by mistake does not wipe the failure list with it."""
        if keys and not self.options.dry_run:
            self.store.commit(self.spec.name, CommitBuilder().resolve(sorted(keys)).build())

    def keep_oldest(self) -> None:
        """Where several records carry a linked row's identifier, the oldest is kept: it may be one an
        agent typed in before syncd created its own (an incremental run does not read Thulium), and it
        holds what agents did with that customer. The link moves to it with no hash, so this run's read
        sends it the row's fields; the sweep purges the others."""
        shared = self.remote.shared(self.spec) if self.remote else {}
        if not shared or self.options.dry_run:
            return
        moved = []
        for key, link in self.store.links(self.spec.name, list(shared)).items():
            oldest = min(shared[key], key=lambda record: record.thulium_id)
            if oldest.thulium_id != link.thulium_id:
                moved.append(Link(key, oldest.thulium_id, None, oldest.company_customer_id))
        if moved:
            keys = [link.source_key for link in moved] if self.spec.kind == "company" else []
            self.store.commit(self.spec.name, Commit(links=moved, moved=keys))

    def twins(self) -> list[Op]:
        """Second records under a linked row's identifier: a create of ours that landed after its
        lookup (a late answer, a fenced holder still sending), or ours next to an agent's. The linked
        record (the oldest, see ``keep_oldest``) stays."""
        shared = self.remote.shared(self.spec) if self.remote else {}
        links = self.store.links(self.spec.name, [key for key in shared if key in self.seen])
        return [
            Op("delete", key, thulium_id=record.thulium_id, purge=True)
            for key, link in links.items()
            for record in shared[key]
            if record.thulium_id != link.thulium_id
        ]

    # -- helpers ----------------------------------------------------------------------------
    def monotonic(self) -> float:
        return self.clock.now().timestamp()

    def next_deadline(self) -> float | None:
        if not self.waiting:
            return None
        return max(0.0, min(d for d, _ in self.waiting) - self.monotonic())


def call_kind(op: Op) -> str:
    """A create sent by this run and left unknown is settled with others of its kind (``settle``); one
    whose floor is not known (sent by a run that died) is looked up on its own."""
    if op.purge:
        return "purge"
    if op.lookup_first:
        return "settle" if op.floor is not None and op.kind == "create" else "lookup"
    return op.kind


def is_after(position: Position, start: Position | None) -> bool:
    """Positions are in the source's native types; incomparable ones (NULL timestamps) count as after."""
    if start is None:
        return True
    try:
        return bool((position.updated_at, position.key) > (start.updated_at, start.key))
    except TypeError:
        return True


def chunked(rows: Iterable[SourceRow], size: int) -> Iterator[list[SourceRow]]:
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk
