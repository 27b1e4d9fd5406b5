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
state behind one interface: ``InProcessBackend`` (a lock; shared by every client of this process) and
``RedisBackend`` (one hash per account, updated by one Lua script, so the check and the update are atomic
across processes and hosts). ``FallbackBackend`` keeps a sync running when Redis goes away mid-run.

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

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from syncd.thulium.errors import ThuliumUnavailable

log = logging.getLogger("syncd.thulium")

Clock = Callable[[], float]
Reason = Literal["paused", "open", "probing", "rate"]
Event = Literal["", "paused", "opened", "closed"]

DEFAULT_THROTTLE_PAUSE = 1.0  # a 429 without Retry-After still pauses the account briefly
MAX_NAP = 0.25  # waiters look again this often: a probe's success may end their wait early
MIN_NAP = 1e-6  # never spin on a wait that float rounding made (nearly) zero
DEFAULT_MAX_WAIT = 120.0  # the retry policy's default sleep budget: wait at most this long per attempt
KEY_PREFIX = "syncd:pacing:"
KEY_TTL_MS = 3_600_000  # an idle account's state disappears after an hour
REDIS_TIMEOUT = 1.0
REDIS_RETRY_AFTER = 5.0  # after a Redis failure, pace locally this long before trying Redis again
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


# The same two functions as above, in Lua, so that reading and updating the hash is one atomic step.
# KEYS[1]: the account's hash. ARGV: op, now ("" = the server's TIME), rate (0 = none), burst,
# breaker_failures, cooldown, the outcome's kind and pause ("" = none; see ``outcome_of``), ttl_ms.
# Returns {reason, seconds} for acquire (reason "" = go) and {event} for record; numbers travel as strings
# because Redis truncates a Lua number reply to an integer.
PACING_LUA = """
local key = KEYS[1]
local op = ARGV[1]
local now = tonumber(ARGV[2])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local rate = tonumber(ARGV[3])
local burst = tonumber(ARGV[4])
local limit = tonumber(ARGV[5])
local cooldown = tonumber(ARGV[6])
local kind = ARGV[7]
local pause = tonumber(ARGV[8])
local ttl = tonumber(ARGV[9])
local s = redis.call('HMGET', key, 'tat', 'pause_until', 'failures', 'open_until', 'probe_until')
local tat = tonumber(s[1]) or 0
local pause_until = tonumber(s[2]) or 0
local failures = tonumber(s[3]) or 0
local open_until = tonumber(s[4]) or 0
local probe_until = tonumber(s[5]) or 0
local function fmt(x) return string.format('%.6f', x) end
-- a wait is rounded up: rounded down to 0 it would send the caller straight back
local function wait(x) return string.format('%.6f', math.ceil(x * 1000000) / 1000000) end
local function save(...)
  redis.call('HSET', key, ...)
  redis.call('PEXPIRE', key, ttl)
end

if op == 'acquire' then
  if now < pause_until then return {'paused', wait(pause_until - now)} end
  local half_open = false
  if limit > 0 and failures >= limit then
    if now < open_until then return {'open', wait(open_until - now)} end
    if now < probe_until then return {'probing', wait(probe_until - now)} end
    half_open = true
  end
  if rate > 0 then
    local interval = 1 / rate
    local allow_at = tat - (burst - 1) * interval
    if now < allow_at then return {'rate', wait(allow_at - now)} end
    save('tat', fmt(math.max(tat, now) + interval))
  end
  if half_open then save('probe_until', fmt(now + cooldown)) end
  return {'', '0'}
end

local event = ''
if pause and now + pause > pause_until then
  save('pause_until', fmt(now + pause))
  event = 'paused'
end
if kind == 'throttled' then
  if probe_until > 0 then save('probe_until', '0') end
  return {event}
end
if kind == 'failure' then
  failures = failures + 1
  save('failures', failures)
  if limit > 0 and failures >= limit then
    local opened = now >= open_until
    save('open_until', fmt(now + cooldown), 'probe_until', '0')
    if opened then return {'opened'} end
  end
  return {event}
end
if failures > 0 or open_until > 0 or probe_until > 0 then
  save('failures', 0, 'open_until', '0', 'probe_until', '0')
  if limit > 0 and failures >= limit then return {'closed'} end
end
return {event}
"""


_REASONS: dict[str, Reason] = {"paused": "paused", "open": "open", "probing": "probing", "rate": "rate"}
_EVENTS: dict[str, Event] = {"": "", "paused": "paused", "opened": "opened", "closed": "closed"}


class RedisBackend:
    """The account's state in Redis: every syncd process using the same Redis shares it.

    ``clock`` None uses the Redis server's clock, so hosts with skewed clocks still agree; tests pass a fake
    clock to check the script step by step against the in-process backend.
    """

    def __init__(
        self, client: redis.Redis, account: str, policy: PacingPolicy, clock: Clock | None = None
    ) -> None:
        self.client = client
        self.key = KEY_PREFIX + account
        self.policy = policy
        self.clock = clock
        self._script = client.register_script(PACING_LUA)

    @classmethod
    def connect(cls, url: str, account: str, policy: PacingPolicy) -> RedisBackend:
        """Fails fast (one PING, short timeouts, no retries): pacing must never be what stalls a sync."""
        client = redis.Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT,
            socket_connect_timeout=REDIS_TIMEOUT,
            retry=Retry(NoBackoff(), 0),
        )
        try:
            client.ping()
        except (redis.RedisError, OSError):
            client.close()
            raise
        return cls(client, account, policy)

    def _run(self, op: str, outcome: Outcome | None = None) -> list[str]:
        policy = self.policy
        args: list[str | int] = [
            op,
            "" if self.clock is None else repr(self.clock()),
            repr(policy.max_requests_per_second or 0),
            policy.burst,
            policy.breaker_failures,
            repr(policy.breaker_cooldown),
            "" if outcome is None else outcome.kind,
            "" if outcome is None or outcome.pause is None else repr(outcome.pause),
            KEY_TTL_MS,
        ]
        reply = self._script(keys=[self.key], args=args)
        return [item.decode() if isinstance(item, bytes) else str(item) for item in reply]

    def acquire(self) -> Wait | None:
        reason, seconds = self._run("acquire")
        return Wait(float(seconds), _REASONS[reason]) if reason else None

    def record(self, status: int | None, retry_after: float | None) -> Event:
        (event,) = self._run("record", outcome_of(self.policy, status, retry_after))
        return _EVENTS[event]

    def close(self) -> None:
        self.client.close()


class FallbackBackend:
    """Redis while it answers; this process's own state while it does not (a warning, then Redis again).

    A broker restart must not fail a sync over its pacing: for a few seconds each process paces alone.
    """

    def __init__(self, shared: PacingBackend, local: PacingBackend, clock: Clock = time.monotonic) -> None:
        self.shared = shared
        self.local = local
        self.policy = local.policy
        self.clock = clock
        self._down_until = 0.0
        self._outage = False
        self._lock = threading.Lock()

    def acquire(self) -> Wait | None:
        if self._use_shared():
            try:
                wait = self.shared.acquire()
            except (redis.RedisError, OSError) as exc:
                self._failed(exc)
            else:
                self._answered()
                return wait
        return self.local.acquire()

    def record(self, status: int | None, retry_after: float | None) -> Event:
        event = self.local.record(status, retry_after)  # kept in step, for when Redis goes away
        if self._use_shared():
            try:
                event = self.shared.record(status, retry_after)
            except (redis.RedisError, OSError) as exc:
                self._failed(exc)
            else:
                self._answered()
        return event

    def close(self) -> None:
        self.shared.close()
        self.local.close()

    def _use_shared(self) -> bool:
        with self._lock:
            return self.clock() >= self._down_until

    def _failed(self, exc: Exception) -> None:
        with self._lock:
            self._down_until = self.clock() + REDIS_RETRY_AFTER
            began, self._outage = not self._outage, True
        if began:
            log.warning(
                "request pacing: Redis unreachable (%s); pacing this process alone until it answers",
                type(exc).__name__,
            )

    def _answered(self) -> None:
        if self._outage:  # unlocked peek: the common case costs nothing
            with self._lock:
                ended, self._outage = self._outage, False
            if ended:
                log.warning("request pacing: Redis answers again; the account's budget is shared again")


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
