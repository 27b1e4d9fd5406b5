"""How many requests one Thulium account may have out at once, learnt from the answers (``max_in_flight =
"auto"``).

Thulium states no capacity, and the right number differs per instance and per hour: below it requests wait
on syncd, above it they wait in Thulium's queue (latency climbs, throughput does not) or come back 429.
So the limit is found the way TCP Vegas and Netflix's concurrency-limits find theirs, from two signals:

- **latency against its floor** — the lowest latency seen per endpoint is what a request costs with no
  queue. A window whose mean latency stays below ``grow_below`` times the floor leaves room: the limit
  grows. A window whose *quickest* answer stands above ``cut_above`` times the floor, ``confirm``
  windows in a row, says a queue is building: the limit is halved. The quickest, because a
  queue delays every answer while a stall of this process (a page being planned, on a 2-CPU machine)
  delays some; in between, the limit holds;
- **429** — the server said so: the limit is halved at once, once (429s of requests sent before the cut
  are old news).

It starts low (``initial``, 2: the first answers must show what a request costs with no queue, or
every floor would include one) and doubles per window while latency holds (a slow start, so a big
capacity is reached in a few round trips), then grows by one per window. It grows only when the window
was used (on average half the limit or more out when a request went): a run with less to send than the
limit learns nothing about a bigger one. A window is ``max(limit, min_samples)`` answers to requests
sent since the last decision, about one round trip.

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
    initial: int = 2  # low, so the first answers show what a request costs unqueued (the floors)
    grow_below: float = 1.25  # mean latency / floor under this: no queue building, grow
    cut_above: float = 2.5  # the quickest answer / floor over this, ``confirm`` windows in a row: cut
    backoff: float = 0.5  # a cut (a queue, or a 429) multiplies the limit by this
    min_samples: int = 3
    confirm: int = 2  # windows in a row over cut_above before a cut: a stall of this process is not a queue

    def __post_init__(self) -> None:
        if not 1 <= self.initial <= self.cap:
            raise ValueError("the initial limit must be between 1 and the cap")
        if not 1.0 < self.grow_below < self.cut_above:
            raise ValueError("need 1 < grow_below < cut_above")
        if not 0.0 < self.backoff < 1.0 or self.min_samples < 1 or self.confirm < 1:
            raise ValueError("backoff must be in (0, 1), min_samples and confirm at least 1")


@dataclass(frozen=True)
class LimitState:
    """One account's shared state: the limit (fractional, so a proportional cut is not lost to rounding),
    whether it is still in slow start, each endpoint's latency floor in seconds, and how many windows in
    a row latency stood over ``cut_above``."""

    limit: float = 1.0
    slow_start: bool = True
    floors: dict[str, float] = field(default_factory=dict)
    queued: int = 0

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
    # An endpoint seen for the first time only sets its floor: against a floor it set itself, a window
    # would always look unqueued.
    known = Window({route: f for route, f in window.routes.items() if route in state.floors})
    ratio, typical = _ratio(known, floors, quickest=True), _ratio(known, floors, quickest=False)
    queued = state.queued + 1 if ratio is not None and ratio >= policy.cut_above else 0
    if window.throttled:
        limit, slow_start = max(1.0, limit * policy.backoff), False
    elif ratio is None or typical is None:
        pass  # no latency to judge by (only failures): hold
    elif typical >= policy.grow_below and limit <= 1.0:
        # Nothing of ours is queued at one request: the floor itself has risen (a slower server, or
        # floors learnt at a quieter hour), so it moves towards what is seen now, and the limit can grow
        # again once it has caught up.
        slow_start = False
        for route, figures in window.routes.items():
            floors[route] += FLOOR_CREEP * max(0.0, figures.low - floors[route])
    elif ratio >= policy.cut_above:
        # Every answer slow, window after window: a queue. The first such window only ends slow start:
        # the whole process stalling (a page planned, a collection) delays every answer once too.
        slow_start = False
        if queued >= policy.confirm:
            limit, queued = max(1.0, limit * policy.backoff), 0
    elif typical < policy.grow_below:
        if window.busy:
            limit = min(float(policy.cap), limit * 2 if slow_start else limit + 1)
    else:
        slow_start = False  # near the knee: hold, and grow by one from now on
    return LimitState(limit, slow_start, floors, queued)


def _ratio(window: Window, floors: dict[str, float], *, quickest: bool) -> float | None:
    """The window's latency over its floor, by endpoint, weighted by how many answers each had: of its
    quickest answer, or of the mean.

    A cut goes by the quickest: a queue on the server delays every answer, while the odd slow one (this
    process busy on another thread, a big batch) delays only itself and is no reason to send less. Growth
    goes by the mean: a short queue delays only some answers, and the next request more would make it a
    429."""
    samples = window.samples
    if not samples:
        return None
    routes = window.routes.items()
    if quickest:
        return sum(f.count * f.low / max(floors[route], MIN_FLOOR) for route, f in routes) / samples
    return sum(f.total / max(floors[route], MIN_FLOOR) for route, f in routes) / samples


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
        self._sent = self._depth = 0  # requests sent in this window, and the sum of how many were out then
        self._decided_at = float("-inf")  # the last window's end: answers to older requests tell of an
        self._cut_at = float("-inf")  # older limit; the last 429's cut: older 429s are answered by it
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
            self._sent += 1
            self._depth += self._out
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
            elif status is not None and status < 500 and started >= self._decided_at:
                window.add(attempt.route, seconds)
            if not window.throttled and window.samples < max(self._limit, self.policy.min_samples):
                return
            # Used, if on average at least half the limit was out when a request went (a burst from
            # nothing just counts): a window seldom full says nothing of what a bigger one would do.
            window.busy = self._sent > 0 and 2 * self._depth >= self._sent * (self._limit + 1)
            self._window, self._sent, self._depth = Window(), 0, 0
            self._decided_at = now = self._clock()
            if window.throttled:
                self._cut_at = now
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
        elif log.isEnabledFor(logging.DEBUG):
            log.debug(
                "concurrency %d -> %d: latency %.2fx its floor (quickest %.2fx) over %d answers",
                before,
                limit,
                _ratio(window, state.floors, quickest=False) or 0.0,
                _ratio(window, state.floors, quickest=True) or 0.0,
                window.samples,
            )

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
