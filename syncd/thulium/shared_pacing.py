"""The account's pacing state and concurrency limit in Redis, so every syncd process of one Thulium account
shares them.

Apart from ``syncd.thulium.pacing`` because it imports ``redis``: a ``syncd sync`` with no broker configured
never loads the Redis client (a tenth of its start-up); the application layer imports this module only
when a Redis URL is there to use.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from syncd.thulium.concurrency import InProcessLimits, LimitPolicy, LimitState, Window, decide
from syncd.thulium.pacing import (
    Clock,
    Event,
    Outcome,
    PacingBackend,
    PacingPolicy,
    Reason,
    Wait,
    outcome_of,
)

log = logging.getLogger("syncd.thulium")

KEY_PREFIX = "syncd:pacing:"
KEY_TTL_MS = 3_600_000  # an idle account's state disappears after an hour
REDIS_TIMEOUT = 1.0
REDIS_RETRY_AFTER = 5.0  # after a Redis failure, pace locally this long before trying Redis again
LIMIT_KEY_PREFIX = "syncd:concurrency:"
LIMIT_TRIES = 8  # compare-and-set rounds before a window is applied to this process's view alone
FLOOR = "floor:"


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


def connect_redis(url: str) -> redis.Redis:
    """Fails fast (one PING, short timeouts, no retries): sharing must never be what stalls a sync."""
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
    return client


# Compare-and-set of an account's concurrency state: written only if nobody wrote since it was read.
# KEYS[1]: the account's hash. ARGV: the version read ("0": none), ttl_ms, then field/value pairs.
# Returns {"ok"}, or {"conflict", field, value, ...}: the state as it is now, to decide again on.
LIMIT_CAS_LUA = """
local version = redis.call('HGET', KEYS[1], 'version') or '0'
if version ~= ARGV[1] then
  local now = redis.call('HGETALL', KEYS[1])
  table.insert(now, 1, 'conflict')
  return now
end
redis.call('HSET', KEYS[1], 'version', tostring(tonumber(version) + 1), unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return {'ok'}
"""


def _text(item: bytes | str) -> str:
    return item.decode() if isinstance(item, bytes) else item


def _parse(pairs: list[str], initial: LimitState) -> tuple[LimitState, str]:
    fields = dict(zip(pairs[::2], pairs[1::2], strict=True))
    if "version" not in fields:
        return initial, "0"
    floors = {name[len(FLOOR) :]: float(v) for name, v in fields.items() if name.startswith(FLOOR)}
    state = LimitState(
        float(fields["limit"]), fields["slow_start"] == "1", floors, int(fields.get("queued", "0"))
    )
    return state, fields["version"]


def _fields(state: LimitState) -> list[str]:
    out = ["limit", repr(state.limit), "slow_start", "1" if state.slow_start else "0"]
    out += ["queued", str(state.queued)]
    for route, floor in state.floors.items():
        out += [FLOOR + route, repr(floor)]
    return out


class RedisLimits:
    """An account's concurrency state in one Redis hash. ``decide`` runs here, in Python, on the state as
    read; the write is a compare-and-set, so two processes deciding at once both count (one decides again
    on the other's result)."""

    def __init__(self, client: redis.Redis, account: str, initial: LimitState) -> None:
        self.client = client
        self.key = LIMIT_KEY_PREFIX + account
        self.initial = initial
        self._script = client.register_script(LIMIT_CAS_LUA)
        self._known: tuple[LimitState, str] | None = None  # the state this process last read or wrote

    def load(self) -> LimitState:
        raw: dict[bytes, bytes] = self.client.hgetall(self.key)  # type: ignore[assignment]
        pairs = [_text(item) for pair in raw.items() for item in pair]
        self._known = _parse(pairs, self.initial)
        return self._known[0]

    def apply(self, policy: LimitPolicy, window: Window) -> LimitState:
        if self._known is None:
            self.load()
        assert self._known is not None
        state, version = self._known
        new = decide(state, policy, window)
        for _ in range(LIMIT_TRIES):
            args: list[str | int] = [version, KEY_TTL_MS, *_fields(new)]
            reply = [_text(item) for item in self._script(keys=[self.key], args=args)]
            if reply[0] == "ok":
                self._known = (new, str(int(version) + 1))
                return new
            state, version = _parse(reply[1:], self.initial)  # another process wrote: decide on its state
            new = decide(state, policy, window)
        self._known = None  # read afresh next time
        return new

    def close(self) -> None:
        self.client.close()


class FallbackLimits:
    """Redis while it answers; this process's own state while it does not (a warning, then Redis again).
    The local state follows every shared one, so an outage goes on from the account's limit."""

    def __init__(self, shared: RedisLimits, local: InProcessLimits, clock: Clock = time.monotonic) -> None:
        self.shared = shared
        self.local = local
        self.clock = clock
        self._down_until = 0.0
        self._outage = False
        self._lock = threading.Lock()

    def load(self) -> LimitState:
        return self._shared(self.shared.load) or self.local.load()

    def apply(self, policy: LimitPolicy, window: Window) -> LimitState:
        return self._shared(lambda: self.shared.apply(policy, window)) or self.local.apply(policy, window)

    def close(self) -> None:
        self.shared.close()

    def _shared(self, call: Callable[[], LimitState]) -> LimitState | None:
        with self._lock:
            if self.clock() < self._down_until:
                return None
        try:
            state = call()
        except (redis.RedisError, OSError) as exc:
            with self._lock:
                self._down_until = self.clock() + REDIS_RETRY_AFTER
                began, self._outage = not self._outage, True
            if began:
                log.warning(
                    "concurrency limit: Redis unreachable (%s); this process keeps its own limit until it "
                    "answers",
                    type(exc).__name__,
                )
            return None
        with self.local.lock:
            self.local.state = state
        if self._outage:
            with self._lock:
                ended, self._outage = self._outage, False
            if ended:
                log.warning("concurrency limit: Redis answers again; the account's limit is shared again")
        return state
