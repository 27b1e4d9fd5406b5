"""The next page read and planned on a thread of its own, while the main thread sends and settles.

Preparing a page of 1,000 rows (reading it and its links, failures and companies, normalising and
hashing it) takes longer than a round trip to Thulium. Done on the main thread, every call out came
back and waited while it ran, so a load was slower than its window allowed (bench/initial_load.py).

Only reading and pure planning move here. A page is prepared after the main thread has committed the
previous page's pending marks (``request``), so a row read again finds the mark of its create in
flight; counting, reconciling with Thulium's records, marking and sending stay on the main thread, so
the state DB is still written by one thread, in one order. One page is prepared ahead, no more: memory
stays flat in N.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import NamedTuple

from syncd.engine.crm.plan import PagePlan
from syncd.engine.records import SourceRow


class PlannedPage(NamedTuple):
    rows: list[SourceRow]
    plan: PagePlan


Prepared = PlannedPage | None | BaseException  # None: the rows are exhausted


class PagesAhead:
    """``take`` the page prepared last, ``request`` the next; a ``with`` block owns the thread."""

    def __init__(
        self, pages: Iterator[list[SourceRow]], prepare: Callable[[list[SourceRow]], PagePlan]
    ) -> None:
        self._pages, self._prepare = pages, prepare
        self._requests: queue.SimpleQueue[bool] = queue.SimpleQueue()  # True: prepare one; False: stop
        self._prepared: queue.SimpleQueue[Prepared] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="syncd-plan", daemon=True)

    def __enter__(self) -> PagesAhead:
        self._thread.start()
        self.request()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._requests.put(False)
        self._thread.join()  # a page being read is finished first: nothing reads after the phase

    def request(self) -> None:
        """Prepare the next page; called once the page taken before it is marked in the state DB."""
        self._requests.put(True)

    def take(self) -> PlannedPage | None:
        """The page asked for last (None: no rows left), waited for; what stopped its reading is raised."""
        prepared = self._prepared.get()
        if isinstance(prepared, BaseException):
            raise prepared
        return prepared

    def _work(self) -> None:
        while self._requests.get():
            try:
                rows = next(self._pages, None)
                self._prepared.put(None if rows is None else PlannedPage(rows, self._prepare(rows)))
            except BaseException as exc:  # noqa: BLE001 -- handed to the main thread, which raises it
                self._prepared.put(exc)
                return
            if rows is None:
                return
