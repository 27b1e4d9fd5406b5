"""Which prefix of the stream is settled, so the cursor never passes an unsettled row.

Batches finish out of order when several are in flight; a page's rows are settled only
when every item of the page has an outcome (written, dead-lettered or parked for retry).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from syncd.engine.records import Position


@dataclass(slots=True)
class _Page:
    page_id: int
    last: Position
    outstanding: int


class CursorTracker:
    def __init__(self) -> None:
        self._pages: deque[_Page] = deque()
        self._by_id: dict[int, _Page] = {}
        self._next_id = 0

    def open_page(self, last: Position, outstanding: int) -> int:
        page = _Page(self._next_id, last, outstanding)
        self._next_id += 1
        self._pages.append(page)
        self._by_id[page.page_id] = page
        return page.page_id

    def settle(self, page_id: int, count: int = 1) -> None:
        page = self._by_id[page_id]
        if count > page.outstanding:
            raise ValueError(f"page {page_id} has only {page.outstanding} unsettled items")
        page.outstanding -= count

    def advance(self) -> Position | None:
        """Drop the settled prefix and return where the cursor may now stand (None: not further)."""
        position = None
        while self._pages and self._pages[0].outstanding == 0:
            page = self._pages.popleft()
            del self._by_id[page.page_id]
            position = page.last
        return position

    @property
    def open_pages(self) -> int:
        return len(self._pages)
