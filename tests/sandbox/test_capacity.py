"""The sandbox's server capacity (syncd/sandbox/thulium/capacity.py), over real HTTP: K requests served at
once, the next ones queued in order, a 429 with Retry-After past the queue, and the slots given back when
a client hangs up.

Slots are held by requests a ``slow`` fault keeps open, sent on raw sockets so the test decides when each
ends (by closing it); every wait is on the sandbox's own count of what it serves and queues.
"""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from syncd.sandbox import FaultConfig, SandboxProcess
from syncd.sandbox.thulium.capacity import CapacityLimit
from tests.sandbox.conftest import assert_error_body
from tests.waiting import wait_until

HOLD_MS = 600_000  # a slow request holds its slot until its client hangs up


@contextmanager
def raw_get(sandbox: SandboxProcess, path: str) -> Iterator[socket.socket]:
    """A GET on a socket of its own, left open (and unread) until the ``with`` ends."""
    host, port = sandbox.base_url.removeprefix("http://").split(":")
    token = base64.b64encode(f"{sandbox.user}:{sandbox.password}".encode()).decode()
    sock = socket.create_connection((host, int(port)))
    try:
        request = f"GET /api/{path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {token}\r\n\r\n"
        sock.sendall(request.encode())
        yield sock
    finally:
        sock.close()


def status_line(sock: socket.socket) -> str:
    sock.settimeout(60)  # a bound for a broken test only: the answer comes as soon as a slot does
    return sock.recv(64).decode().split("\r\n", 1)[0]


def capacity(sandbox: SandboxProcess) -> dict[str, Any]:
    return sandbox.control.capacity()


def test_capacity_serves_k_queues_the_next_and_refuses_past_the_queue(
    api: httpx.Client, sandbox: SandboxProcess
) -> None:
    sandbox.control.set_capacity(2, queue_limit=1, retry_after=3)
    sandbox.control.add_fault("slow", method="GET", path="customers", delay_ms=HOLD_MS, count=2)
    with raw_get(sandbox, "customers") as first, raw_get(sandbox, "customers") as second:
        wait_until("two requests served", lambda: capacity(sandbox)["serving"] == 2)
        with raw_get(sandbox, "customers") as third:
            wait_until("the third request queued", lambda: capacity(sandbox)["waiting"] == 1)
            refused = api.get("customers")
            assert_error_body(refused, 429, "Too many requests.")
            assert refused.headers["Retry-After"] == "3"
            first.close()  # its slot goes to the request that waited
            assert status_line(third) == "HTTP/1.1 200 OK"
            assert capacity(sandbox)["waiting"] == 0
        second.close()
    state = wait_until("every slot given back", lambda: (c := capacity(sandbox))["serving"] == 0 and c)
    assert {k: state[k] for k in ("served", "queued", "rejected", "peak_serving", "peak_waiting")} == {
        "served": 3,
        "queued": 1,
        "rejected": 1,
        "peak_serving": 2,
        "peak_waiting": 1,
    }
    assert [e["faults"] for e in sandbox.control.log() if e["status"] == 429] == [["capacity"]]


def test_a_waiting_request_whose_client_hangs_up_leaves_the_queue(
    api: httpx.Client, sandbox: SandboxProcess
) -> None:
    sandbox.control.set_capacity(1, queue_limit=1)
    sandbox.control.add_fault("slow", method="GET", path="customers", delay_ms=HOLD_MS, count=1)
    with raw_get(sandbox, "customers") as holder:
        wait_until("one request served", lambda: capacity(sandbox)["serving"] == 1)
        with raw_get(sandbox, "customers"):
            wait_until("one queued", lambda: capacity(sandbox)["waiting"] == 1)
        wait_until("the queue empty again", lambda: capacity(sandbox)["waiting"] == 0)
        holder.close()
        wait_until("the slot given back", lambda: capacity(sandbox)["serving"] == 0)
    assert api.get("customers").status_code == 200


def test_no_capacity_by_default_and_none_switches_it_off(api: httpx.Client, sandbox: SandboxProcess) -> None:
    assert capacity(sandbox)["limit"] is None
    sandbox.control.set_capacity(1, queue_limit=0)
    assert capacity(sandbox)["limit"] == {"limit": 1, "queue_limit": 0, "retry_after": 1}
    sandbox.control.set_capacity(None)
    assert capacity(sandbox)["limit"] is None
    assert api.get("customers").status_code == 200


def test_bad_capacity_settings_are_refused(sandbox: SandboxProcess) -> None:
    for bad in ({"limit": 0}, {"limit": 2, "queue_limit": -1}, {"limit": 2, "queue": 3}):
        resp = httpx.put(f"{sandbox.base_url}/_sandbox/faults", json={"capacity": bad})
        assert resp.status_code == 400, bad
    assert capacity(sandbox)["limit"] is None


def test_capacity_round_trips_through_the_fault_configuration() -> None:
    config = FaultConfig(latency_ms=20, capacity=CapacityLimit(8, queue_limit=4, retry_after=2))
    assert FaultConfig.from_json(config.to_json()) == config
    assert CapacityLimit(8).queue == 8, "by default as many may wait as are served"
    with pytest.raises(ValueError, match="at least 1"):
        CapacityLimit(0)


def test_the_command_line_capacity_survives_a_reset() -> None:
    with SandboxProcess(capacity=3, queue_limit=0) as sb:
        sb.control.reset()
        assert sb.control.capacity()["limit"] == {"limit": 3, "queue_limit": 0, "retry_after": 1}
