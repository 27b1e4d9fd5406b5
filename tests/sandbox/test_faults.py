"""Each fault kind, made certain with probability 1.0, plus determinism of the random ones."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from syncd.sandbox import FaultConfig, FaultRule, SandboxProcess
from tests.sandbox.conftest import assert_error_body


def test_error_before_apply_scoped_and_counted(api: httpx.Client, sandbox: SandboxProcess) -> None:
    sandbox.control.add_fault("error", method="POST", path="batch/customers", count=1)
    resp = api.post("batch/customers", json={"customers": [{"surname": "A"}]})
    assert_error_body(resp, 500)
    assert api.get("customers").json() == []  # not applied; GET not affected
    assert (
        api.post("batch/customers", json={"customers": [{"surname": "A"}]}).status_code == 207
    )  # count exhausted
    assert sandbox.control.fault_state()["rules"][0]["fired"] == 1


def test_too_many_requests_with_retry_after(api: httpx.Client, sandbox: SandboxProcess) -> None:
    sandbox.control.add_fault("too_many_requests", retry_after=7, count=1)
    resp = api.get("customers")
    assert_error_body(resp, 429)
    assert resp.headers["Retry-After"] == "7"
    assert api.get("customers").status_code == 200


def test_token_bucket_rate_limit(api: httpx.Client, sandbox: SandboxProcess) -> None:
    sandbox.control.set_rate_limit(rps=1, burst=2)
    codes = [api.get("customers").status_code for _ in range(4)]
    assert codes[:2] == [200, 200]
    assert 429 in codes[2:]
    limited = next(r for r in (api.get("customers"),) if r.status_code == 429)
    assert int(limited.headers["Retry-After"]) >= 1


def test_item_unavailable_is_not_applied(api: httpx.Client, sandbox: SandboxProcess) -> None:
    sandbox.control.add_fault("item_unavailable", method="POST", path="batch/customers", item_probability=1.0)
    body = api.post("batch/customers", json={"customers": [{"surname": "A"}, {"surname": "B"}]}).json()
    assert body == {
        "0": {"http_status": 503, "message": "Service temporarily unavailable."},
        "1": {"http_status": 503, "message": "Service temporarily unavailable."},
    }
    assert api.get("customers").json() == []


def test_lost_response_after_commit(api: httpx.Client, sandbox: SandboxProcess) -> None:
    sandbox.control.add_fault("lost_response", method="POST", path="customers", count=1)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        api.post("customers", json={"surname": "Ghost"})
    assert [c["surname"] for c in api.get("customers").json()] == ["Ghost"]  # applied
    entry = next(e for e in sandbox.control.log() if e["route"] == "customers" and e["method"] == "POST")
    assert entry["status"] is None
    assert entry["faults"] == ["lost_response"]


def test_hang_times_out_client(sandbox: SandboxProcess) -> None:
    sandbox.control.add_fault("hang", path="customers", count=1)
    with httpx.Client(auth=(sandbox.user, sandbox.password), timeout=0.3) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.get(sandbox.url + "/customers")
        assert client.get(sandbox.url + "/customers").status_code == 200


def test_slow_applies_then_delays(api: httpx.Client, sandbox: SandboxProcess) -> None:
    sandbox.control.add_fault("slow", method="POST", delay_ms=300, count=1)
    started = time.monotonic()
    assert api.post("customers", json={"surname": "S"}).status_code == 201
    assert time.monotonic() - started >= 0.3


def test_malformed_and_partial_207(api: httpx.Client, sandbox: SandboxProcess) -> None:
    sandbox.control.add_fault("malformed_207", path="batch/customers", count=1)
    resp = api.post("batch/customers", json={"customers": [{"surname": "A"}]})
    assert resp.status_code == 207
    with pytest.raises(json.JSONDecodeError):
        resp.json()
    sandbox.control.add_fault("partial_207", path="batch/customers", count=1, item_probability=0.0)
    resp = api.post("batch/customers", json={"customers": [{"surname": "B"}, {"surname": "C"}]})
    assert resp.status_code == 207
    assert list(resp.json()) == ["0"]
    assert len(api.get("customers").json()) == 3  # everything applied


def test_latency(api: httpx.Client, sandbox: SandboxProcess) -> None:
    sandbox.control.set_latency(150)
    started = time.monotonic()
    api.get("customers")
    assert time.monotonic() - started >= 0.15


def _pattern(sandbox: SandboxProcess, api: httpx.Client, seed: int) -> list[int]:
    sandbox.control.set_faults(FaultConfig(seed=seed, rules=[FaultRule("error", probability=0.5)]))
    return [api.get("outbounds").status_code for _ in range(20)]


def test_deterministic_given_seed(api: httpx.Client, sandbox: SandboxProcess) -> None:
    first, again, other = _pattern(sandbox, api, 42), _pattern(sandbox, api, 42), _pattern(sandbox, api, 43)
    assert first == again
    assert 500 in first
    assert 200 in first
    assert first != other


def test_startup_faults_survive_reset() -> None:
    faults = {"rules": [{"kind": "error", "method": "DELETE", "path": "customers/*", "status": 503}]}
    with SandboxProcess(faults=faults, latency_ms=1) as sb, httpx.Client(auth=(sb.user, sb.password)) as c:
        sb.control.reset()
        cid = c.post(sb.url + "/customers", json={"surname": "K"}).json()["customer_id"]
        assert_error_body(c.delete(f"{sb.url}/customers/{cid}"), 503)
        assert sb.control.fault_state()["latency_ms"] == 1
        sb.control.reset(startup_faults=False)
        assert sb.control.fault_state()["rules"] == []
