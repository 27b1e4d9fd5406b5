"""The only sequencer: one run of one stream, given Source, Crm and Store.

The main thread resolves results and commits; worker threads only carry Crm calls, and one
more reads and plans the next page meanwhile (``PagesAhead``), so only the main thread writes the
store and commits happen in one order.
A crash anywhere re-reads from the last commit and re-sends nothing already linked with
the same hash.

``StreamRun`` only orders the pieces: ``PagePlanner`` (a page into ops), ``Batcher`` and
``InFlight`` (ops into calls, calls out), ``Answers`` (calls' answers into outcomes),
``WaitingRoom`` and ``CommitCadence`` (when), ``PhaseCursor`` and ``RunKeys`` (what the state DB
was told) and ``FullSweep`` (what the source no longer has).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from syncd.engine.crm.ahead import PagesAhead, PlannedPage
from syncd.engine.crm.answers import Answers, IdFloor
from syncd.engine.crm.dispatch import Batcher, CallSender, InFlight, ends_the_run
from syncd.engine.crm.ledger import PhaseCursor, RunKeys
from syncd.engine.crm.options import RunOptions
from syncd.engine.crm.outcomes import CommitBuilder, Item, Outcomes
from syncd.engine.crm.pacing import Backoff, CommitCadence, WaitingRoom
from syncd.engine.crm.pages import PagePlanner
from syncd.engine.crm.plan import Op, StreamSpec, sent_above
from syncd.engine.crm.remote import RemoteIndex
from syncd.engine.crm.sweep import FullSweep, keep_oldest
from syncd.engine.ports import Clock, Commit, Crm, Source, Store, WindowLimit
from syncd.engine.records import Position, SourceRow


@dataclass(slots=True)
class RunReport:
    stream: str
    counters: dict[str, int]
    preview: dict[str, list[str]] = field(default_factory=dict)


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
        limit: WindowLimit | None = None,
    ) -> None:
        """``limit``: how many calls may be out at once as the run goes (``options.max_in_flight``, the
        threads it has, bounds it); None: always ``options.max_in_flight``."""
        self.spec, self.options, self.clock = spec, options, clock
        self.source, self.store, self.crm = source, store, crm
        self.outcomes = Outcomes(spec.name, options, clock, moves_dependants=spec.kind == "company")
        self.on_progress = on_progress or (lambda _counters: None)
        self.preview: dict[str, list[str]] = {}
        self.seen: set[str] = (
            set()
        )  # keys the full read saw (only the sweep asks; incremental runs keep none)
        self.keys = RunKeys()
        self.floor = IdFloor()
        self.planner = PagePlanner(spec, options, source, store, self.outcomes, None, self.keys.linked)
        self.answers = Answers(spec, self.outcomes, self.floor)
        self.batches = Batcher(self.batch_limit)
        self.window = InFlight(options.max_in_flight, limit)
        self.sender = CallSender(crm, spec)
        self.waiting = WaitingRoom(Backoff(options.item_backoff))
        self.cadence = CommitCadence()
        self.cursor = PhaseCursor.fixed()

    # -- the run ----------------------------------------------------------------------------
    def run(self) -> RunReport:
        self.survey()
        with self.window:
            if not self.options.full:
                self.phase(self.retry_rows(), PhaseCursor.fixed(), lookup_first=True)
            start = self.store.cursor(self.spec.name)
            after = None if self.options.full else start
            self.phase(self.source.read_changed(self.spec.name, after), PhaseCursor.advancing_from(start))
            # Rows stamped past the source's clock are synced every run, never taken as the cursor: one row
            # of 2031 would otherwise hide every ordinary change after it.
            self.phase(self.source.read_ahead(self.spec.name), PhaseCursor.fixed())
            if self.options.full:
                self.sweep()
        return RunReport(self.spec.name, self.outcomes.counters.as_dict(), self.preview)

    @property
    def counters(self) -> dict[str, int]:
        return self.outcomes.counters.as_dict()

    def survey(self) -> None:
        """What this run knows of Thulium before it reads: the newest id it holds, and on a full or
        first run every record, so that planning adopts and repairs instead of creating twins."""
        first_run = next(iter(self.store.all_links(self.spec.name)), None) is None
        self.floor.newest = self.store.newest_id(self.spec.name)
        if self.options.full or first_run:
            remote = RemoteIndex.build(self.crm.scan(self.spec.name))
            self.floor.note([0, *remote.ids()])  # every record there now is at most this new
            keep_oldest(remote, self.spec, self.options, self.store)
            self.planner = replace(self.planner, remote=remote)

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
        cursor: PhaseCursor,
        lookup_first: bool = False,
        initial: Sequence[Op] = (),
    ) -> None:
        """Pages are read only while fewer calls than the window holds are ready, so reading never runs
        far ahead of sending; once the rows are exhausted, partial batches go too."""
        self.cursor = cursor
        if initial:
            page_id = self.cursor.pages.open_page(Position(None, None), len(initial))
            self.batches.add([Item(op, page_id) for op in initial])
        pages = chunked(rows, self.options.page_size)
        with PagesAhead(pages, lambda page: self.planner.prepare(page, lookup_first)) as ahead:
            while True:
                while self.batches.ready >= self.window.width:
                    self.step(exhausted=False)
                page = ahead.take()
                if page is None:
                    break
                self.take_page(page, lookup_first)
                ahead.request()  # read on while this page's calls are out
        while self.step(exhausted=True):
            pass

    def step(self, exhausted: bool) -> bool:
        """One turn of sending and settling; False once the phase has nothing left to do."""
        self.release_waiting()
        if exhausted:
            self.batches.flush()
        self.submit_ready()
        if self.window:
            self.collect()
            return True
        if exhausted and not self.batches.ready and not self.waiting:
            return False
        if self.waiting and not self.batches.ready:
            self.clock.sleep(self.waiting.next_in(self.monotonic()))
        return True

    # -- planning ---------------------------------------------------------------------------
    def take_page(self, page: PlannedPage, lookup_first: bool) -> None:
        """The page's pending marks are committed with its plan, before any of its items can be sent."""
        rows, plan = page
        self.outcomes.counters.read += len(rows)
        if self.options.full:
            self.seen.update(row.key for row in rows)
        ops = self.planner.finish(plan)
        if self.options.dry_run:
            self.outcomes.preview_ops(ops, self.preview)
            return
        page_id = self.cursor.pages.open_page(rows[-1].position, len(ops))
        commit = self.planner.commit(plan, ops, rows, lookup_first)
        self.keys.mark(commit.pending)
        self.commit(commit)
        self.batches.add([Item(op, page_id) for op in ops])

    # -- sending ----------------------------------------------------------------------------
    def batch_limit(self, kind: str) -> int:
        if kind == "lookup":
            return 1  # an identifier at a time, in parallel: nothing bounds where its record may be
        return max(1, min(self.options.batch_size, self.crm.max_batch(self.spec.name)))

    def release_waiting(self) -> None:
        due = self.waiting.due(self.monotonic())
        if due:
            self.batches.add(due)

    def submit_ready(self) -> None:
        """Every call that fits goes out now; a create not marked pending with its page (one that a
        lookup turned into a create) is marked first."""
        calls = self.batches.take(self.window.room)
        creates = [item for kind, items in calls if kind == "create" for item in items]
        for item in creates:
            item.op = sent_above(item.op, self.floor.newest)
        unmarked = self.keys.unmarked(item.op.key for item in creates)
        if unmarked:
            self.store.commit(self.spec.name, Commit(pending=unmarked))
            self.keys.mark(unmarked)
        self.window.submit(calls, self.sender)

    def collect(self) -> None:
        """Settle every call that has finished; the state DB is written at most every ``SAVE_EVERY``.

        Group commits keep this thread — the only one that plans and commits — from being the
        bottleneck when answers come back faster than one transaction each. What a crash loses
        from the last fraction of a second is settled by the next run: creates are pending (looked
        up, not re-created), updates and deletes are sent again.
        """
        timeout = self.waiting.next_in(self.monotonic()) if self.waiting else None
        builder = self.cadence.unsaved
        for call, future in self.window.finished(timeout):
            error = future.exception()
            if error is not None and ends_the_run(call[0], error):
                self.save()  # what the other finished calls settled must not be lost
                raise error
            self.schedule(self.answers.settle(call, None if error is not None else future.result(), builder))
        self.submit_ready()  # keep Thulium busy while this process writes down what came back
        if not self.window or self.cadence.due(self.monotonic()):
            self.save()

    def schedule(self, items: list[Item]) -> None:
        for item in items:
            if item.backoff:
                self.waiting.park(item, self.monotonic())
            else:
                self.batches.add([item])

    # -- committing -------------------------------------------------------------------------
    def save(self) -> None:
        self.commit(self.cadence.take(self.monotonic()))

    def commit(self, builder: CommitBuilder) -> None:
        cursor = self.cursor.settle(builder.settled_pages)
        if builder.empty and cursor is None:
            return
        self.store.commit(self.spec.name, builder.build(cursor))
        self.keys.forget(builder, remember_links=not self.cursor.advancing)
        self.on_progress(self.outcomes.counters.as_dict())

    # -- full reconcile: what the source no longer has --------------------------------------
    def sweep(self) -> None:
        remote = self.planner.remote
        ops = FullSweep(self.spec, self.options, self.source, self.store, remote, self.seen).deletes()
        if not ops:
            return
        if self.options.dry_run:
            self.outcomes.preview_ops(ops, self.preview)
            return
        self.phase((), PhaseCursor.fixed(), initial=ops)

    # -- helpers ----------------------------------------------------------------------------
    def monotonic(self) -> float:
        return self.clock.now().timestamp()


def chunked(rows: Iterable[SourceRow], size: int) -> Iterator[list[SourceRow]]:
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk
