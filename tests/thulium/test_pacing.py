"""Shared request pacing (syncd/thulium/pacing.py): the rate limit, the 429 pause and the circuit breaker.

Every rule is checked step by step on a fake clock against both backends — this process's state and the
Lua script in the test session's real Redis (with the clock passed in) — so the two stay one algorithm.
Then: atomicity under threads (a frozen clock makes the expected grants exact), the client hook against the
sandbox, the tenant settings and how ``app.runtime`` picks a backend.
"""

from __future__ import annotations

import itertools
import logging
import math
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from pydantic import ValidationError
from redis.backoff import NoBackoff
from redis.retry import Retry

from syncd.app.runtime import pacing_gate
from syncd.settings import ProcessSettings
from syncd.settings.tenant import ThuliumSection
from syncd.thulium import RetryPolicy, ThuliumClient, ThuliumUnavailable
from syncd.thulium.pacing import (
    InProcessBackend,
    LocalAccount,
    PacingBackend,
    PacingGate,
    PacingPolicy,
    Wait,
    account_key,
)
from syncd.thulium.shared_pacing import REDIS_RETRY_AFTER, FallbackBackend, RedisBackend, connect_redis
from tests.fixtures.redis import RedisServer
from tests.thulium.conftest import Control

Backend = Callable[..., PacingBackend]


class FakeClock:
    """Time that moves only when someone sleeps (or the test says so)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["in_process", "redis"])
def backend(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[Backend]:
    """``backend(policy)`` -> a backend on the shared account; every call is another user of that account
    (another thread's client, another process)."""
    made: list[PacingBackend] = []
    if request.param == "in_process":
        account = LocalAccount()

        def make(policy: PacingPolicy) -> PacingBackend:
            return InProcessBackend(policy, account, clock)

    else:
        url: str = request.getfixturevalue("redis_url")

        def make(policy: PacingPolicy) -> PacingBackend:
            return RedisBackend(redis.Redis.from_url(url), "acct", policy, clock=clock)

    def tracked(policy: PacingPolicy) -> PacingBackend:
        made.append(make(policy))
        return made[-1]

    yield tracked
    for one in made:
        one.close()


def grants(backend: PacingBackend, gate: PacingGate, clock: FakeClock, n: int) -> list[float]:
    times = []
    for _ in range(n):
        gate.before_request("GET", "customers")
        times.append(clock())
        backend.record(200, None)
    return times


def busiest_second(times: list[float]) -> int:
    """The most requests in any half-open 1 s window [t, t + 1) (less a microsecond of float noise)."""
    return max(sum(1 for u in times if t <= u < t + 1 - 1e-6) for t in times)


def assert_wait(wait: Wait | None, seconds: float, reason: str) -> None:
    assert wait is not None, wait
    assert wait.reason == reason, wait
    assert wait.seconds == pytest.approx(seconds, abs=1e-3), wait


# -- the rate limit ----------------------------------------------------------------------------


@pytest.mark.parametrize(("rate", "burst"), [(4.0, 1), (8.0, 3), (2.5, 2)])
def test_rate_limit_bounds_every_second(backend: Backend, clock: FakeClock, rate: float, burst: int) -> None:
    pacing = backend(PacingPolicy(max_requests_per_second=rate, burst=burst))
    gate = PacingGate(pacing, clock=clock, sleep=clock.sleep)
    times = grants(pacing, gate, clock, 40)
    assert times[:burst] == [times[0]] * burst, "a full bucket lets `burst` go at once"
    assert busiest_second(times) <= math.ceil(rate) + burst - 1
    assert times[-1] - times[0] == pytest.approx((40 - burst) / rate, abs=1e-3), "and no slower than the rate"


def test_a_second_user_of_the_account_shares_the_budget(backend: Backend, clock: FakeClock) -> None:
    policy = PacingPolicy(max_requests_per_second=2.0)
    first, second = backend(policy), backend(policy)
    assert first.acquire() is None
    wait = second.acquire()
    assert_wait(wait, 0.5, "rate")
    clock.advance(0.5)
    assert second.acquire() is None
    assert first.acquire() is not None


def test_without_a_rate_only_the_pause_and_the_breaker_apply(backend: Backend, clock: FakeClock) -> None:
    pacing = backend(PacingPolicy(max_requests_per_second=None, breaker_failures=2))
    assert all(pacing.acquire() is None for _ in range(100))
    pacing.record(503, None)
    pacing.record(None, None)
    assert_wait(pacing.acquire(), 30.0, "open")


# -- the pause on 429 --------------------------------------------------------------------------


def test_429_pauses_every_user_of_the_account_for_retry_after(backend: Backend, clock: FakeClock) -> None:
    policy = PacingPolicy(max_requests_per_second=100.0)
    throttled, other = backend(policy), backend(policy)
    assert throttled.record(429, 2.0) == "paused"
    assert_wait(other.acquire(), 2.0, "paused")
    clock.advance(1.5)
    assert_wait(other.acquire(), 0.5, "paused")
    clock.advance(0.5)
    assert other.acquire() is None


def test_a_pause_is_only_ever_extended(backend: Backend, clock: FakeClock) -> None:
    pacing = backend(PacingPolicy(max_requests_per_second=100.0))
    pacing.record(429, 5.0)
    assert pacing.record(429, 1.0) == "", "a shorter Retry-After does not shorten the pause"
    assert_wait(pacing.acquire(), 5.0, "paused")


def test_429_without_retry_after_pauses_briefly_and_503_with_one_pauses(
    backend: Backend, clock: FakeClock
) -> None:
    pacing = backend(PacingPolicy(max_requests_per_second=100.0, throttle_pause=0.75))
    pacing.record(429, None)
    assert_wait(pacing.acquire(), 0.75, "paused")
    clock.advance(1)
    pacing.record(503, 3.0)
    assert_wait(pacing.acquire(), 3.0, "paused")
    clock.advance(3)
    assert pacing.record(200, 9.0) == "", "Retry-After on a success means nothing"
    assert pacing.acquire() is None


def test_the_gate_waits_out_a_pause_and_refuses_one_beyond_max_wait(
    backend: Backend, clock: FakeClock
) -> None:
    pacing = backend(PacingPolicy(max_requests_per_second=100.0))
    gate = PacingGate(pacing, max_wait=10, clock=clock, sleep=clock.sleep)
    pacing.record(429, 2.0)
    start = clock()
    gate.before_request("GET", "customers")
    assert clock() >= start + 2.0, "nothing goes before the delay"
    pacing.record(429, 3600.0)
    before = clock()
    with pytest.raises(ThuliumUnavailable) as refused:
        gate.before_request("GET", "customers")
    assert clock() == before, "refused at once, not after waiting in vain"
    assert refused.value.retry_after == pytest.approx(3600.0)
    assert "paused" in str(refused.value)


# -- the circuit breaker -----------------------------------------------------------------------


def test_breaker_opens_after_k_consecutive_failures_then_probes_one_at_a_time(
    backend: Backend, clock: FakeClock
) -> None:
    policy = PacingPolicy(max_requests_per_second=100.0, burst=10, breaker_failures=3, breaker_cooldown=5.0)
    one, two = backend(policy), backend(policy)
    assert [one.record(503, None), two.record(None, None)] == ["", ""]
    assert one.acquire() is None, "two failures: still closed"
    assert two.record(500, None) == "opened"
    assert_wait(one.acquire(), 5.0, "open")
    clock.advance(5.0)
    assert one.acquire() is None, "the probe"
    assert_wait(two.acquire(), 5.0, "probing")  # only one probe at a time
    assert one.record(503, None) == "opened", "a failed probe opens it again"
    assert_wait(two.acquire(), 5.0, "open")
    clock.advance(5.0)
    assert two.acquire() is None
    assert two.record(204, None) == "closed"
    assert one.acquire() is None
    assert two.acquire() is None


def test_a_success_or_a_refusal_resets_the_count(backend: Backend, clock: FakeClock) -> None:
    pacing = backend(PacingPolicy(max_requests_per_second=100.0, breaker_failures=3))
    for answer in (503, 502, 200, 503, 504, 400, 503, 408, 429):
        pacing.record(answer, None)
        clock.advance(2)  # past any 429 pause
    assert pacing.acquire() is None, "never three failures in a row: a 4xx is an answer, a 429 no failure"
    pacing.record(None, None)
    assert_wait(pacing.acquire(), 30.0, "open")


def test_a_probe_that_never_reports_frees_its_slot_after_the_cooldown(
    backend: Backend, clock: FakeClock
) -> None:
    policy = PacingPolicy(max_requests_per_second=100.0, breaker_failures=1, breaker_cooldown=2.0)
    pacing = backend(policy)
    pacing.record(None, None)
    clock.advance(2.0)
    assert pacing.acquire() is None  # the probe's process dies here
    assert_wait(pacing.acquire(), 2.0, "probing")
    clock.advance(2.0)
    assert pacing.acquire() is None, "another probe"


def test_a_throttled_probe_lets_another_go_after_the_pause(backend: Backend, clock: FakeClock) -> None:
    pacing = backend(PacingPolicy(max_requests_per_second=100.0, breaker_failures=1, breaker_cooldown=9.0))
    pacing.record(503, None)
    clock.advance(9.0)
    assert pacing.acquire() is None
    pacing.record(429, 1.0)
    clock.advance(1.0)
    assert pacing.acquire() is None, "not held for the rest of the probe's cooldown"


def test_the_gate_waits_for_the_breaker_and_gives_up_past_max_wait(
    backend: Backend, clock: FakeClock
) -> None:
    policy = PacingPolicy(max_requests_per_second=100.0, breaker_failures=2, breaker_cooldown=4.0)
    pacing, other = backend(policy), backend(policy)
    pacing.record(503, None)
    pacing.record(503, None)
    start = clock()
    PacingGate(pacing, max_wait=6.0, clock=clock, sleep=clock.sleep).before_request("GET", "customers")
    assert clock() == pytest.approx(start + 4.0), "the first request after the cooldown is the probe"
    pacing.record(503, None)  # the probe failed: open for another cooldown

    def sleep_while_another_user_probes(seconds: float) -> None:
        clock.sleep(seconds)
        if clock() >= start + 8.0:
            other.acquire()  # takes the probe, and has not answered yet

    gate = PacingGate(pacing, max_wait=6.0, clock=clock, sleep=sleep_while_another_user_probes)
    with pytest.raises(ThuliumUnavailable, match="circuit breaker is probing"):
        gate.before_request("POST", "batch/customers")
    assert clock() == pytest.approx(start + 8.0), "waited the cooldown, then refused: the probe's is beyond"


# -- atomicity: many users at one instant --------------------------------------------------------


@pytest.mark.parametrize("burst", [1, 5])
def test_concurrent_users_get_exactly_burst_grants_at_one_instant(backend: Backend, burst: int) -> None:
    policy = PacingPolicy(max_requests_per_second=1.0, burst=burst)
    users = [backend(policy) for _ in range(8)]
    granted = concurrent_grants(users, tries=5)
    assert granted == burst, "a check-then-update race would let more through"


def test_concurrent_users_send_exactly_one_half_open_probe(backend: Backend, clock: FakeClock) -> None:
    policy = PacingPolicy(
        max_requests_per_second=1000.0, burst=1000, breaker_failures=1, breaker_cooldown=1.0
    )
    users = [backend(policy) for _ in range(8)]
    users[0].record(503, None)
    clock.advance(1.0)
    assert concurrent_grants(users, tries=5) == 1


def concurrent_grants(users: list[PacingBackend], tries: int) -> int:
    """Every user acquires ``tries`` times from its own thread, all released at once; the clock stands."""
    start = threading.Barrier(len(users))
    counts = [0] * len(users)

    def run(index: int) -> None:
        start.wait()
        counts[index] = sum(1 for _ in range(tries) if users[index].acquire() is None)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(users))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sum(counts)


# -- Redis specifics -----------------------------------------------------------------------------


def test_redis_backend_uses_the_server_clock_and_one_key_per_account(redis_url: str) -> None:
    policy = PacingPolicy(max_requests_per_second=0.5)
    client = redis.Redis.from_url(redis_url)
    try:
        acme, other = RedisBackend(client, "acme", policy), RedisBackend(client, "other", policy)
        assert acme.acquire() is None
        wait = acme.acquire()
        assert wait is not None
        assert wait.reason == "rate"
        assert 1.9 < wait.seconds <= 2.0
        assert other.acquire() is None, "another account has its own budget"
        assert 0 < client.pttl(acme.key) <= 3_600_000, "an idle account's state expires"
    finally:
        client.close()


def test_an_unreachable_redis_falls_back_to_pacing_locally(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    policy = PacingPolicy(max_requests_per_second=1.0)
    dead = redis.Redis(port=free_port(), socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    backend = FallbackBackend(
        RedisBackend(dead, "acct", policy), InProcessBackend(policy, clock=clock), clock
    )
    with caplog.at_level(logging.WARNING, logger="syncd.thulium"):
        assert backend.acquire() is None
        assert_wait(backend.acquire(), 1.0, "rate")  # paced locally
        assert backend.record(429, 2.0) == "paused"
    assert sum("Redis unreachable" in r.getMessage() for r in caplog.records) == 1, "one warning per outage"
    backend.close()


def test_pacing_survives_a_redis_restart(
    redis_server: RedisServer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis goes away mid-run: this process paces alone (no error reaches the sync), and shares the
    budget again once Redis answers."""
    policy = PacingPolicy(max_requests_per_second=1.0)
    url = redis_server.db_url(redis_server.next_db())
    backend = FallbackBackend(
        RedisBackend(connect_redis(url), "acct", policy), InProcessBackend(policy, clock=clock), clock
    )
    with caplog.at_level(logging.WARNING, logger="syncd.thulium"):
        assert backend.acquire() is None
        redis_server.stop()
        try:
            assert backend.acquire() is None, "this process's own bucket is still full"
            assert_wait(backend.acquire(), 1.0, "rate")
        finally:
            redis_server.restart()
        clock.advance(REDIS_RETRY_AFTER)
        with redis_server.client(int(url.rsplit("/", 1)[1])) as direct:
            direct.hset("syncd:pacing:acct", "pause_until", "9999999999")  # a pause set by another process
        wait = backend.acquire()
        assert wait is not None, "the account's state is read from Redis again"
        assert wait.reason == "paused", "the account's state is read from Redis again"
    messages = [r.getMessage() for r in caplog.records]
    assert sum("Redis unreachable" in m for m in messages) == 1
    assert sum("Redis answers again" in m for m in messages) == 1
    backend.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_account_key_names_url_and_user_only() -> None:
    key = account_key("https://acme.thulium.com/api", "api_user")
    assert key == account_key("https://acme.thulium.com/api/", "api_user")
    assert key != account_key("https://acme.thulium.com/api", "other_user")
    assert key != account_key("https://other.thulium.com/api", "api_user")
    assert len(key) == 32
    assert "api_user" not in key


# -- the client hook, against the sandbox -----------------------------------------------------------


def test_a_429_pauses_another_client_of_the_account(
    make_client: Callable[..., ThuliumClient], control: Control
) -> None:
    account = LocalAccount()
    policy = PacingPolicy(max_requests_per_second=100.0)
    throttled = make_client(
        gate=PacingGate(InProcessBackend(policy, account)), retry=RetryPolicy(max_attempts=1)
    )
    other = make_client(gate=PacingGate(InProcessBackend(policy, account)))
    control.fault("too_many_requests", method="GET", path="outbounds", count=1, retry_after=1)
    with pytest.raises(ThuliumUnavailable):
        throttled.campaigns.all()
    other.campaigns.all()
    first, second = control.log()
    assert first["status"] == 429
    assert second["status"] == 200
    assert second["t"] >= first["t"] + 1.0, "the other client waited for the Retry-After"


def test_5xx_answers_open_the_breaker_and_then_nothing_is_sent(
    make_client: Callable[..., ThuliumClient], control: Control
) -> None:
    policy = PacingPolicy(max_requests_per_second=100.0, breaker_failures=3, breaker_cooldown=60.0)
    client = make_client(gate=PacingGate(InProcessBackend(policy), max_wait=1.0))
    control.fault("error", status=503)
    with pytest.raises(ThuliumUnavailable):
        client.campaigns.all()  # FAST_RETRY: four attempts, the breaker opens on the third
    sent = len(control.log())
    assert sent == 3, "the fourth attempt was held back by the open breaker"
    with pytest.raises(ThuliumUnavailable, match="circuit breaker is open"):
        client.campaigns.all()
    assert len(control.log()) == sent, "nothing more reached Thulium"


# -- settings and wiring ---------------------------------------------------------------------------

THULIUM: dict[str, Any] = {"url": "https://acme.thulium.com/api", "user": "api", "password_env": "PW"}


def test_pacing_settings_default_to_off_and_are_checked() -> None:
    assert ThuliumSection.model_validate(THULIUM).max_requests_per_second is None
    paced = ThuliumSection.model_validate({**THULIUM, "max_requests_per_second": 2.5, "burst": 3})
    assert (paced.max_requests_per_second, paced.burst, paced.breaker_failures) == (2.5, 3, 5)
    for bad in ({"max_requests_per_second": 0}, {"max_requests_per_second": float("nan")}):
        with pytest.raises(ValidationError):
            ThuliumSection.model_validate({**THULIUM, **bad})
    with pytest.raises(
        ValidationError, match="breaker_failures take effect only with max_requests_per_second"
    ):
        ThuliumSection.model_validate({**THULIUM, "breaker_failures": 3})


def test_wiring_paces_only_when_a_rate_is_set(tmp_path: Path) -> None:
    settings = ProcessSettings(var_dir=tmp_path, broker_url=None)
    assert pacing_gate(ThuliumSection.model_validate(THULIUM), settings) is None
    gate = pacing_gate(ThuliumSection.model_validate({**THULIUM, "max_requests_per_second": 3}), settings)
    assert gate is not None, "no broker: this process alone"
    assert isinstance(gate.backend, InProcessBackend), "no broker: this process alone"
    assert gate.backend.policy.max_requests_per_second == 3


def test_wiring_shares_the_budget_through_the_broker(tmp_path: Path, redis_url: str) -> None:
    section = ThuliumSection.model_validate({**THULIUM, "max_requests_per_second": 1})
    gates = [pacing_gate(section, ProcessSettings(var_dir=tmp_path, broker_url=redis_url)) for _ in range(2)]
    try:
        assert all(g is not None and isinstance(g.backend, FallbackBackend) for g in gates)
        first, second = (g.backend for g in gates if g is not None)
        assert first.acquire() is None
        wait = second.acquire()
        assert wait is not None, "two processes, one budget"
        assert wait.reason == "rate", "two processes, one budget"
    finally:
        for g in gates:
            if g is not None:
                g.close()


def test_wiring_falls_back_when_the_broker_is_down(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    section = ThuliumSection.model_validate({**THULIUM, "max_requests_per_second": 1})
    settings = ProcessSettings(var_dir=tmp_path, broker_url=f"redis://127.0.0.1:{free_port()}/0")
    with caplog.at_level(logging.WARNING, logger="syncd.app.runtime"):
        gate = pacing_gate(section, settings)
    assert gate is not None
    assert isinstance(gate.backend, InProcessBackend)
    assert any("unreachable" in r.getMessage() for r in caplog.records)
    assert "127.0.0.1" not in caplog.text, "the broker URL (it may hold a password) is not logged"


def test_grants_helper_counts_half_open_windows() -> None:
    """The window the scenario checks is half-open: requests exactly 1 s apart are in different ones."""
    assert busiest_second([0.0, 0.5, 1.0, 1.5]) == 2
    assert busiest_second(list(itertools.repeat(3.0, 4))) == 4
