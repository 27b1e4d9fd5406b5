"""The sequencer's small pieces on their own: batching, backoff, group-commit cadence, the cursor."""

from __future__ import annotations

from syncd.engine.crm.dispatch import Batcher, ends_the_run
from syncd.engine.crm.ledger import PhaseCursor, RunKeys
from syncd.engine.crm.outcomes import CommitBuilder, Item
from syncd.engine.crm.pacing import Backoff, CommitCadence, WaitingRoom
from syncd.engine.crm.plan import Op
from syncd.engine.errors import RunAborted
from syncd.engine.ports import Link
from syncd.engine.records import Position


def items(kind: str, *keys: str) -> list[Item]:
    return [Item(Op(kind, key), 0) for key in keys]  # type: ignore[arg-type]


def test_full_batches_are_ready_at_once_and_partial_ones_only_when_flushed() -> None:
    batcher = Batcher(lambda kind: 2)
    batcher.add(items("create", "a", "b", "c") + items("update", "d"))
    assert batcher.ready == 1
    batcher.flush()
    calls = batcher.take(room=5)
    assert [(kind, [i.op.key for i in batch]) for kind, batch in calls] == [
        ("create", ["a", "b"]),
        ("create", ["c"]),
        ("update", ["d"]),
    ]


def test_no_more_calls_are_taken_than_there_is_room_for() -> None:
    batcher = Batcher(lambda kind: 1)
    batcher.add(items("delete", "a", "b", "c"))
    assert len(batcher.take(room=2)) == 2
    assert batcher.ready == 1


def test_only_a_failed_lookup_leaves_the_run_going() -> None:
    assert not ends_the_run("lookup", OSError("lost"))
    assert ends_the_run("settle", RunAborted("stop"))
    assert ends_the_run("create", OSError("lost"))


def test_backoff_doubles_per_attempt_up_to_its_cap() -> None:
    backoff = Backoff(0.5, cap=3.0)
    assert [backoff.delay(n) for n in range(5)] == [0.5, 0.5, 1.0, 2.0, 3.0]


def test_waiting_items_come_back_once_their_wait_is_over() -> None:
    room = WaitingRoom(Backoff(1.0))
    first, second = items("create", "a", "b")
    second.attempts = 2
    room.park(first, now=10.0)
    room.park(second, now=10.0)
    assert room.next_in(10.5) == 0.5
    assert room.due(11.0) == [first]
    assert room
    assert room.due(12.0) == [second]
    assert not room


def test_a_group_commit_is_due_after_its_interval_or_once_enough_links_gathered() -> None:
    cadence = CommitCadence(every=1.0, links=2)
    cadence.take(now=5.0)
    assert not cadence.due(5.5)
    cadence.unsaved.links.extend([Link("a", 1, None), Link("b", 2, None)])
    assert cadence.due(5.5)
    taken = cadence.take(now=5.5)
    assert len(taken.links) == 2
    assert cadence.unsaved.empty
    assert cadence.due(6.5)


def test_only_an_advancing_phase_moves_the_cursor_and_never_back() -> None:
    fixed = PhaseCursor.fixed()
    assert fixed.settle([fixed.pages.open_page(Position(9, "z"), 1)]) is None
    advancing = PhaseCursor.advancing_from(Position(5, "e"))
    behind = advancing.pages.open_page(Position(4, "d"), 1)
    assert advancing.settle([behind]) is None
    ahead = advancing.pages.open_page(Position(6, "f"), 0)
    assert advancing.settle([]) == Position(6, "f")
    assert ahead == 1


def test_settled_keys_lose_their_pending_mark_and_only_fixed_phases_remember_links() -> None:
    keys = RunKeys()
    keys.mark(["a", "b"])
    assert keys.unmarked(["a", "c"]) == ["c"]
    keys.forget(CommitBuilder(links=[Link("a", 1, None)]), remember_links=False)
    assert keys.marked == {"b"}
    assert not keys.linked
    keys.forget(CommitBuilder(links=[Link("b", 2, None)]), remember_links=True)
    assert not keys.marked
    assert keys.linked == {"b"}
