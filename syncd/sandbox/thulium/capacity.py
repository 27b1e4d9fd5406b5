"""A server that can only do so much at once: at most ``limit`` API requests are served together, the next
``queue_limit`` wait their turn, and any beyond that are refused with a 429 and ``Retry-After``.

Without it the sandbox serves any number of requests in parallel, so a client sending more at once is never
slower for it and a concurrency limit that tunes itself has nothing to find. With it, sending more than
``limit`` at once only lengthens the queue (latency climbs, throughput does not), and more than
``limit + queue_limit`` costs 429s — the two signals a real server gives. Off unless configured.

The settings (``CapacityLimit``) are plain data, travelling in the fault configuration; the gate
(``Capacity``) is asyncio only, so the sandbox's event loop queues requests without a thread each.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CapacityLimit:
    """``queue_limit`` None: as many may wait as are served (``limit``)."""

    limit: int
    queue_limit: int | None = None
    retry_after: int = 1  # seconds, in the 429 of a request past the queue

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError("capacity limit must be at least 1")
        if self.queue_limit is not None and self.queue_limit < 0:
            raise ValueError("capacity queue_limit must not be negative")
        if self.retry_after < 0:
            raise ValueError("capacity retry_after must not be negative")

    @property
    def queue(self) -> int:
        return self.limit if self.queue_limit is None else self.queue_limit

    def to_json(self) -> dict[str, Any]:
        return {"limit": self.limit, "queue_limit": self.queue_limit, "retry_after": self.retry_after}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> CapacityLimit:
        unknown = set(raw) - {"limit", "queue_limit", "retry_after"}
        if unknown:
            raise ValueError(f"unknown capacity keys: {sorted(unknown)}")
        queue = raw.get("queue_limit")
        return cls(
            limit=int(raw["limit"]),
            queue_limit=None if queue is None else int(queue),
            retry_after=int(raw.get("retry_after", 1)),
        )


class Full(Exception):
    """The queue is full: the request is refused (the middleware answers 429 with ``retry_after``)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"over capacity; retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass
class CapacityStats:
    served: int = 0  # requests that got a slot
    queued: int = 0  # of those, how many waited for it
    rejected: int = 0  # refused with a 429: the queue was full
    peak_serving: int = 0
    peak_waiting: int = 0


class Capacity:
    """The slots of one sandbox; ``None`` limits nothing. Slots pass to waiters in arrival order."""

    def __init__(self, limit: CapacityLimit | None = None) -> None:
        self.limit = limit
        self.serving = 0
        self._waiting: deque[asyncio.Future[None]] = deque()
        self.stats = CapacityStats()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Holds one slot for the body of the ``with``; raises ``Full`` when the request may not even wait."""
        limit = self.limit
        if limit is None:
            yield
            return
        await self._take(limit)
        try:
            yield
        finally:
            self._release()

    def as_json(self) -> dict[str, Any]:
        s = self.stats
        return {
            "limit": None if self.limit is None else self.limit.to_json(),
            "serving": self.serving,
            "waiting": len(self._waiting),
            "served": s.served,
            "queued": s.queued,
            "rejected": s.rejected,
            "peak_serving": s.peak_serving,
            "peak_waiting": s.peak_waiting,
        }

    async def _take(self, limit: CapacityLimit) -> None:
        if self.serving < limit.limit and not self._waiting:
            self.serving += 1
        elif len(self._waiting) >= limit.queue:
            self.stats.rejected += 1
            raise Full(limit.retry_after)
        else:
            turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiting.append(turn)
            self.stats.queued += 1
            self.stats.peak_waiting = max(self.stats.peak_waiting, len(self._waiting))
            try:
                await turn  # a finishing request hands its slot over: ``serving`` stays as it is
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled():
                    self._release()  # the slot came just as the client gave up: pass it on
                elif turn in self._waiting:  # a release may have skipped it already
                    self._waiting.remove(turn)
                raise
        self.stats.served += 1
        self.stats.peak_serving = max(self.stats.peak_serving, self.serving)

    def _release(self) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self.serving -= 1
