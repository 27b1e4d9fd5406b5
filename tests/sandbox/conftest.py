"""Clients for the sandbox tests: one authenticated httpx client per test, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from syncd.sandbox.launcher import SandboxProcess


@pytest.fixture
def api(sandbox: SandboxProcess) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=sandbox.url + "/", auth=(sandbox.user, sandbox.password), timeout=5.0
    ) as client:
        yield client


def assert_error_body(resp: httpx.Response, status: int, message: str | None = None) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"request_id", "errors"}
    assert isinstance(body["request_id"], str) and len(body["request_id"]) == 13
    assert body["errors"] and all(
        set(e) == {"message", "code"} and isinstance(e["code"], int) for e in body["errors"]
    )
    if message is not None:
        assert message in [e["message"] for e in body["errors"]]
