"""Whole-request failures via the sandbox's fault injection: what is retried, what is not, how fast."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from syncd.thulium import (
    CustomerPayload,
    CustomerUpdate,
    OutcomeUnknown,
    RetryPolicy,
    ThuliumAuthError,
    ThuliumClient,
    ThuliumRejected,
    ThuliumUnavailable,
    Timeouts,
)
from syncd.thulium.status import parse_retry_after
from tests.thulium.conftest import Control
from tests.waiting import wait_until


def _api_log(control: Control, route: str, method: str) -> list[dict[str, Any]]:
    return [e for e in control.log() if e["route"] == route and e["method"] == method]


def test_400_body_parsed(client: ThuliumClient, control: Control, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="syncd.thulium")
    with pytest.raises(ThuliumRejected) as err:
        client.customers.create(
            {"name": "Anna", "email": "anna.secret@example.com", "phone_number": "601602603"}
        )
    exc = err.value
    assert exc.status_code == 400
    assert exc.messages
    assert all(isinstance(m, str) and m for m in exc.messages)
    assert exc.codes
    assert all(isinstance(c, int) for c in exc.codes)
    (entry,) = _api_log(control, "customers", "POST")
    assert exc.request_id is not None
    assert exc.request_id == entry["request_id"]
    assert exc.request_id in str(exc)
    # Logged with method, path, status and request_id — but no payload, no credentials.
    (failed,) = [r for r in caplog.records if r.getMessage() == "Thulium request failed"]
    fields = {name: getattr(failed, name) for name in ("method", "path", "status", "request_id")}
    assert fields == {"method": "POST", "path": "customers", "status": 400, "request_id": exc.request_id}
    logged = caplog.text + repr([r.__dict__ for r in caplog.records])  # the message and every field
    for secret in ("anna.secret@example.com", "601602603", "Authorization", "Basic "):
        assert secret not in logged
    assert client.request_counts() == {"POST customers": 1}


def test_401_is_a_clear_fatal_error(make_client: Callable[..., ThuliumClient], control: Control) -> None:
    client = make_client(password="not-the-password")
    with pytest.raises(ThuliumAuthError) as err:
        client.campaigns.all()
    text = str(err.value)
    assert f"API user {client.user!r}" in text
    assert "(401)" in text
    assert "password_env" in text
    assert "not-the-password" not in text
    assert len(_api_log(control, "outbounds", "GET")) == 1  # never retried


def test_429_retry_after_is_honoured(client: ThuliumClient, control: Control) -> None:
    control.fault("too_many_requests", method="GET", path="outbounds", count=1, retry_after=1)
    assert client.campaigns.all()

    first, second = _api_log(control, "outbounds", "GET")
    assert first["status"] == 429
    assert second["status"] == 200
    assert second["t"] - first["t"] >= 1.0  # the server's own clock: no retry before Retry-After
    assert client.request_counts() == {"GET outbounds": 2}


def test_retry_after_beyond_budget_gives_up_at_once(
    make_client: Callable[..., ThuliumClient], control: Control
) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=5, base_delay=0.01, max_total_delay=2.0))
    control.fault("too_many_requests", method="GET", path="outbounds", retry_after=30)
    with pytest.raises(ThuliumUnavailable) as err:
        client.campaigns.all()
    # one attempt and one request: a 30 s wait would blow the 2 s budget, so it gives up without waiting
    assert (err.value.last_status, err.value.retry_after, err.value.attempts) == (429, 30.0, 1)
    assert len(_api_log(control, "outbounds", "GET")) == 1


def test_500_on_an_update_is_retried_then_succeeds(client: ThuliumClient, control: Control) -> None:
    (created,) = client.customers.batch_create([CustomerPayload(surname="Retry", identifier="r-500")])
    assert created.customer_id is not None
    control.fault("error", method="PUT", path="batch/customers", status=500, count=2)
    results = client.customers.batch_update([CustomerUpdate(customer_id=created.customer_id, name="Anna")])
    assert [r.http_status for r in results.values()] == [204]
    assert [e["status"] for e in _api_log(control, "batch/customers", "PUT")] == [500, 500, 207]


@pytest.mark.parametrize("applied", [False, True], ids=["rolled-back", "applied"])
def test_500_on_a_create_is_an_unknown_outcome_and_never_sent_twice(
    client: ThuliumClient, control: Control, sandbox: Any, applied: bool
) -> None:
    """No rollback is promised on a 5xx: repeating the create could make a second record."""
    sandbox.control.set_readings(errors_apply_writes=applied)
    control.fault("error", method="POST", path="batch/customers", status=500, count=3)
    with pytest.raises(OutcomeUnknown) as err:
        client.customers.batch_create([CustomerPayload(surname="Once", identifier="r-500")])
    assert (err.value.status_code, err.value.identifiers) == (500, ("r-500",))
    assert [e["status"] for e in _api_log(control, "batch/customers", "POST")] == [500]
    held = [c["identifier"] for c in control.state()["customers"]]
    assert held == (["r-500"] if applied else [])
    control.fault("error", method="POST", path="companies", status=503, count=1)
    with pytest.raises(OutcomeUnknown):
        client.companies.create({"name": "ACME", "identifier": "c-503"})
    assert len(_api_log(control, "companies", "POST")) == 1


def test_a_batch_delete_keeps_its_url_under_the_bound(
    make_client: Callable[..., ThuliumClient], control: Control, sandbox: Any
) -> None:
    """700 ids do not fit one 8 KB request line: they go in as many requests as needed, none refused."""
    sandbox.control.set_readings(max_url_bytes=8192)
    client = make_client()
    created = client.customers.batch_create(
        [CustomerPayload(surname=f"D{i}", identifier=f"d-{i}") for i in range(700)]
    )
    ids = [r.customer_id for r in created if r.customer_id is not None]
    results = client.customers.batch_delete(ids)
    assert sorted(results) == sorted(ids)
    assert {r.http_status for r in results.values()} == {204}
    deletes = _api_log(control, "batch/customers", "DELETE")
    assert len(deletes) >= 2
    assert {e["status"] for e in deletes} == {207}
    assert control.state()["customers"] == []


def test_a_proxy_stricter_than_the_bound_makes_deletes_go_in_halves(
    make_client: Callable[..., ThuliumClient], control: Control, sandbox: Any
) -> None:
    sandbox.control.set_readings(max_url_bytes=2048)
    client = make_client(max_url_bytes=65536)
    created = client.customers.batch_create(
        [CustomerPayload(surname=f"H{i}", identifier=f"h-{i}") for i in range(300)]
    )
    ids = [r.customer_id for r in created if r.customer_id is not None]
    results = client.customers.batch_delete(ids)
    assert {r.http_status for r in results.values()} == {204}
    assert len(results) == 300
    statuses = [e["status"] for e in _api_log(control, "batch/customers", "DELETE")]
    assert statuses[0] == 414
    assert statuses.count(207) >= 2
    assert control.state()["customers"] == []


def test_retries_are_bounded(make_client: Callable[..., ThuliumClient], control: Control) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_total_delay=5.0))
    control.fault("error", method="GET", path="outbounds", status=503)
    with pytest.raises(ThuliumUnavailable) as err:
        client.campaigns.all()
    assert (err.value.attempts, err.value.last_status) == (3, 503)
    assert len(_api_log(control, "outbounds", "GET")) == 3


def test_unreachable_server_is_retried_then_unavailable(make_client: Callable[..., ThuliumClient]) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on: connect refused, the request never left
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = ThuliumClient(
        f"http://127.0.0.1:{port}/api/",
        "api_user",
        "x",
        retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_total_delay=1.0),
    )
    with client, pytest.raises(ThuliumUnavailable) as err:
        client.customers.create(CustomerPayload(surname="Never sent"))  # a write: safe, it never left
    assert err.value.attempts == 3
    assert err.value.last_status is None
    assert client.requests_sent == 3


def test_lost_response_after_commit_on_post_is_outcome_unknown(
    client: ThuliumClient, control: Control
) -> None:
    control.fault("lost_response", method="POST", path="customers", count=1)
    with pytest.raises(OutcomeUnknown) as err:
        client.customers.create(CustomerPayload(surname="Ghost", identifier="lost-1"))
    assert (err.value.method, err.value.path, err.value.identifiers) == ("POST", "customers", ("lost-1",))
    assert len(_api_log(control, "customers", "POST")) == 1  # not retried
    assert [c["identifier"] for c in control.state()["customers"]] == ["lost-1"]  # exactly one record
    # The engine's reconciliation path finds it.
    assert len(client.customers.find("lost-1")) == 1


def test_lost_response_on_batch_write_is_outcome_unknown(client: ThuliumClient, control: Control) -> None:
    control.fault("lost_response", method="POST", path="batch/customers", count=1)
    with pytest.raises(OutcomeUnknown) as err:
        client.customers.batch_create(
            [CustomerPayload(surname="A", identifier="lb-1"), CustomerPayload(surname="B", identifier="lb-2")]
        )
    assert err.value.identifiers == ("lb-1", "lb-2")
    assert len(_api_log(control, "batch/customers", "POST")) == 1
    assert sorted(c["identifier"] for c in control.state()["customers"]) == ["lb-1", "lb-2"]


def test_gateway_timeout_on_write_is_outcome_unknown(client: ThuliumClient, control: Control) -> None:
    control.fault("error", method="PUT", path="batch/customers", status=504, count=1)
    with pytest.raises(OutcomeUnknown) as err:
        client.customers.batch_update([CustomerUpdate(customer_id=1, name="x")])
    assert (err.value.status_code, err.value.identifiers) == (504, ("1",))
    assert len(_api_log(control, "batch/customers", "PUT")) == 1


def test_write_read_timeout_is_outcome_unknown(
    make_client: Callable[..., ThuliumClient], control: Control
) -> None:
    client = make_client(timeouts=Timeouts(connect=2.0, read=0.3, write=2.0, pool=2.0))
    control.fault("slow", method="POST", path="customers", delay_ms=1500, count=1)
    with pytest.raises(OutcomeUnknown):
        client.customers.create(CustomerPayload(surname="Slow", identifier="slow-1"))
    assert len(_api_log(control, "customers", "POST")) == 1
    # the write was applied although its answer never arrived
    identifiers = lambda: [c["identifier"] for c in control.state()["customers"]]  # noqa: E731
    assert wait_until("the slowed create to be applied", identifiers) == ["slow-1"]


def test_get_retried_after_dropped_connection(client: ThuliumClient, control: Control) -> None:
    cid = client.customers.create(CustomerPayload(surname="Reader"))
    control.fault("lost_response", method="GET", path="customers/*", count=1)
    assert client.customers.get(cid).surname == "Reader"
    assert [e["status"] for e in _api_log(control, "customers/:id", "GET")] == [None, 200]


def test_get_with_a_truncated_body_is_read_again(client: ThuliumClient, control: Control) -> None:
    client.customers.create(CustomerPayload(surname="Reader", identifier="trunc-1"))
    control.fault("malformed_207", method="GET", path="customers", count=1)
    assert [c.surname for c in client.customers.page(identifier="trunc-1")] == ["Reader"]
    assert [e["status"] for e in _api_log(control, "customers", "GET")] == [200, 200]


def test_get_retried_after_read_timeout(make_client: Callable[..., ThuliumClient], control: Control) -> None:
    client = make_client(timeouts=Timeouts(connect=2.0, read=0.3, write=2.0, pool=2.0))
    control.fault("hang", method="GET", path="outbounds", delay_ms=1000, count=1)
    assert client.campaigns.all()
    assert len(_api_log(control, "outbounds", "GET")) == 2


def test_malformed_207_gives_unknown_items(client: ThuliumClient, control: Control) -> None:
    control.fault("malformed_207", method="POST", path="batch/customers", count=1)
    results = client.customers.batch_create(
        [CustomerPayload(surname="M1", identifier="m-1"), CustomerPayload(surname="M2", identifier="m-2")]
    )
    assert [r.key for r in results] == ["0", "1"]
    assert all(r.http_status is None and r.unknown for r in results)
    assert all(r.message and "unknown" in r.message for r in results)
    # They were applied: unknown means "reconcile", not "failed".
    assert len(control.state()["customers"]) == 2


def test_partial_207_marks_missing_items_unknown(client: ThuliumClient, control: Control) -> None:
    a = client.customers.create(CustomerPayload(surname="A"))
    b = client.customers.create(CustomerPayload(surname="B"))
    control.fault("partial_207", method="PUT", path="batch/customers", item_probability=0.0, count=1)
    results = client.customers.batch_update(
        [CustomerUpdate(customer_id=a, name="a"), CustomerUpdate(customer_id=b, name="b")]
    )
    assert results[a].http_status == 204  # the sandbox drops at least the last key
    assert results[b].http_status is None
    assert "missing" in (results[b].message or "")
    assert results[b].customer_id == b


def test_item_503_inside_207_is_reported_not_retried(client: ThuliumClient, control: Control) -> None:
    cid = client.customers.create(CustomerPayload(surname="Busy"))
    control.fault("item_unavailable", method="DELETE", path="batch/customers", count=1)
    results = client.customers.batch_delete([cid])
    assert results[cid].http_status == 503
    assert len(_api_log(control, "batch/customers", "DELETE")) == 1  # item retries are the engine's job


def test_request_gate_sees_every_attempt(make_client: Callable[..., ThuliumClient], control: Control) -> None:
    seen: list[tuple[str, str]] = []
    lock = threading.Lock()

    class Gate:
        def before_request(self, method: str, path: str) -> None:
            with lock:
                seen.append((method, path))

    client = make_client(gate=Gate())
    control.fault("error", method="GET", path="outbounds", status=502, count=1)
    client.campaigns.all()
    assert seen == [("GET", "outbounds"), ("GET", "outbounds")]
    assert client.request_counts() == {"GET outbounds": 2}


def test_parse_retry_after_forms() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=7), usegmt=True), now=now) == 7.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=7), usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_a_4xx_that_is_not_thuliums_is_a_gateway_error_not_a_verdict_on_the_items() -> None:
    """An HTML 400 from a proxy says nothing about the customers it carried: the run must stop with the
    reason instead of filing every item as refused."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from syncd.thulium import ThuliumGatewayError
    from syncd.thulium.crm import ThuliumCrm

    class Proxy(BaseHTTPRequestHandler):
        def do_DELETE(self) -> None:
            body = b"<html><body><h1>400 Bad Request</h1></body></html>"
            self.send_response(400)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/api/"
    try:
        with ThuliumClient(
            url, "api_user", "x", retry=RetryPolicy(max_attempts=2, base_delay=0.01)
        ) as client:
            with pytest.raises(ThuliumGatewayError) as err:
                client.customers.batch_delete([13, 14])
            assert err.value.status_code == 400
            assert "text/html" in str(err.value)
            with pytest.raises(ThuliumGatewayError):
                ThuliumCrm(client).delete("customers", [13, 14])
            assert client.requests_sent == 2  # not retried
    finally:
        server.shutdown()
        server.server_close()
