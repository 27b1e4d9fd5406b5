"""Small helpers shared by the state DB tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from syncd.state.failure_log import FailureLog
from syncd.state.repository import StateStore
from syncd.state.run_log import RunLog
from syncd.state.stream_counts import StreamCounter

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@dataclass
class Clock:
    """An injectable ``clock`` the test moves by hand, so due times and orderings are exact."""

    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def tick(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def failure_log(store: StateStore) -> FailureLog:
    """The ops view of the failures a store's commits wrote (the store itself is the engine's port)."""
    return FailureLog(store.sessions, store.tenant)


def run_log(store: StateStore) -> RunLog:
    return RunLog(store.sessions, store.tenant)


def stream_counter(store: StateStore) -> StreamCounter:
    return StreamCounter(store.sessions, store.tenant)
