"""Control API: reset, state dump, counters by route template, request log, agents, seeding."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from syncd.sandbox import SandboxProcess


def test_counts_by_route_template_and_log(api: httpx.Client, sandbox: SandboxProcess) -> None:
    api.post("batch/customers", json={"customers": [{"surname": "A"}]})
    cid = api.get("customers").json()[0]["customer_id"]
    api.put(f"customers/{cid}", json={"name": "X"})
    api.put(f"customers/{cid}", json={"name": "Y"})
    sandbox.control.health()  # control calls are not counted
    counts = sandbox.control.counts()
    assert counts["by_route"] == {"POST batch/customers": 1, "GET customers": 1, "PUT customers/:id": 2}
    assert counts["total"] == 4
    assert counts["writes"] == 3
    assert sandbox.control.count("PUT", "customers/:id") == 2
    log = sandbox.control.log()
    assert [(e["method"], e["route"], e["status"]) for e in log] == [
        ("POST", "batch/customers", 207),
        ("GET", "customers", 200),
        ("PUT", "customers/:id", 204),
        ("PUT", "customers/:id", 204),
    ]
    assert log[0]["t"] <= log[-1]["t"]
    assert sandbox.control.log(since=log[-2]["seq"]) == log[-1:]
    sandbox.control.reset_counts()
    assert sandbox.control.counts()["total"] == 0


def test_reset_and_state(api: httpx.Client, sandbox: SandboxProcess) -> None:
    api.post("customers", json={"surname": "K", "custom_fields": {"New": "1"}})
    state = sandbox.control.state()
    assert len(state["customers"]) == 1
    assert "New" in state["custom_fields"]
    assert [o["id"] for o in state["outbounds"]] == ["00001", "00002", "00003"]
    sandbox.control.reset()
    state = sandbox.control.state()
    assert state["customers"] == []
    assert "New" not in state["custom_fields"]
    sandbox.control.reset(seed=False)
    assert sandbox.control.state()["outbounds"] == []


def test_agent_and_dialer(api: httpx.Client, sandbox: SandboxProcess) -> None:
    cid = sandbox.control.agent_create_customer({"surname": "Agent-made", "identifier": "X1"})
    assert api.get("customers", params={"identifier": "X1"}).json()[0]["customer_id"] == cid
    sandbox.control.agent_edit_customer(cid, {"surname": "Edited"})
    assert api.get(f"customers/{cid}").json()["surname"] == "Edited"
    api.post("crm_outbounds/00001/records", json={"customer_id": cid})
    rec = sandbox.control.set_record(
        "00001", cid, status_id=4, agent_login="j.doe", last_note="call back", call_date="now"
    )
    assert rec["system_status"] == "MY_RECORD"
    assert rec["agent_login"] == "j.doe"
    assert rec["call_date"]
    sandbox.control.agent_delete_customer(cid)
    assert api.get("customers").json() == []
    company_id, _ = sandbox.control.agent_create_company({"name": "Co"})
    sandbox.control.agent_delete_company(company_id)
    assert api.get("companies").json() == []
    assert sandbox.control.counts()["total"] == 5


def test_add_outbound_and_seed_file(tmp_path: Path, sandbox: SandboxProcess, api: httpx.Client) -> None:
    sandbox.control.add_outbound(
        "00042", name="Extra", statuses=[{"status_id": 100, "system_status": "TO_CALL", "name": "Fresh"}]
    )
    assert api.get("outbounds/00042/statuses").json() == [
        {"system_status": "TO_CALL", "status_id": "100", "dictionary_status_id": None, "name": "Fresh"}
    ]
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps(
            {
                "outbounds": [{"id": "12345", "name": "Only", "crm": True}],
                "customers": [{"surname": "Seeded"}],
            }
        )
    )
    with SandboxProcess(seed_file=seed) as sb, httpx.Client(auth=(sb.user, sb.password)) as c:
        assert [o["id"] for o in c.get(sb.url + "/outbounds").json()] == ["12345"]
        assert c.get(sb.url + "/customers").json()[0]["surname"] == "Seeded"
        sb.control.reset()
        assert c.get(sb.url + "/customers").json()[0]["surname"] == "Seeded"
