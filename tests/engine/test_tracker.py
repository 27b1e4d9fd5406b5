"""The cursor moves only over a wholly settled prefix of pages."""

from __future__ import annotations

import pytest

from syncd.engine.crm.tracker import CursorTracker
from syncd.engine.records import Position


def test_cursor_waits_for_the_oldest_unsettled_page() -> None:
    tracker = CursorTracker()
    first = tracker.open_page(Position(1, "a"), outstanding=2)
    second = tracker.open_page(Position(2, "b"), outstanding=1)
    tracker.settle(second)
    assert tracker.advance() is None
    tracker.settle(first)
    assert tracker.advance() is None
    tracker.settle(first)
    assert tracker.advance() == Position(2, "b")
    assert tracker.open_pages == 0


def test_pages_with_nothing_to_send_are_settled_at_once() -> None:
    tracker = CursorTracker()
    tracker.open_page(Position(1, "a"), outstanding=0)
    assert tracker.advance() == Position(1, "a")
    assert tracker.advance() is None


def test_over_settling_is_a_bug_not_a_silent_skip() -> None:
    tracker = CursorTracker()
    page = tracker.open_page(Position(1, "a"), outstanding=1)
    with pytest.raises(ValueError, match="only 1 unsettled"):
        tracker.settle(page, 2)
