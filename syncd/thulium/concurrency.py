"""How many requests one Thulium account may have out at once, learnt from the answers (``max_in_flight =
"auto"``).

Thulium states no capacity, and the right number differs per instance and per hour: below it requests wait
on syncd, above it they wait in Thulium's queue (latency climbs, throughput does not) or come back 429.
So the limit is found the way TCP Vegas and Netflix's concurrency-limits find theirs, from two signals:

- **latency against its floor** — the lowest latency seen per endpoint is what a request costs with no
  queue; a window of answers whose latency stays near it (below ``grow_below`` times) leaves room, so the
  limit grows; one well above it (``cut_above`` times) says a queue is building, so the limit is cut in
  proportion;
- **429** — the server said so: the limit is halved at once, once per window (the 429s of requests sent
  before the cut are old news).

It starts at ``initial`` and doubles per window while latency holds (a slow start, so a big capacity is
reached in a few round trips), then grows by one per window. It grows only when the window was used: a run
with less to send than the limit learns nothing about a bigger one. A window is ``max(limit, min_samples)``
answers, about one round trip.

The decision is a pure function (``decide``) of a small shared state (``LimitState``) and one window's
figures (``Window``), so every process of an account can apply it to the same state: in this process
behind a lock (``InProcessLimits``), or in Redis (``syncd.thulium.shared_pacing.RedisLimits``) so that
the workers of a daemon and a manual sync share one limit. Each process then holds its own requests to
that limit (``AdaptiveLimit``, the client's request gate): with N processes sending, latency climbs
N times as fast and the shared limit settles where the account's total does not queue.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger("syncd.thulium")

Clock = Callable[[], float]
_ID = re.compile(r"/\d+(?=/|$)")
FLOOR_CREEP = 0.25  # at the lowest limit, a floor moves this share of the way to what the window saw
MIN_FLOOR = 1e-4  # seconds: a floor is never taken as less (a clock that did not move is not a latency)


@dataclass(frozen=True)
class LimitPolicy:
    cap: int = 16
    initial: int = 1
    grow_below: float = 1.5  # window latency / floor under this: grow
    cut_above: float = 2.0  # over this: cut to limit * grow_below / ratio (at most by ``backoff``)
    backoff: float = 0.5  # a 429 multiplies the limit by this
    min_samples: int = 3

    def __post_init__(self) -> None:
        if not 1 <= self.initial <= self.cap:
            raise ValueError("the initial limit must be between 1 and the cap")
        if not 1.0 < self.grow_below < self.cut_above:
            raise ValueError("need 1 < grow_below < cut_above")
        if not 0.0 < self.backoff < 1.0 or self.min_samples < 1:
            raise ValueError("backoff must be in (0, 1) and min_samples at least 1")


@dataclass(frozen=True)
class LimitState:
    """One account's shared state: the limit (fractional, so a proportional cut is not lost to rounding),
    whether it is still in slow start, and each endpoint's latency floor in seconds."""

    limit: float = 1.0
    slow_start: bool = True
    floors: dict[str, float] = field(default_factory=dict)

    def current(self, policy: LimitPolicy) -> int:
        return max(1, min(policy.cap, int(self.limit)))


@dataclass
class RouteFigures:
    count: int = 0
    total: float = 0.0
    low: float = float("inf")

    def add(self, seconds: float) -> None:
        self.count += 1
        self.total += seconds
        self.low = min(self.low, seconds)


@dataclass
class Window:
    """What one window of answers showed: latency by endpoint, whether a 429 came, whether the limit was
    reached (``busy``)."""

    routes: dict[str, RouteFigures] = field(default_factory=dict)
    throttled: bool = False
    busy: bool = False

    @property
    def samples(self) -> int:
        return sum(figures.count for figures in self.routes.values())

    def add(self, route: str, seconds: float) -> None:
        self.routes.setdefault(route, RouteFigures()).add(seconds)


def decide(state: LimitState, policy: LimitPolicy, window: Window) -> LimitState:
    """The state after ``window``: the floors it lowered, and the limit it grew, held or cut."""
    floors = dict(state.floors)
    for route, figures in window.routes.items():
        floors[route] = min(floors.get(route, figures.low), figures.low)
    limit, slow_start = min(state.limit, float(policy.cap)), state.slow_start
    ratio = _ratio(window, floors)
    if window.throttled:
        limit, slow_start = max(1.0, limit * policy.backoff), False
    elif ratio is None:
        pass  # no latency to judge by (only failures): hold
    elif ratio >= policy.grow_below and limit <= 1.0:
        # Nothing of ours is queued at one request: the floor itself has risen (a slower server, or
        # floors learnt at a quieter hour), so it moves towards what is seen now, and the limit can grow
        # again once it has caught up.
        slow_start = False
        for route, figures in window.routes.items():
            floors[route] += FLOOR_CREEP * max(0.0, figures.low - floors[route])
    elif ratio >= policy.cut_above:
        limit, slow_start = max(1.0, limit * max(policy.backoff, policy.grow_below / ratio)), False
    elif ratio < policy.grow_below:
        if window.busy:
            limit = min(float(policy.cap), limit * 2 if slow_start else limit + 1)
    else:
        slow_start = False  # near the knee: hold, and grow by one from now on
    return LimitState(limit, slow_start, floors)


def _ratio(window: Window, floors: dict[str, float]) -> float | None:
    """The window's latency over the floors, by endpoint, weighted by how many answers each had."""
    samples = window.samples
    if not samples:
        return None
    return sum(f.total / max(floors[route], MIN_FLOOR) for route, f in window.routes.items()) / samples


def route_of(method: str, path: str) -> str:
    """``PUT customers/:id``: latency floors are kept per endpoint, not per record."""
    return f"{method} {_ID.sub('/:id', '/' + path.strip('/'))[1:]}"


class LimitStore(Protocol):
    """Where an account's ``LimitState`` lives; ``apply`` is atomic with respect to every other user."""

    def load(self) -> LimitState: ...

    def apply(self, policy: LimitPolicy, window: Window) -> LimitState: ...

    def close(self) -> None: ...


class InProcessLimits:
    """One account's state within this process, behind a lock."""

    def __init__(self, initial: LimitState | None = None) -> None:
        self.state = initial or LimitState()
        self.lock = threading.Lock()

    def load(self) -> LimitState:
        with self.lock:
            return self.state

    def apply(self, policy: LimitPolicy, window: Window) -> LimitState:
        with self.lock:
            self.state = decide(self.state, policy, window)
            return self.state

    def close(self) -> None:
        pass


_accounts: dict[str, InProcessLimits] = {}
_accounts_lock = threading.Lock()


def local_limits(account: str, policy: LimitPolicy) -> InProcessLimits:
    """Every client of this process that talks to ``account`` shares one limit (a daemon worker keeps
    what it learnt from one run to the next)."""
    with _accounts_lock:
        return _accounts.setdefault(account, InProcessLimits(LimitState(float(policy.initial))))


class _Attempt(threading.local):
    """The request this thread has out: a gate's before and after calls are made on one thread."""

    started: float | None = None
    route: str = ""


class AdaptiveLimit:
    """The client's request gate, and what the engine's window asks (``current``): waits while this
    process has ``limit`` requests out, and learns from every answer.

    ``connect`` builds the store on the first request, so a run with nothing to send never looks for a
    broker or opens a connection to it.
    """

    def __init__(
        self, connect: Callable[[], LimitStore], policy: LimitPolicy, *, clock: Clock = time.monotonic
    ) -> None:
        self.policy = policy
        self._connect = connect
        self._store: LimitStore | None = None
        self._connecting = threading.Lock()
        self._clock = clock
        self._limit = policy.initial
        self._out = 0
        self._window = Window()
        self._cut_at = float("-inf")
        self._attempt = _Attempt()
        self._cond = threading.Condition()

    def current(self) -> int:
        return self._limit

    def store(self) -> LimitStore:
        """Built on first use; the limit it holds replaces the initial one."""
        store = self._store
        if store is None:
            with self._connecting:
                if self._store is None:
                    self._store = self._connect()
                    limit = self._store.load().current(self.policy)
                    with self._cond:
                        self._limit = limit
                        self._cond.notify_all()
                store = self._store
        return store

    def before_request(self, method: str, path: str) -> None:
        self.store()  # before the first request waits: on the limit the store holds, not the initial one
        attempt = self._attempt
        if attempt.started is not None:  # the last attempt of this thread never got an answer to learn
            self._release()
        with self._cond:
            while self._out >= self._limit:
                self._cond.wait()
            self._out += 1
            if self._out >= self._limit:
                self._window.busy = True
        attempt.started, attempt.route = self._clock(), route_of(method, path)

    def after_response(self, status: int | None, retry_after: float | None) -> None:
        attempt = self._attempt
        started = attempt.started
        if started is None:
            return
        attempt.started = None
        seconds = self._clock() - started
        with self._cond:
            self._out -= 1
            self._cond.notify()
            window = self._window
            if status == 429:
                if started < self._cut_at:
                    return  # sent before the last cut: that cut answered it
                window.throttled = True
            elif status is not None and status < 500:
                window.add(attempt.route, seconds)
            if not window.throttled and window.samples < max(self._limit, self.policy.min_samples):
                return
            self._window, self._cut_at = Window(), self._clock()
        self._learn(window)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    def _learn(self, window: Window) -> None:
        state = self.store().apply(self.policy, window)
        limit = state.current(self.policy)
        with self._cond:
            before, self._limit = self._limit, limit
            self._cond.notify_all()
        if limit < before and window.throttled:
            log.info("Thulium asked to slow down: concurrency %d -> %d", before, limit)

    def _release(self) -> None:
        self._attempt.started = None
        with self._cond:
            self._out -= 1
            self._cond.notify()


class Gate(Protocol):
    def before_request(self, method: str, path: str) -> None: ...


class Gates:
    """Several request gates as one, in order (pacing first: a request waits for its rate slot before it
    takes a concurrency slot, so a slow rate never holds slots idle)."""

    def __init__(self, *gates: Gate) -> None:
        self.gates = gates
        self._learners = [learn for gate in gates if (learn := getattr(gate, "after_response", None))]

    def before_request(self, method: str, path: str) -> None:
        for gate in self.gates:
            gate.before_request(method, path)

    def after_response(self, status: int | None, retry_after: float | None) -> None:
        for learn in self._learners:
            learn(status, retry_after)

    def close(self) -> None:
        for gate in self.gates:
            closing = getattr(gate, "close", None)
            if closing is not None:
                closing()
