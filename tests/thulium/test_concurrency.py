"""The concurrency limit of ``max_in_flight = "auto"`` (syncd/thulium/concurrency.py).

First the pure decision, table by table; then the request gate on a fake clock (waves of requests on real
threads, each wave answered when the test moves the clock); then the sharing: two clients of one account,
in this process and through a real Redis (two connections, as two processes would have); then the gate
in the client against the sandbox with a server capacity.
"""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path

import pytest
import redis

from syncd.app.runtime import concurrency_limit, limit_store
from syncd.sandbox import SandboxProcess
from syncd.settings import ProcessSettings, TenantFile
from syncd.thulium import RetryPolicy, ThuliumClient
from syncd.thulium.concurrency import (
    AdaptiveLimit,
    Gates,
    InProcessLimits,
    LimitPolicy,
    LimitState,
    LimitStore,
    Window,
    decide,
    local_limits,
    route_of,
)
from syncd.thulium.pacing import InProcessBackend, PacingGate, PacingPolicy
from syncd.thulium.shared_pacing import FallbackLimits, RedisLimits

POLICY = LimitPolicy(cap=16)
ROUTE = "POST batch/customers"


def window(*seconds: float, route: str = ROUTE, busy: bool = True, throttled: bool = False) -> Window:
    w = Window(busy=busy, throttled=throttled)
    for s in seconds:
        w.add(route, s)
    return w


def state(limit: float, slow_start: bool = True, floor: float = 0.1, queued: int = 0) -> LimitState:
    return LimitState(limit, slow_start, {ROUTE: floor}, queued)


# -- the decision --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("before", "seen", "after"),
    [
        (state(4), window(0.1, 0.12, 0.11), state(8)),  # slow start: latency holds, the limit doubles
        (state(4, False), window(0.1, 0.12, 0.11), state(5, False)),  # then one more per window
        (state(4), window(0.1, 0.1, 0.1, busy=False), state(4)),  # not used: nothing learnt
        (state(12), window(0.1, 0.1, 0.1), state(16)),  # never past the cap
        (state(8), window(0.15, 0.15, 0.15), state(8, False)),  # a short queue: hold, slow start over
        (state(8), window(0.3, 0.3, 0.3), state(8, False, queued=1)),  # every answer 3x: a stall, or...
        (state(8, False, queued=1), window(0.3, 0.3, 0.3), state(4, False)),  # ...a queue: halve
        (state(8, False, queued=1), window(0.1, 0.3, 0.3), state(8, False)),  # one quick answer: no queue
        (state(8), window(0.1, throttled=True), state(4, False)),  # a 429: halve at once
        (state(1.5, False), window(throttled=True), state(1, False)),  # never below one
        (state(8), Window(busy=True), state(8)),  # no answer to judge by: hold
    ],
)
def test_the_decision(before: LimitState, seen: Window, after: LimitState) -> None:
    assert decide(before, POLICY, seen) == after


def test_an_endpoint_seen_for_the_first_time_only_sets_its_floor() -> None:
    seen = window(0.5, 0.5, 0.5, route="GET customers")
    after = decide(state(4), POLICY, seen)
    assert after == LimitState(4, True, {ROUTE: 0.1, "GET customers": 0.5})


def test_floors_are_the_lowest_latency_per_endpoint() -> None:
    seen = window(0.08, 0.2)
    seen.add("GET customers", 0.01)
    after = decide(LimitState(4, True, {ROUTE: 0.1, "GET customers": 0.02}), POLICY, seen)
    assert after.floors == {ROUTE: 0.08, "GET customers": 0.01}
    # against their own floors: (0.08 + 0.2) / 0.08 and 0.01 / 0.01 -> (1 + 2.5 + 1) / 3 = 1.5: hold
    assert after.limit == 4
    assert not after.slow_start


def test_at_one_request_a_slow_server_raises_the_floor_instead() -> None:
    """With one request out nothing of ours is queued: latency that stays high is the server's new floor,
    not a queue to drain, so the limit can grow again once the floor has caught up."""
    current, windows = state(1, False), 0
    while current.limit == 1 and windows < 20:
        current = decide(current, POLICY, window(0.4, 0.4, 0.4))
        windows += 1
    assert current.limit == 2
    assert windows <= 8
    assert current.floors[ROUTE] > 0.4 / POLICY.grow_below


def test_routes_name_endpoints_not_records() -> None:
    assert route_of("PUT", "customers/123") == "PUT customers/:id"
    assert route_of("GET", "crm_outbounds/00001/records/77") == "GET crm_outbounds/:id/records/:id"
    assert route_of("POST", "batch/customers") == ROUTE


def test_a_policy_that_cannot_work_is_refused() -> None:
    for bad in ({"initial": 0}, {"cap": 4, "initial": 8}, {"grow_below": 2.5}, {"backoff": 1.0}):
        with pytest.raises(ValueError, match=r"must|need"):
            LimitPolicy(**bad)


# -- the gate ------------------------------------------------------------------------------------
class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def wave(gate: AdaptiveLimit, clock: FakeClock, n: int, seconds: float, status: int = 200) -> None:
    """``n`` requests out together on threads of their own, answered ``seconds`` later (fake time)."""
    sent, answer = threading.Barrier(n + 1), threading.Barrier(n + 1)

    def one() -> None:
        gate.before_request("POST", "batch/customers")
        sent.wait()
        answer.wait()
        gate.after_response(status, None)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for thread in threads:
        thread.start()
    sent.wait()
    clock.now += seconds
    answer.wait()
    for thread in threads:
        thread.join()


def gate_on(store: LimitStore, clock: FakeClock, policy: LimitPolicy = POLICY) -> AdaptiveLimit:
    """Connected already, so ``current()`` is the store's limit before the first wave goes."""
    gate = AdaptiveLimit(lambda: store, policy, clock=clock)
    gate.store()
    return gate


def test_the_limit_doubles_to_the_cap_then_a_queue_and_a_429_cut_it() -> None:
    clock = FakeClock()
    gate = gate_on(InProcessLimits(), clock)
    seen = [gate.current()]
    while gate.current() < POLICY.cap and len(seen) < 20:
        wave(gate, clock, gate.current(), 0.1)
        seen.append(gate.current())
    assert sorted(set(seen)) == [1, 2, 4, 8, 16], "a slow start: a big capacity in a few round trips"
    assert len(seen) <= 12
    wave(gate, clock, 16, 0.3)  # three times the floor: a queue building, or this process stalled
    assert gate.current() == 16
    wave(gate, clock, 16, 0.3)  # again: a queue
    assert gate.current() == 8
    wave(gate, clock, 1, 0.1, status=429)
    assert gate.current() == 4


def test_a_429_of_a_request_sent_before_the_cut_is_not_cut_again() -> None:
    clock = FakeClock()
    gate = gate_on(InProcessLimits(state(8, False)), clock)
    gate.before_request("GET", "customers")
    early = threading.Thread(target=gate.before_request, args=("GET", "customers"))
    early.start()
    early.join()  # its thread holds a request sent before the cut below
    wave(gate, clock, 1, 0.1, status=429)
    assert gate.current() == 4
    gate.after_response(429, None)  # sent before the cut: old news
    assert gate.current() == 4


def test_requests_wait_while_the_limit_is_out() -> None:
    clock = FakeClock()
    gate = gate_on(InProcessLimits(state(1, False)), clock)
    gate.before_request("GET", "customers")
    entered = threading.Event()

    def second() -> None:
        gate.before_request("GET", "customers")
        entered.set()
        gate.after_response(200, None)

    thread = threading.Thread(target=second)
    thread.start()
    assert not entered.wait(0.2), "a second request waits while one is out at limit 1"
    gate.after_response(200, None)
    thread.join()
    assert entered.is_set()


def test_an_attempt_that_never_got_an_answer_gives_its_slot_back() -> None:
    """The client calls ``after_response`` for every answered attempt; one that raised before it could
    (a closed client) must not hold a slot forever: the thread's next request frees it."""
    clock = FakeClock()
    gate = gate_on(InProcessLimits(state(1, False)), clock)
    gate.before_request("GET", "customers")
    gate.before_request("GET", "customers")  # would wait forever if the first still held the slot
    gate.after_response(200, None)


def test_nothing_is_looked_up_before_the_first_request() -> None:
    built: list[LimitStore] = []

    def connect() -> LimitStore:
        built.append(InProcessLimits(state(6, False)))
        return built[-1]

    gate = AdaptiveLimit(connect, POLICY)
    assert gate.current() == POLICY.initial
    assert not built
    gate.before_request("GET", "customers")
    assert gate.current() == 6
    assert len(built) == 1
    gate.after_response(200, None)


def test_gates_pace_first_and_both_learn() -> None:
    clock = FakeClock()
    pacing = PacingGate(InProcessBackend(PacingPolicy()))
    limit = gate_on(InProcessLimits(state(8, False)), clock)
    both = Gates(pacing, limit)
    both.before_request("GET", "customers")
    both.after_response(429, 3.0)
    assert limit.current() == 4
    assert pacing.backend.acquire() is not None, "the pacing gate paused the account too"
    both.close()


# -- shared by every client of one account -------------------------------------------------------
def test_two_clients_of_one_account_in_one_process_share_a_limit() -> None:
    clock = FakeClock()
    first = gate_on(local_limits("acct-shared-local", POLICY), clock)
    while first.current() < 8 and clock.now < 110:
        wave(first, clock, first.current(), 0.1)
    assert first.current() >= 8
    second = AdaptiveLimit(lambda: local_limits("acct-shared-local", POLICY), POLICY, clock=clock)
    second.before_request("GET", "customers")
    assert second.current() == first.current()
    second.after_response(200, None)
    assert local_limits("another-account", POLICY).load().limit == POLICY.initial


def test_two_processes_of_one_account_share_a_limit_through_redis(redis_url: str) -> None:
    clock = FakeClock()
    initial = LimitState(1.0)
    a_store = RedisLimits(redis.Redis.from_url(redis_url), "acct", initial)
    b_store = RedisLimits(redis.Redis.from_url(redis_url), "acct", initial)
    a = gate_on(a_store, clock)
    while a.current() < 8 and clock.now < 110:
        wave(a, clock, a.current(), 0.1)
    learnt = a.current()
    b = AdaptiveLimit(lambda: b_store, POLICY, clock=clock)  # a process started after ``a`` learnt
    assert learnt >= 8
    b.before_request("GET", "customers")
    assert b.current() == learnt, "the second process starts from what the first learnt"
    b.after_response(200, None)
    wave(b, clock, 1, 0.1, status=429)
    assert b.current() == learnt // 2
    wave(a, clock, 1, 0.1, status=429)  # decided on b's cut, not on a's stale view of the limit
    assert a.current() == learnt // 4
    assert RedisLimits(redis.Redis.from_url(redis_url), "other", initial).load() == initial
    a.close()
    b.close()


def test_redis_keeps_the_floors_and_the_phase(redis_url: str) -> None:
    store = RedisLimits(redis.Redis.from_url(redis_url), "acct", LimitState(1.0))
    seen = window(0.08, 0.09)
    seen.add("GET customers", 0.01)
    written = store.apply(POLICY, seen)
    again = RedisLimits(redis.Redis.from_url(redis_url), "acct", LimitState(1.0)).load()
    assert again == written == LimitState(1.0, True, {ROUTE: 0.08, "GET customers": 0.01})
    seen = window(0.3, 0.3, 0.3)
    assert store.apply(POLICY, seen).queued == 1
    assert RedisLimits(redis.Redis.from_url(redis_url), "acct", LimitState(1.0)).load().queued == 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_an_unreachable_redis_leaves_the_process_its_own_limit(caplog: pytest.LogCaptureFixture) -> None:
    dead = redis.Redis(port=free_port(), socket_connect_timeout=0.5)
    local = InProcessLimits(state(4))
    store = FallbackLimits(RedisLimits(dead, "acct", LimitState(1.0)), local)
    with caplog.at_level(logging.WARNING, logger="syncd.thulium"):
        assert store.load() == state(4)
        assert store.apply(POLICY, window(0.1, 0.1, 0.1)).limit == 8
    assert sum("Redis unreachable" in r.getMessage() for r in caplog.records) == 1


# -- wiring --------------------------------------------------------------------------------------
def tenant_file(**sync: object) -> TenantFile:
    return TenantFile.model_validate(
        {
            "thulium": {"url": "https://acme.thulium.com/api", "user": "api", "password_env": "PW"},
            "source": {"url": "sqlite://"},
            "customers": {"table": "c", "key": "id", "updated_at": "u", "fields": {"surname": "s"}},
            "sync": sync,
        }
    )


def test_auto_is_the_default_and_a_number_means_fixed(tmp_path: Path) -> None:
    settings = ProcessSettings(var_dir=tmp_path)
    limit = concurrency_limit(tenant_file(), settings)
    assert limit is not None
    assert limit.policy.cap == 16
    capped = concurrency_limit(tenant_file(max_in_flight_cap=32), settings)
    assert capped is not None
    assert capped.policy.cap == 32
    assert concurrency_limit(tenant_file(max_in_flight=4), settings) is None


def test_wiring_shares_the_limit_through_the_broker(tmp_path: Path, redis_url: str) -> None:
    settings = ProcessSettings(var_dir=tmp_path, broker_url=redis_url)
    store = limit_store("acct", POLICY, settings)
    assert isinstance(store, FallbackLimits)
    store.close()
    alone = limit_store("acct", POLICY, ProcessSettings(var_dir=tmp_path))
    assert isinstance(alone, InProcessLimits), "no broker on this machine: this process alone"


# -- in the client, against a server of limited capacity -----------------------------------------
@pytest.fixture
def small_server(sandbox: SandboxProcess) -> SandboxProcess:
    sandbox.control.set_capacity(2, queue_limit=100)
    sandbox.control.set_latency(20)
    return sandbox


def client_with(gate: AdaptiveLimit, sandbox: SandboxProcess) -> ThuliumClient:
    return ThuliumClient(
        sandbox.url, sandbox.user, sandbox.password, gate=gate, max_connections=16, retry=RetryPolicy()
    )


def send_from_threads(client: ThuliumClient, threads: int, each: int) -> None:
    def work() -> None:
        for _ in range(each):
            client.customers.find("nobody")

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def test_against_a_server_of_two_the_limit_stays_near_two(small_server: SandboxProcess) -> None:
    """16 threads would keep 16 requests out; the server serves 2 at once. The limit finds the queue
    (latency climbing) and stays far below the threads: the server's queue never holds them all."""
    gate = AdaptiveLimit(InProcessLimits, LimitPolicy(cap=16))
    with client_with(gate, small_server) as client:
        send_from_threads(client, threads=16, each=12)
    stats = small_server.control.capacity()
    assert stats["rejected"] == 0
    assert 1 <= gate.current() <= 6, gate.current()
    assert stats["peak_waiting"] < 14, "the queue never held every thread's request"
