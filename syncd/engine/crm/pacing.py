"""When things happen in a run: an item's re-send after a backoff, and the group commit's cadence.

Times here are seconds on the run's own clock (``Clock.now`` as a timestamp), handed in by the
sequencer, so these values never read a clock themselves and a test's clock drives them all.
"""

from __future__ import annotations

from dataclasses import dataclass

from syncd.engine.crm.outcomes import CommitBuilder, Item

SAVE_EVERY = 0.05  # seconds between group commits of settled results
SAVE_LINKS = 1000  # settled links that make a group commit due at once, to bound what a crash loses
MAX_BACKOFF = 10.0  # seconds: a bound on an item's wait, however many attempts it has had


@dataclass(frozen=True, slots=True)
class Backoff:
    """Doubling from ``base`` per attempt, so a struggling Thulium gets room, capped so that an item
    never holds its page (and with it the cursor) back for long."""

    base: float
    cap: float = MAX_BACKOFF

    def delay(self, attempts: int) -> float:
        return min(float(self.base * 2 ** max(0, attempts - 1)), self.cap)


class WaitingRoom:
    """Items waiting out a backoff, each with the time it may be sent again."""

    def __init__(self, backoff: Backoff) -> None:
        self.backoff = backoff
        self._waiting: list[tuple[float, Item]] = []

    def __bool__(self) -> bool:
        return bool(self._waiting)

    def park(self, item: Item, now: float) -> None:
        self._waiting.append((now + self.backoff.delay(item.attempts), item))

    def due(self, now: float) -> list[Item]:
        """The items whose wait is over, taken out, in the order they were parked."""
        due = [item for deadline, item in self._waiting if deadline <= now]
        if due:
            self._waiting = [(d, i) for d, i in self._waiting if d > now]
        return due

    def next_in(self, now: float) -> float:
        """Seconds until the first wait is over (0 if it is); only asked while items wait."""
        return max(0.0, min(d for d, _ in self._waiting) - now)


class CommitCadence:
    """Settled results gather in one builder and are written together, at most every ``every``
    seconds: one transaction per answer would make the main thread the bottleneck."""

    def __init__(self, every: float = SAVE_EVERY, links: int = SAVE_LINKS) -> None:
        self.every, self.links = every, links
        self.unsaved = CommitBuilder()  # settled by Thulium, not yet written to the state DB
        self._saved_at = 0.0

    def due(self, now: float) -> bool:
        return now - self._saved_at >= self.every or len(self.unsaved.links) >= self.links

    def take(self, now: float) -> CommitBuilder:
        """What gathered since the last take, leaving an empty builder; ``now`` starts the next wait."""
        builder, self.unsaved, self._saved_at = self.unsaved, CommitBuilder(), now
        return builder
