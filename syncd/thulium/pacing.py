"""Shared request pacing for one Thulium account: a rate limit, a pause on 429, a circuit breaker.

Thulium documents no rate limit, but one API user is one budget however many syncd processes use it: the
Celery workers of a daemon and a manual ``syncd sync`` all pace against the same shared state, so adding a
worker does not double the load. Three rules decide whether a request may go now:

- **pause** — a 429 (or a 5xx carrying ``Retry-After``) stops every request of the account until the delay
  has passed, not only the retry of the request that got it: the server said the *account* is too busy;
- **circuit breaker** — after ``breaker_failures`` consecutive 5xx/transport failures the account is left
  alone for ``breaker_cooldown`` seconds; then one probe at a time (half-open); a success closes it. A
  storm of 503s costs one request per cool-down instead of every worker's retries;
- **rate** — GCRA (a token bucket kept as one timestamp): at most ``burst`` at once, then one request every
  ``1 / max_requests_per_second``; any 1 s window holds at most ``ceil(rate) + burst - 1`` requests.

The decision is a pure function of a small state (``PacingState``) and the clock. Two backends hold that
state behind one interface: ``InProcessBackend`` (a lock; shared by every client of this process) and, in
``syncd.thulium.shared_pacing`` (the one module that imports ``redis``, so a process with no broker never
loads it), ``RedisBackend`` (one hash per account, updated by one Lua script, so the check and the update
are atomic across processes and hosts) and ``FallbackBackend``, which keeps a sync running when Redis goes
away mid-run.

A request that would wait longer than ``max_wait`` is refused with ``ThuliumUnavailable`` at once, so a run
facing a long outage fails over to the engine's own retry rules instead of hanging.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from syncd.thulium.errors import ThuliumUnavailable

log = logging.getLogger("syncd.thulium")

Clock = Callable[[], float]
Reason = Literal["paused", "open", "probing", "rate"]
Event = Literal["", "paused", "opened", "closed"]

DEFAULT_THROTTLE_PAUSE = 1.0  # a 429 without Retry-After still pauses the account briefly
MAX_NAP = 0.25  # waiters look again this often: a probe's success may end their wait early
MIN_NAP = 1e-6  # never spin on a wait that float rounding made (nearly) zero
DEFAULT_MAX_WAIT = 120.0  # the retry policy's default sleep budget: wait at most this long per attempt
FAILURE_STATUSES = frozenset({408})  # besides 5xx and no response: the server did not get to the request


@dataclass(frozen=True)
class PacingPolicy:
    """``max_requests_per_second`` None: no rate limit; ``breaker_failures`` 0: no circuit breaker."""

    max_requests_per_second: float | None = None
    burst: int = 1
    breaker_failures: int = 5
    breaker_cooldown: float = 30.0
    throttle_pause: float = DEFAULT_THROTTLE_PAUSE

    def __post_init__(self) -> None:
        if self.max_requests_per_second is not None and self.max_requests_per_second <= 0:
            raise ValueError("max_requests_per_second must be positive")
        if self.burst < 1 or self.breaker_failures < 0:
            raise ValueError("burst must be at least 1 and breaker_failures not negative")
        if self.breaker_cooldown <= 0 or self.throttle_pause < 0:
            raise ValueError("breaker_cooldown must be positive and throttle_pause not negative")


@dataclass(frozen=True)
class Wait:
    seconds: float
    reason: Reason


@dataclass
class PacingState:
    """One account's shared state; times are the backend's clock (monotonic in-process, Redis TIME)."""

    tat: float = 0.0  # GCRA's theoretical arrival time of the next request
    pause_until: float = 0.0
    failures: int = 0  # consecutive failures
    open_until: float = 0.0
    probe_until: float = 0.0  # a half-open probe is out until then; others wait


Kind = Literal["throttled", "failure", "success"]


@dataclass(frozen=True)
class Outcome:
    """What one attempt means for the account, decided once here (both backends only apply it)."""

    kind: Kind  # throttled: the pause handles it; failure: counts towards the breaker; success: closes it
    pause: float | None  # pause the whole account this long


def outcome_of(policy: PacingPolicy, status: int | None, retry_after: float | None) -> Outcome:
    """A 429 pauses the account (``Retry-After``, else briefly); no answer, a 5xx or a 408 is a failure,
    and a 5xx that says how long pauses too."""
    if status == 429:
        return Outcome("throttled", policy.throttle_pause if retry_after is None else retry_after)
    if status is None or status in FAILURE_STATUSES:
        return Outcome("failure", None)
    if status >= 500:
        return Outcome("failure", retry_after)
    return Outcome("success", None)


def acquire(state: PacingState, policy: PacingPolicy, now: float) -> Wait | None:
    """None: go now (the state is updated: a rate slot taken, maybe the probe); else how long to wait."""
    if now < state.pause_until:
        return Wait(state.pause_until - now, "paused")
    half_open = False
    if policy.breaker_failures and state.failures >= policy.breaker_failures:
        if now < state.open_until:
            return Wait(state.open_until - now, "open")
        if now < state.probe_until:
            return Wait(state.probe_until - now, "probing")
        half_open = True
    if policy.max_requests_per_second is not None:
        interval = 1.0 / policy.max_requests_per_second
        allow_at = state.tat - (policy.burst - 1) * interval
        if now < allow_at:
            return Wait(allow_at - now, "rate")
        state.tat = max(state.tat, now) + interval
    if half_open:
        state.probe_until = now + policy.breaker_cooldown
    return None


def record(state: PacingState, policy: PacingPolicy, now: float, outcome: Outcome) -> Event:
    """Learn from one attempt's outcome; returns what changed."""
    event: Event = ""
    if outcome.pause is not None and now + outcome.pause > state.pause_until:
        state.pause_until = now + outcome.pause
        event = "paused"
    if outcome.kind == "throttled":
        state.probe_until = 0.0  # a throttled probe proved nothing: another may go after the pause
        return event
    if outcome.kind == "failure":
        state.failures += 1
        if policy.breaker_failures and state.failures >= policy.breaker_failures:
            opened = now >= state.open_until
            state.open_until = now + policy.breaker_cooldown
            state.probe_until = 0.0
            return "opened" if opened else event
        return event
    closed = bool(policy.breaker_failures) and state.failures >= policy.breaker_failures
    state.failures, state.open_until, state.probe_until = 0, 0.0, 0.0
    return "closed" if closed else event


class PacingBackend(Protocol):
    """Where an account's ``PacingState`` lives; both calls are atomic with respect to every other user."""

    policy: PacingPolicy

    def acquire(self) -> Wait | None: ...

    def record(self, status: int | None, retry_after: float | None) -> Event: ...

    def close(self) -> None: ...


class LocalAccount:
    """One account's state within this process, behind a lock."""

    def __init__(self) -> None:
        self.state = PacingState()
        self.lock = threading.Lock()


_accounts: dict[str, LocalAccount] = {}
_accounts_lock = threading.Lock()


def local_account(account: str) -> LocalAccount:
    """Every client of this process that talks to ``account`` shares one state (tenants sharing a user)."""
    with _accounts_lock:
        return _accounts.setdefault(account, LocalAccount())


class InProcessBackend:
    def __init__(
        self, policy: PacingPolicy, account: LocalAccount | None = None, clock: Clock = time.monotonic
    ) -> None:
        self.policy = policy
        self.account = account or LocalAccount()
        self.clock = clock

    def acquire(self) -> Wait | None:
        with self.account.lock:
            return acquire(self.account.state, self.policy, self.clock())

    def record(self, status: int | None, retry_after: float | None) -> Event:
        with self.account.lock:
            outcome = outcome_of(self.policy, status, retry_after)
            return record(self.account.state, self.policy, self.clock(), outcome)

    def close(self) -> None:
        pass


class PacingGate:
    """The client's ``RequestGate``: waits until the account may take a request, and learns outcomes."""

    def __init__(
        self,
        backend: PacingBackend,
        *,
        max_wait: float = DEFAULT_MAX_WAIT,
        clock: Clock = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.backend = backend
        self.max_wait = max_wait
        self._clock = clock
        self._sleep = sleep

    def before_request(self, method: str, path: str) -> None:
        deadline = self._clock() + self.max_wait
        while (wait := self.backend.acquire()) is not None:
            if self._clock() + wait.seconds > deadline:
                raise ThuliumUnavailable(
                    f"Thulium unavailable for {method} {path}: {_explain(wait)}, beyond the "
                    f"{self.max_wait:.0f} s a request waits",
                    method=method,
                    path=path,
                    attempts=0,
                    retry_after=wait.seconds,
                )
            self._sleep(max(MIN_NAP, min(wait.seconds, MAX_NAP) if wait.reason != "rate" else wait.seconds))

    def after_response(self, status: int | None, retry_after: float | None) -> None:
        event = self.backend.record(status, retry_after)
        if event == "opened":
            log.warning(
                "Thulium circuit breaker open: consecutive failures (last status=%s); one probe per %.0f s",
                status,
                self.backend.policy.breaker_cooldown,
            )
        elif event == "closed":
            log.warning("Thulium circuit breaker closed: requests flow again")
        elif event == "paused":
            log.info("Thulium asked to slow down (status=%s): every request of the account waits", status)

    def close(self) -> None:
        self.backend.close()


def _explain(wait: Wait) -> str:
    what = {
        "paused": "the account is paused (Retry-After)",
        "open": "the circuit breaker is open",
        "probing": "the circuit breaker is probing",
        "rate": "the rate limit",
    }[wait.reason]
    return f"{what} for {wait.seconds:.1f} s more"


def account_key(url: str, user: str) -> str:
    """Names a Thulium account (URL + API user) in shared state; the password never goes in."""
    digest = hashlib.sha256(f"{url.rstrip('/')}\0{user}".encode()).hexdigest()
    return digest[:32]
