"""What this run's commits told the state DB: where a phase's cursor may stand, and which keys the
run marked pending or linked itself.

Kept apart from sending so that the rules a crash relies on (the cursor never passes an unsettled
row nor moves back; a create is marked pending before it is sent) sit in one place each.
"""

from __future__ import annotations

from collections.abc import Iterable

from syncd.engine.crm.outcomes import CommitBuilder
from syncd.engine.crm.tracker import CursorTracker
from syncd.engine.records import Position


class PhaseCursor:
    """One phase's pages, and the cursor its commits may carry: only the changed-rows phase moves it,
    and never to a position at or behind where the run started."""

    def __init__(self, advancing: bool, start: Position | None = None) -> None:
        self.advancing, self.start = advancing, start
        self.pages = CursorTracker()

    @classmethod
    def fixed(cls) -> PhaseCursor:
        """Retries, rows stamped ahead and the sweep's deletes: none of them is the read's prefix."""
        return cls(advancing=False)

    @classmethod
    def advancing_from(cls, start: Position | None) -> PhaseCursor:
        """The changed rows read after ``start``: the prefix settled is where the next run reads on."""
        return cls(advancing=True, start=start)

    def settle(self, page_ids: Iterable[int]) -> Position | None:
        """Settle the pages' items; the cursor a commit of them may carry (None: it stays)."""
        for page_id in page_ids:
            self.pages.settle(page_id)
        cursor = self.pages.advance() if self.advancing else None
        if cursor is not None and not is_after(cursor, self.start):
            return None  # a lookback page re-read rows behind the cursor: never move it back
        return cursor


class RunKeys:
    """Keys this run wrote down, kept small (memory flat in N) by forgetting what a commit settled."""

    def __init__(self) -> None:
        self.marked: set[str] = set()  # keys marked pending in the state DB by this run
        self.linked: set[str] = set()  # keys the retry phase linked: newer than Thulium's scan

    def mark(self, keys: Iterable[str]) -> None:
        self.marked.update(keys)

    def unmarked(self, keys: Iterable[str]) -> list[str]:
        return [key for key in keys if key not in self.marked]

    def forget(self, builder: CommitBuilder, *, remember_links: bool) -> None:
        """A settled key needs no pending mark any more, and only links written before the changed rows
        are read (the retry phase's) can be read again by this run, so only those are remembered."""
        linked = [link.source_key for link in builder.links]
        self.marked.difference_update(linked)
        self.marked.difference_update(failure.source_key for failure in builder.failures)
        if remember_links:
            self.linked.update(linked)


def is_after(position: Position, start: Position | None) -> bool:
    """Positions are in the source's native types; incomparable ones (NULL timestamps) count as after."""
    if start is None:
        return True
    try:
        return bool((position.updated_at, position.key) > (start.updated_at, start.key))
    except TypeError:
        return True
