"""Items into Crm calls, and the window of calls out at once.

Separate from the sequencer so that what is buffered, what is ready and what is in flight are
each one small thing the main thread asks, and the one piece worker threads run (``CallSender``)
reads nothing the main thread writes.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from syncd.engine.crm.outcomes import Item
from syncd.engine.crm.plan import Op, StreamSpec, clearing_payload
from syncd.engine.errors import RunAborted
from syncd.engine.ports import Crm, CrmResult, RemoteRecord, WindowLimit

Call = tuple[str, list[Item]]  # ("create" | "update" | "delete" | "purge" | "lookup" | "settle", items)
LOOKUPS = ("lookup", "settle")
Answer = list[CrmResult] | list[RemoteRecord] | dict[str, list[RemoteRecord]]


def call_kind(op: Op) -> str:
    """A create sent by this run and left unknown is settled with others of its kind (``settle``); one
    whose floor is not known (sent by a run that died) is looked up on its own."""
    if op.purge:
        return "purge"
    if op.lookup_first:
        return "settle" if op.floor is not None and op.kind == "create" else "lookup"
    return op.kind


def ends_the_run(kind: str, error: BaseException) -> bool:
    """A lookup that failed is only asked again later; any other failed call (and an abort or a
    non-``Exception`` anywhere) leaves its items' fate unknown to this run, so the run stops."""
    return kind not in LOOKUPS or not isinstance(error, Exception) or isinstance(error, RunAborted)


class Batcher:
    """Buffers items by call kind: a full batch is ready at once, a partial one only when flushed, so
    pages read while calls are out fill batches instead of sending small ones."""

    def __init__(self, limit: Callable[[str], int]) -> None:
        self._limit = limit
        self._buffers: dict[str, list[Item]] = {}
        self._ready: deque[Call] = deque()

    @property
    def ready(self) -> int:
        return len(self._ready)

    def add(self, items: list[Item]) -> None:
        for item in items:
            kind = call_kind(item.op)
            buffer = self._buffers.setdefault(kind, [])
            buffer.append(item)
            if len(buffer) >= self._limit(kind):
                self._ready.append((kind, buffer[:]))
                buffer.clear()

    def flush(self) -> None:
        for kind, buffer in self._buffers.items():
            if buffer:
                self._ready.append((kind, buffer[:]))
                buffer.clear()

    def take(self, room: int) -> list[Call]:
        """The oldest ready calls, at most ``room`` of them: batches go out in the order they filled."""
        calls: list[Call] = []
        while self._ready and len(calls) < room:
            calls.append(self._ready.popleft())
        return calls


@dataclass(frozen=True, slots=True)
class CallSender:
    """One call to the Crm port, run on a worker thread: it reads only its own call and the stream."""

    crm: Crm
    spec: StreamSpec

    def __call__(self, call: Call) -> Answer:
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


class FixedLimit:
    """A window that does not move: ``max_in_flight`` set to a number."""

    def __init__(self, size: int) -> None:
        self.size = size

    def current(self) -> int:
        return self.size


class InFlight:
    """At most ``limit.current()`` calls out at once (never more than ``size``, the threads it has),
    over threads of its own for the span of a ``with``: the bound is what keeps Thulium busy without
    queueing on its side.

    As many calls again are held here, and the thread whose call ends starts the next: while the one
    thread that settles answers writes them to the state DB, Thulium is not left idle until it looks
    again. A held call has not started: it is started only into a free place of the window (so a learnt
    limit's request gate does not hold it, started, where a stopping run could not take it back), and
    a run that ends on an error drops what is held. A call is held only once its create is marked
    pending, so a held call is as safe to lose or to send as one out.
    """

    def __init__(self, size: int, limit: WindowLimit | None = None) -> None:
        self.size = size
        self.limit: WindowLimit = limit or FixedLimit(size)
        self._calls: dict[Future[Any], Call] = {}
        self._running: set[Future[Any]] = set()  # started and not ended: the window's places taken
        self._held: deque[Call] = deque()
        self._send: Callable[[Call], Answer] | None = None
        self._lock = threading.RLock()  # a call that ended before its callback was added runs it here
        self._pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> InFlight:
        self._pool = ThreadPoolExecutor(self.size, thread_name_prefix="syncd-crm")
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        with self._lock:
            self._held.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=error is not None)

    def __bool__(self) -> bool:
        with self._lock:
            return bool(self._calls or self._held)

    @property
    def width(self) -> int:
        """How many calls may be out now."""
        return max(1, min(self.size, self.limit.current()))

    @property
    def room(self) -> int:
        with self._lock:
            return max(0, 2 * self.width - len(self._calls) - len(self._held))

    def submit(self, calls: list[Call], send: Callable[[Call], Answer]) -> None:
        assert self._pool is not None, "calls are sent only inside the window's with-block"
        with self._lock:
            self._send = send
            self._held.extend(calls)
            self._start_held()

    def _start_held(self) -> None:
        """Called with the lock held: start held calls into the window's free places."""
        assert self._pool is not None
        assert self._send is not None
        width = self.width
        while self._held and len(self._running) < width:
            call = self._held.popleft()
            future = self._pool.submit(self._send, call)
            self._calls[future] = call
            self._running.add(future)
            future.add_done_callback(self._ended)

    def _ended(self, future: Future[Any]) -> None:
        """A call's thread, as its call ends: its place goes to the next held call at once."""
        with self._lock:
            self._running.discard(future)
            if self._held:
                self._start_held()

    def finished(self, timeout: float | None) -> list[tuple[Call, Future[Any]]]:
        """The calls done within ``timeout`` (None: until one is), taken out of the window."""
        with self._lock:
            futures = list(self._calls)
        done, _ = wait(futures, timeout=timeout, return_when=FIRST_COMPLETED)
        with self._lock:
            return [(self._calls.pop(future), future) for future in done]
