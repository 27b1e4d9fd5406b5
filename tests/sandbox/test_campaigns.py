"""Outbounds, crm_outbounds (single + batch), connections: envelopes, limits and dialer quirks."""

from __future__ import annotations

import httpx
import pytest

from syncd.sandbox import SandboxProcess
from tests.sandbox.conftest import assert_error_body


def _customer(api: httpx.Client, phone: str = "555") -> int:
    return int(api.post("customers", json={"surname": "K", "phone_number": phone}).json()["customer_id"])


def test_outbounds_shapes(api: httpx.Client) -> None:
    obs = api.get("outbounds").json()
    assert [(o["id"], o["crm"]) for o in obs] == [("00001", True), ("00002", True), ("00003", False)]
    assert set(obs[0]) == {"id", "name", "crm", "order", "parity"}
    statuses = api.get("outbounds/00001/statuses").json()
    assert {s["system_status"] for s in statuses} >= {
        "TO_CALL",
        "IN_PROGRESS",
        "CALL",
        "MY_RECORD",
        "NO_CALL",
        "ABANDONED_AFTER_N_TRIES",
        "CALL_NO_SOONER_THAN",
        "CALL_PROGRESSIVE",
    }
    assert all(isinstance(s["status_id"], str) for s in statuses)
    assert api.get("outbounds/00001/stats").json() == {
        "id": "00001",
        "records_count": 0,
        "completion_percent": 0,
    }
    resp = api.post("outbounds", json={"name": "New", "dialer": "preview", "crm": True})
    assert resp.status_code == 201
    assert resp.json()["id"] == "00004"
    assert isinstance(resp.json()["outbound_id"], str)
    assert_error_body(api.post("outbounds", json={"name": "X", "dialer": "robot", "crm": True}), 400)
    assert_error_body(api.get("outbounds/99999/statuses"), 404)


def test_add_record_and_read_back(api: httpx.Client) -> None:
    cid = _customer(api, "5555")
    resp = api.post("crm_outbounds/00001/records", json={"customer_id": cid, "status_id": 3})
    assert resp.status_code == 201
    assert list(resp.json()) == ["record_id"]
    assert isinstance(resp.json()["record_id"], str)
    listed = api.get("crm_outbounds/00001/records").json()
    assert set(listed) == {"count", "result"}
    assert listed["count"] == 1
    rec = listed["result"][0]
    assert rec["record_id"] == int(resp.json()["record_id"])
    assert rec["customer_id"] == cid
    assert rec["status_id"] == 3
    assert rec["system_status"] == "CALL"
    assert rec["phone_number"] == "5555"
    assert rec["order"] == ""
    assert rec["next_call_date"] == ""
    assert api.get(f"crm_outbounds/00001/records/{cid}").json() == rec
    with_customer = api.get("crm_outbounds/00001/records", params={"include_customer": "true"}).json()
    assert with_customer["result"][0]["customer"]["customer_id"] == cid


def test_record_validation(api: httpx.Client) -> None:
    cid = _customer(api)
    url = "crm_outbounds/00001/records"
    assert_error_body(api.post(url, json={"customer_id": 99999}), 400, "Customer not found.")
    assert_error_body(
        api.post(url, json={"customer_id": cid, "status_id": 4, "next_call_date": "2030-01-01 10:00"}),
        400,
        "Agent login is required for status MY_RECORD.",
    )
    assert_error_body(api.post(url, json={"customer_id": cid, "status_id": 8}), 400)
    assert_error_body(
        api.post(url, json={"customer_id": cid, "status_id": 8, "next_call_date": "2030-01-01"}), 400
    )
    assert (
        api.post(
            url, json={"customer_id": cid, "status_id": 8, "next_call_date": "2030-01-01 10:00"}
        ).status_code
        == 201
    )
    assert_error_body(api.post(url, json={"customer_id": cid}), 400)  # already there
    assert_error_body(api.post("crm_outbounds/00003/records", json={"customer_id": cid}), 400)  # not crm
    assert_error_body(api.post("crm_outbounds/77777/records", json={"customer_id": cid}), 404)
    assert api.put(f"{url}/{cid}", json={"status_id": "3"}).status_code == 204
    assert api.get(f"{url}/{cid}").json()["status_id"] == 3


def test_records_limit_filters_and_order(api: httpx.Client, sandbox: SandboxProcess) -> None:
    ids = [_customer(api) for _ in range(3)]
    for cid in ids:
        api.post("crm_outbounds/00002/records", json={"customer_id": cid})
    sandbox.control.set_record("00002", ids[1], system_status="NO_CALL", call_date="2016-10-19 14:02")
    url = "crm_outbounds/00002/records"
    assert [r["customer_id"] for r in api.get(url).json()["result"]] == ids  # insertion order
    page = api.get(url, params={"limit": 1, "offset": 1}).json()
    assert page["count"] == 3
    assert [r["customer_id"] for r in page["result"]] == [ids[1]]
    assert api.get(url, params={"limit": 100}).status_code == 200
    assert_error_body(api.get(url, params={"limit": 101}), 400, "Limit must be between 1 and 100.")
    assert api.get(url, params={"system_status[]": "NO_CALL"}).json()["count"] == 1
    assert api.get(url, params=[("status_id[]", "14"), ("status_id[]", "10")]).json()["count"] == 3
    assert (
        api.get(url, params={"call_date_from": "2016-10-19", "call_date_to": "2016-10-19"}).json()["count"]
        == 1
    )
    found = api.get(
        "customer_id_by_outbound_status", params={"outbound_id[]": "00002", "status_id[]": "14"}
    ).json()
    assert found == {"customer_id": [ids[1]]}
    assert api.get("outbounds/00002/stats").json()["completion_percent"] == pytest.approx(33.33)


def test_in_call_record_is_not_deleted(api: httpx.Client, sandbox: SandboxProcess) -> None:
    cid = _customer(api)
    api.post("crm_outbounds/00001/records", json={"customer_id": cid})
    sandbox.control.set_in_call("00001", cid)
    assert_error_body(api.delete(f"crm_outbounds/00001/records/{cid}"), 400)
    assert api.get("crm_outbounds/00001/records").json()["count"] == 1
    sandbox.control.set_in_call("00001", cid, False)
    assert api.delete(f"crm_outbounds/00001/records/{cid}").status_code == 204
    assert_error_body(api.get(f"crm_outbounds/00001/records/{cid}"), 404)


def test_batch_records_added_already_exists_failed(api: httpx.Client) -> None:
    a, b = _customer(api), _customer(api)
    api.post("crm_outbounds/00001/records", json={"customer_id": b})
    resp = api.post(
        "batch/crm_outbounds/00001/records",
        json={"records": [{"customer_id": a, "status_id": 3}, {"customer_id": b}, {"customer_id": 99999}]},
    )
    assert resp.status_code == 207
    body = resp.json()
    assert body[str(a)]["http_status"] == 201
    assert body[str(a)]["status"] == "ADDED"
    assert isinstance(body[str(a)]["record_id"], int)
    assert body[str(b)]["http_status"] == 400
    assert body[str(b)]["status"] == "ALREADY_EXISTS"
    assert isinstance(body[str(b)]["record_id"], int)
    assert body["99999"] == {"http_status": 400, "status": "FAILED", "message": "Customer not found."}


def test_batch_delete_records(api: httpx.Client, sandbox: SandboxProcess) -> None:
    a, b = _customer(api), _customer(api)
    for cid in (a, b):
        api.post("crm_outbounds/00001/records", json={"customer_id": cid})
    sandbox.control.set_in_call("00001", b)
    resp = api.delete(
        "batch/crm_outbounds/00001/records",
        params=[("customer_id[]", str(a)), ("customer_id[]", str(b)), ("customer_id[]", "99999")],
    )
    assert resp.status_code == 207
    body = resp.json()
    assert body[str(a)]["status"] == "REMOVED"
    assert body[str(a)]["http_status"] == 200
    assert body[str(b)]["status"] == "CALL_IN_PROGRESS"
    assert body["99999"] == {"http_status": 404, "status": "NOT_EXIST"}
    assert [r["customer_id"] for r in api.get("crm_outbounds/00001/records").json()["result"]] == [b]


def test_connections(api: httpx.Client, sandbox: SandboxProcess) -> None:
    sandbox.control.add_connections(
        [
            {
                "date": "2014-07-07 11:08",
                "customer_id": 1,
                "user_login": "bob",
                "queue_id": 34,
                "connection_id": "1.1",
            },
            {
                "date": "2014-07-08 09:00",
                "customer_id": 2,
                "user_login": "ann",
                "queue_id": 35,
                "connection_id": "1.2",
            },
        ]
    )
    body = api.get("connections").json()
    assert body["count"] == 2
    assert body["result"][0]["disposition"] == "ANSWERED"
    assert api.get("connections", params={"date_from": "2014-07-08"}).json()["count"] == 1
    assert api.get("connections", params={"date_to": "2014-07-07"}).json()["count"] == 1
    assert api.get("connections", params={"date_to": "2014-07-07 11:00"}).json()["count"] == 0
    assert api.get("connections", params={"user_login": "ann"}).json()["result"][0]["customer_id"] == 2
    assert api.get("connections", params={"limit": 1}).json()["count"] == 2
    assert_error_body(api.get("connections", params={"limit": 101}), 400)
