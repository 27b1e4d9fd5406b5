"""The toy dialer: which records it takes, what it leaves them in (seen through the public API), determinism
per seed, and the OUTBOUND_RECORD_SAVED it fires for each."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from syncd.engine.wallclock import wall_clock_now
from syncd.sandbox import SandboxProcess
from syncd.sandbox.launch.thulium_control import SandboxControlError
from tests.sandbox.conftest import Receiver

OUTCOMES = {
    "CALL",
    "MY_RECORD",
    "NO_CALL",
    "ABANDONED_AFTER_N_TRIES",
    "CALL_NO_SOONER_THAN",
    "CALL_PROGRESSIVE",
}
RECORD_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$")


def _fill(api: httpx.Client, n: int, outbound: str = "00002") -> list[int]:
    """n customers with a phone each, all added to the campaign (fresh: TO_CALL); returns their ids."""
    people = [{"surname": f"Caller {i}", "phone_number": f"600{i:06d}"} for i in range(n)]
    created = api.post("batch/customers", json={"customers": people}).json()
    ids = [int(created[str(i)]["customer_id"]) for i in range(n)]
    api.post(f"batch/crm_outbounds/{outbound}/records", json={"records": [{"customer_id": c} for c in ids]})
    return ids


def _records(api: httpx.Client, outbound: str = "00002", **params: str) -> list[dict[str, Any]]:
    body = api.get(f"crm_outbounds/{outbound}/records", params=params).json()
    result: list[dict[str, Any]] = body["result"]
    return result


def _outcomes(records: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    keys = ("customer_id", "status_id", "agent_login", "last_note", "next_call_date")
    return [tuple(r[k] for k in keys) for r in records]


def test_default_seed_has_a_crm_campaign_for_the_dialer(api: httpx.Client) -> None:
    assert {"id": "00002", "name": "CRM campaign B", "crm": True, "order": 50, "parity": 50} in api.get(
        "outbounds"
    ).json()
    systems = {s["system_status"] for s in api.get("outbounds/00002/statuses").json()}
    assert {"TO_CALL", "CALL", "NO_CALL", "MY_RECORD", "CALL_NO_SOONER_THAN"} <= systems


def test_same_seed_same_outcomes(sandbox: SandboxProcess, api: httpx.Client) -> None:
    runs = []
    for seed in (1, 1, 2):
        sandbox.control.reset()
        _fill(api, 15)
        returned = sandbox.control.run_dialer("00002", count=10, seed=seed)
        records = _records(api)
        assert _outcomes(returned) == _outcomes(records[:10])
        assert all(r["system_status"] == "TO_CALL" and r["call_date"] == "" for r in records[10:])
        runs.append(_outcomes(records))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_outcomes_are_valid_campaign_statuses(sandbox: SandboxProcess, api: httpx.Client) -> None:
    _fill(api, 60)
    sandbox.control.run_dialer("00002", count=60, seed=3)
    records = _records(api)
    assert {r["system_status"] for r in records} == OUTCOMES  # every outcome drawn at least once
    today = wall_clock_now().date().isoformat()
    for rec in records:
        assert rec["call_date"].startswith(today)
        assert rec["last_note"]
        assert rec["agent_login"]
        if rec["system_status"] in ("MY_RECORD", "CALL_NO_SOONER_THAN"):
            assert RECORD_DATE_RE.match(rec["next_call_date"])
            assert rec["next_call_date"] > rec["call_date"]
        else:
            assert rec["next_call_date"] == ""
    my_records = [r for r in records if r["system_status"] == "MY_RECORD"]
    assert _records(api, **{"system_status[]": "MY_RECORD"}) == my_records


def test_each_call_fires_record_saved(sandbox: SandboxProcess, receiver: Receiver, api: httpx.Client) -> None:
    sandbox.control.set_webhook(receiver.url)
    ids = _fill(api, 5)
    returned = sandbox.control.run_dialer("00002", count=3, seed=7)
    sandbox.control.flush_webhooks()

    bodies = receiver.bodies()
    assert len(bodies) == 3
    for body, rec, cid in zip(bodies, returned, ids, strict=False):
        assert rec["customer_id"] == cid
        assert body["action"] == "OUTBOUND_RECORD_SAVED"
        assert body["id"] == "00002"
        assert body["record_id"] == rec["record_id"]
        assert body["status_id"] == rec["status_id"]
        assert body["system_status"] == rec["system_status"]
        assert body["phone_number"] == rec["phone_number"]
        assert body["agent_login"] == rec["agent_login"]
        assert body["previous_status_id"] is None
        assert body["next_call_date"] == (rec["next_call_date"] + ":00" if rec["next_call_date"] else "")
        owner = rec["agent_login"] if rec["system_status"] == "MY_RECORD" else ""
        assert body["assigned_agent_login"] == owner
        assert re.match(r"^\d+\.\d+$", body["connection_id"])
    assert len({b["connection_id"] for b in bodies}) == 3


def test_takes_only_fresh_records_not_in_a_call(sandbox: SandboxProcess, api: httpx.Client) -> None:
    ids = _fill(api, 4)
    sandbox.control.set_record("00002", ids[0], status_id=12)
    sandbox.control.set_in_call("00002", ids[1])
    returned = sandbox.control.run_dialer("00002", count=10, seed=1, system_statuses=["NO_CALL"])
    assert [r["customer_id"] for r in returned] == ids[2:]
    by_customer = {r["customer_id"]: r for r in _records(api)}
    assert by_customer[ids[0]]["status_id"] == 12
    assert by_customer[ids[1]]["system_status"] == "TO_CALL"
    assert {by_customer[c]["status_id"] for c in ids[2:]} == {14}
    assert sandbox.control.run_dialer("00002", count=10, seed=1) == []  # nothing fresh left


def test_bad_dialer_requests(sandbox: SandboxProcess) -> None:
    with pytest.raises(SandboxControlError, match="not fed from CRM"):
        sandbox.control.run_dialer("00003")
    with pytest.raises(SandboxControlError, match="404"):
        sandbox.control.run_dialer("99999")
    with pytest.raises(SandboxControlError, match="Not a call outcome: TO_CALL"):
        sandbox.control.run_dialer("00002", system_statuses=["TO_CALL"])
    with pytest.raises(SandboxControlError, match="count"):
        sandbox.control.run_dialer("00002", count=-1)
