"""Webhooks the sandbox sends: bodies (JSON and form), Basic auth, the actions filter, replay, failures."""

from __future__ import annotations

import base64
import re
import socket

import httpx
import pytest

from syncd.sandbox import SandboxProcess
from syncd.sandbox.launch.thulium_control import SandboxControlError
from tests.sandbox.conftest import Receiver

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def _new_customer(api: httpx.Client, surname: str, phone: str = "") -> int:
    body = {"surname": surname, **({"phone_number": phone} if phone else {})}
    return int(api.post("customers", json=body).json()["customer_id"])


def test_customer_created_json_with_basic_auth(sandbox: SandboxProcess, receiver: Receiver) -> None:
    target = sandbox.control.set_webhook(receiver.url, user="hook", password="s3cret")
    assert target["password_set"] is True
    assert "password" not in target
    company_id, _ = sandbox.control.agent_create_company({"name": "Co"})  # companies announce nothing
    member = sandbox.control.agent_create_customer({"surname": "Member", "company_id": company_id})
    loner = sandbox.control.agent_create_customer({"surname": "Loner"})
    sandbox.control.flush_webhooks()

    assert len(receiver.received) == 2
    first = receiver.received[0]
    assert first.content_type.startswith("application/json")
    assert first.headers["authorization"] == "Basic " + base64.b64encode(b"hook:s3cret").decode()
    body = first.json()
    assert body == {
        "action": "CUSTOMER_CREATED",
        "customer_id": member,
        "company_id": company_id,
        "date": body["date"],
    }
    assert DATE_RE.match(body["date"])
    assert receiver.received[1].json()["customer_id"] == loner
    assert receiver.received[1].json()["company_id"] == ""


def test_note_saved_form_encoded_without_auth(
    sandbox: SandboxProcess, receiver: Receiver, api: httpx.Client
) -> None:
    sandbox.control.set_webhook(receiver.url, encoding="form")
    cid = _new_customer(api, "Noted")  # created through the API: no webhook by default
    content = "Zażółć & call=back"
    sandbox.control.agent_add_note(cid, content, agent_login="a.nowak")
    sandbox.control.flush_webhooks()

    [got] = receiver.received
    assert got.content_type.startswith("application/x-www-form-urlencoded")
    assert "authorization" not in got.headers
    form = got.form()
    assert form == {
        "action": "CUSTOMER_NOTE_SAVED",
        "agent_login": "a.nowak",
        "customer_id": str(cid),
        "content": content,
        "date": form["date"],
    }
    assert DATE_RE.match(form["date"])
    assert sandbox.control.state()["customers"][0]["notes"] == [content]


def test_record_saved_only_when_an_agent_sets_a_status(
    sandbox: SandboxProcess, receiver: Receiver, api: httpx.Client
) -> None:
    sandbox.control.set_webhook(receiver.url)
    cid = _new_customer(api, "Rec", phone="600100200")
    rid = int(api.post("crm_outbounds/00002/records", json={"customer_id": cid}).json()["record_id"])
    api.put(f"crm_outbounds/00002/records/{cid}", json={"status_id": 12})  # the client's own write: silent
    sandbox.control.set_record("00002", cid, last_note="no status given")  # not a save: silent
    sandbox.control.set_record(
        "00002",
        cid,
        status_id=13,
        agent_login="j.doe",
        next_call_date="2030-01-02 10:15",
        connection_id="1416225570.341",
    )
    sandbox.control.flush_webhooks()

    [body] = receiver.bodies()
    assert body == {
        "action": "OUTBOUND_RECORD_SAVED",
        "id": "00002",
        "name": "CRM campaign B",
        "record_id": rid,
        "phone_number": "600100200",
        "agent_login": "j.doe",
        "date": body["date"],
        "system_status": "MY_RECORD",
        "status_id": 13,
        "connection_id": "1416225570.341",
        "next_call_date": "2030-01-02 10:15:00",
        "assigned_agent_login": "j.doe",
        "previous_status_id": 12,
    }
    assert "customer_id" not in body
    assert DATE_RE.match(body["date"])


def test_record_saved_form_first_save_has_empty_previous_status(
    sandbox: SandboxProcess, receiver: Receiver, api: httpx.Client
) -> None:
    sandbox.control.set_webhook(receiver.url, encoding="form")
    cid = _new_customer(api, "Fresh")
    api.post("crm_outbounds/00001/records", json={"customer_id": cid})
    sandbox.control.set_record("00001", cid, system_status="NO_CALL", agent_login="a.nowak", saved_by="sup.x")
    sandbox.control.flush_webhooks()
    form = receiver.received[0].form()
    assert form["previous_status_id"] == ""
    assert form["status_id"] == "5"
    assert form["agent_login"] == "sup.x"
    assert form["next_call_date"] == ""
    assert form["assigned_agent_login"] == ""
    assert form["phone_number"] == ""


def test_actions_filter_and_sent_log(sandbox: SandboxProcess, receiver: Receiver) -> None:
    sandbox.control.set_webhook(receiver.url, actions=["CUSTOMER_NOTE_SAVED"])
    cid = sandbox.control.agent_create_customer({"surname": "Filtered"})  # CUSTOMER_CREATED filtered out
    sandbox.control.agent_add_note(cid, "kept")
    sandbox.control.flush_webhooks()

    assert [b["action"] for b in receiver.bodies()] == ["CUSTOMER_NOTE_SAVED"]
    [entry] = sandbox.control.webhooks_sent()
    assert entry["action"] == "CUSTOMER_NOTE_SAVED"
    assert entry["status"] == 200
    assert entry["done"]
    assert entry["body"] == receiver.bodies()[0]
    assert entry["replay"] is False
    assert entry["error"] is None
    status = sandbox.control.webhook_status()
    assert status["target"]["actions"] == ["CUSTOMER_NOTE_SAVED"]
    assert status["pending"] == 0
    assert sandbox.control.webhooks_sent(since=entry["seq"]) == []


def test_deliveries_keep_event_order(sandbox: SandboxProcess, receiver: Receiver) -> None:
    sandbox.control.set_webhook(receiver.url)
    cid = sandbox.control.agent_create_customer({"surname": "Ordered"})
    for i in range(8):
        sandbox.control.agent_add_note(cid, f"note {i}")
    sandbox.control.flush_webhooks()
    assert [b.get("content") for b in receiver.bodies()] == [None] + [f"note {i}" for i in range(8)]


def test_replay_sends_an_identical_duplicate(sandbox: SandboxProcess, receiver: Receiver) -> None:
    with pytest.raises(SandboxControlError, match="Nothing to replay"):
        sandbox.control.replay_webhook()
    sandbox.control.set_webhook(receiver.url)
    sandbox.control.agent_create_customer({"surname": "Twice"})
    sandbox.control.flush_webhooks()
    entry = sandbox.control.replay_webhook()
    sandbox.control.replay_webhook(seq=1)
    sandbox.control.flush_webhooks()

    assert entry["seq"] == 2
    assert entry["replay"] is True
    assert len(receiver.received) == 3
    assert receiver.received[0].body == receiver.received[1].body == receiver.received[2].body
    assert [e["replay"] for e in sandbox.control.webhooks_sent()] == [False, True, True]
    with pytest.raises(SandboxControlError, match="No delivery with seq 99"):
        sandbox.control.replay_webhook(seq=99)


def test_failures_are_logged_and_not_retried(sandbox: SandboxProcess, receiver: Receiver) -> None:
    receiver.status = 500
    sandbox.control.set_webhook(receiver.url)
    sandbox.control.agent_create_customer({"surname": "Refused"})
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    sandbox.control.set_webhook(f"http://127.0.0.1:{dead_port}/hook")
    sandbox.control.agent_create_customer({"surname": "Unreachable"})
    sandbox.control.flush_webhooks()

    refused, unreachable = sandbox.control.webhooks_sent()
    assert refused["status"] == 500
    assert refused["error"] is None
    assert len(receiver.received) == 1
    assert unreachable["status"] is None
    assert unreachable["error"]
    assert unreachable["done"]


def test_delivery_does_not_hold_up_the_call(sandbox: SandboxProcess, receiver: Receiver) -> None:
    receiver.gate.clear()  # the receiver answers nothing until the gate opens
    sandbox.control.set_webhook(receiver.url)
    sandbox.control.agent_create_customer({"surname": "Quick"})
    assert sandbox.control.webhook_status()["pending"] == 1  # the call returned with its delivery still out
    receiver.gate.set()
    sandbox.control.flush_webhooks()
    assert len(receiver.received) == 1
    assert sandbox.control.webhook_status()["pending"] == 0


def test_stop_and_reset(sandbox: SandboxProcess, receiver: Receiver) -> None:
    sandbox.control.set_webhook(receiver.url)
    sandbox.control.stop_webhooks()
    sandbox.control.agent_create_customer({"surname": "Unheard"})
    sandbox.control.flush_webhooks()
    assert receiver.received == []
    assert sandbox.control.webhook_status()["target"] is None

    sandbox.control.set_webhook(receiver.url)
    sandbox.control.agent_create_customer({"surname": "Heard"})
    sandbox.control.flush_webhooks()
    assert len(sandbox.control.webhooks_sent()) == 1
    sandbox.control.reset()
    assert sandbox.control.webhooks_sent() == []
    assert sandbox.control.webhook_status()["target"] is None


def test_api_writes_are_announced_only_on_opt_in(
    sandbox: SandboxProcess, receiver: Receiver, api: httpx.Client
) -> None:
    sandbox.control.set_webhook(receiver.url)
    _new_customer(api, "Silent")
    sandbox.control.set_webhook(receiver.url, api_writes=True)
    single = _new_customer(api, "Echoed")
    batch = api.post("batch/customers", json={"customers": [{"surname": "B1"}, {"name": "no surname"}]})
    sandbox.control.flush_webhooks()
    batch_id = int(batch.json()["0"]["customer_id"])
    assert [(b["action"], b["customer_id"]) for b in receiver.bodies()] == [
        ("CUSTOMER_CREATED", single),
        ("CUSTOMER_CREATED", batch_id),
    ]


def test_bad_control_requests(sandbox: SandboxProcess, receiver: Receiver, api: httpx.Client) -> None:
    with pytest.raises(SandboxControlError, match="encoding"):
        sandbox.control.set_webhook(receiver.url, encoding="xml")
    with pytest.raises(SandboxControlError, match="url"):
        sandbox.control.set_webhook("ftp://example.org/hook")
    with pytest.raises(SandboxControlError, match="404"):
        sandbox.control.agent_add_note(999_999, "nobody")
    cid = _new_customer(api, "Empty note")
    with pytest.raises(SandboxControlError, match="content"):
        sandbox.control.agent_add_note(cid, "  ")
