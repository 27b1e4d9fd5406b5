"""Helpers for the client tests: a client pointed at the sandbox and a thin wrapper over the sandbox's HTTP
control API (``/_sandbox/…``, see syncd/sandbox/README.md) for faults, state and the request log."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from syncd.thulium import RetryPolicy, ThuliumClient, Timeouts

FAST_RETRY = RetryPolicy(
    max_attempts=4, base_delay=0.01, max_backoff=0.05, max_total_delay=5.0, rng=random.Random(7)
)


class Control:
    """The sandbox's control endpoints over plain HTTP (no auth, not counted in the API log)."""

    def __init__(self, root: str) -> None:
        self.root = root.rstrip("/")
        self._http = httpx.Client(base_url=self.root, timeout=10.0)

    def close(self) -> None:
        self._http.close()

    def _ok(self, response: httpx.Response) -> Any:
        response.raise_for_status()
        return response.json() if response.content else None

    def fault(self, kind: str, *, method: str = "*", path: str = "*", **extra: Any) -> None:
        rule = {"kind": kind, "method": method, "path": path, **extra}
        self._ok(self._http.post("/_sandbox/faults/rules", json=rule))

    def clear_faults(self) -> None:
        self._ok(self._http.delete("/_sandbox/faults"))

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self._ok(self._http.get("/_sandbox/state"))
        return result

    def log(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._ok(self._http.get("/_sandbox/log"))
        return result

    def dialer(self, outbound_id: str, customer_id: int, **fields: Any) -> None:
        self._ok(self._http.patch(f"/_sandbox/records/{outbound_id}/{customer_id}", json=fields))

    def add_connections(self, connections: list[dict[str, Any]]) -> None:
        self._ok(self._http.post("/_sandbox/connections", json={"connections": connections}))


def _root_and_api(url: str) -> tuple[str, str]:
    base = url.rstrip("/")
    root = base[: -len("/api")] if base.endswith("/api") else base
    return root, root + "/api/"


@pytest.fixture
def control(sandbox: Any) -> Iterator[Control]:
    root, _ = _root_and_api(str(sandbox.url))
    ctl = Control(root)
    ctl.clear_faults()
    yield ctl
    ctl.clear_faults()
    ctl.close()


@pytest.fixture
def make_client(sandbox: Any) -> Iterator[Callable[..., ThuliumClient]]:
    """Clients with fast retries by default; every one made is closed after the test."""
    _, api = _root_and_api(str(sandbox.url))
    made: list[ThuliumClient] = []

    def make(**kwargs: Any) -> ThuliumClient:
        kwargs.setdefault("retry", FAST_RETRY)
        kwargs.setdefault("timeouts", Timeouts(connect=2.0, read=5.0, write=5.0, pool=2.0))
        user = kwargs.pop("user", sandbox.user)
        password = kwargs.pop("password", sandbox.password)
        client = ThuliumClient(api, user, password, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., ThuliumClient]) -> ThuliumClient:
    return make_client()
