"""Each reading of what the vendor document leaves open, as the sandbox plays it (kind and unkind)."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from syncd.sandbox import SandboxProcess
from syncd.sandbox.launch.thulium_control import SandboxControlError
from syncd.sandbox.thulium.readings import ADVERSARIAL, REWORDED_NOT_FOUND, Readings
from tests.sandbox.conftest import assert_error_body


def test_profiles_switch_and_a_reset_restores_the_startup_one(sandbox: SandboxProcess) -> None:
    assert sandbox.control.readings() == Readings()
    assert sandbox.control.use_profile("adversarial") == ADVERSARIAL
    assert sandbox.control.set_readings(company_delete="detach").company_delete == "detach"
    sandbox.control.reset()
    assert sandbox.control.readings() == Readings()


@pytest.mark.parametrize(
    "switches",
    [{"company_delete": "vanish"}, {"no_such_reading": True}, {"max_url_bytes": 10}],
    ids=["bad-choice", "unknown-key", "too-small"],
)
def test_a_mistyped_reading_is_refused(sandbox: SandboxProcess, switches: dict[str, object]) -> None:
    with pytest.raises(SandboxControlError, match="400"):
        sandbox.control.set_readings(**switches)
    assert sandbox.control.readings() == Readings()


def test_an_error_on_a_write_applies_it_first_when_no_rollback_is_read(
    api: httpx.Client, sandbox: SandboxProcess
) -> None:
    sandbox.control.add_fault("error", method="POST", path="batch/customers", count=2)
    assert_error_body(api.post("batch/customers", json={"customers": [{"surname": "Kind"}]}), 500)
    assert api.get("customers").json() == []
    sandbox.control.set_readings(errors_apply_writes=True)
    assert_error_body(api.post("batch/customers", json={"customers": [{"surname": "Unkind"}]}), 500)
    assert [c["surname"] for c in api.get("customers").json()] == ["Unkind"]


def test_a_long_url_meets_a_proxy_that_answers_414_with_html(
    api: httpx.Client, sandbox: SandboxProcess
) -> None:
    ids = httpx.QueryParams({"customer_id[]": [str(100_000 + i) for i in range(600)]})
    assert api.delete("batch/customers", params=ids).status_code == 207
    sandbox.control.set_readings(max_url_bytes=8192)
    refused = api.delete("batch/customers", params=ids)
    assert refused.status_code == 414
    assert refused.headers["content-type"].startswith("text/html")
    assert (
        api.delete(
            "batch/customers", params={"customer_id[]": ids.get_list("customer_id[]")[:100]}
        ).status_code
        == 207
    )
    assert sandbox.control.log()[-2]["faults"] == ["uri_too_long"]


def _company_with_member(api: httpx.Client) -> tuple[int, int]:
    company_id = int(api.post("companies", json={"name": "ACME"}).json()["company_id"])
    member = api.post("customers", json={"surname": "Nowak", "company_id": company_id})
    return company_id, int(member.json()["customer_id"])


def test_a_company_delete_detaches_or_takes_its_customers_with_it(
    api: httpx.Client, sandbox: SandboxProcess
) -> None:
    company_id, member = _company_with_member(api)
    assert api.delete(f"companies/{company_id}").status_code == 204
    assert api.get(f"customers/{member}").json()["company_id"] == ""
    sandbox.control.set_readings(company_delete="cascade")
    company_id, member = _company_with_member(api)
    assert api.delete(f"companies/{company_id}").status_code == 204
    assert api.get(f"customers/{member}").status_code == 404


def test_company_flag_false_read_as_php_reads_a_string(api: httpx.Client, sandbox: SandboxProcess) -> None:
    _company_with_member(api)
    flags = [c["company_flag"] for c in api.get("customers", params={"company_flag": "false"}).json()]
    assert flags == [False]
    sandbox.control.set_readings(company_flag_param="php")
    flags = [c["company_flag"] for c in api.get("customers", params={"company_flag": "false"}).json()]
    assert flags == [True]


def test_a_campaign_add_of_a_missing_customer_may_be_worded_otherwise(
    api: httpx.Client, sandbox: SandboxProcess
) -> None:
    body = {"records": [{"customer_id": 999_999}]}
    answer = api.post("batch/crm_outbounds/00001/records", json=body).json()
    assert answer["999999"]["message"] == "Customer not found."
    sandbox.control.set_readings(customer_not_found_message=REWORDED_NOT_FOUND)
    answer = api.post("batch/crm_outbounds/00001/records", json=body).json()
    assert answer["999999"] == {"http_status": 400, "status": "FAILED", "message": REWORDED_NOT_FOUND}


MINUTE_DAY = "2024-03-04"


def _calls_to(api: httpx.Client, date_to: str) -> list[str]:
    body = api.get("connections", params={"date_from": MINUTE_DAY, "date_to": date_to}).json()
    return [c["connection_id"] for c in body["result"]]


def test_date_to_at_a_minute_covers_the_minute_or_only_its_first_second(
    api: httpx.Client, sandbox: SandboxProcess
) -> None:
    sandbox.control.add_connections(
        [
            {"connection_id": "1.1", "date": f"{MINUTE_DAY} 23:59:00"},
            {"connection_id": "1.2", "date": f"{MINUTE_DAY} 23:59:30"},
        ]
    )
    # listed to the minute, as the document prints a call, whatever second it was kept with
    listed = api.get("connections").json()["result"]
    assert [c["date"] for c in listed] == [f"{MINUTE_DAY} 23:59"] * 2
    assert _calls_to(api, f"{MINUTE_DAY} 23:59") == ["1.1", "1.2"]
    sandbox.control.set_readings(date_to_minute="start")
    assert _calls_to(api, f"{MINUTE_DAY} 23:59") == ["1.1"]
    # a bare date and a bound with seconds keep their meaning
    assert _calls_to(api, MINUTE_DAY) == ["1.1", "1.2"]
    assert _calls_to(api, f"{MINUTE_DAY} 23:59:30") == ["1.1", "1.2"]
    assert _calls_to(api, f"{MINUTE_DAY} 23:59:29") == ["1.1"]
    sandbox.control.reset()
    assert sandbox.control.readings().date_to_minute == "whole"


@pytest.mark.parametrize(("reading", "expected"), [("whole", 2), ("start", 1)])
def test_the_reports_read_date_to_at_a_minute_the_same_way(
    api: httpx.Client, sandbox: SandboxProcess, reading: str, expected: int
) -> None:
    login = "anna.nowak"
    sandbox.control.add_activity(
        chats=[{"date": f"{MINUTE_DAY} 10:00:{s}", "user_login": login} for s in ("00", "30")],
        agent_calls=[{"date": f"{MINUTE_DAY} 10:00:{s}", "agent_login": login} for s in ("00", "30")],
    )
    sandbox.control.set_readings(date_to_minute=reading)
    window = {"date_from": MINUTE_DAY, "date_to": f"{MINUTE_DAY} 10:00", "aggregate_by": "day"}
    chats = api.get("chats/reports/summary", params=window).json()
    assert [r["incoming_including_empty"] for r in chats] == [expected]
    work = api.get("agents_work_report", params={**window, "agent_logins[]": login}).json()
    assert [r["inbound"]["count"] for r in work] == [expected]
    whole_day = api.get("chats/reports/summary", params={**window, "date_to": MINUTE_DAY}).json()
    assert [r["incoming_including_empty"] for r in whole_day] == [2]


def _jans(api: httpx.Client) -> list[str]:
    return [a["login"] for a in api.get("agents").json() if (a["name"], a["surname"]) == ("Jan", "Kowalski")]


def test_namesake_agents_give_two_report_rows_told_apart_only_by_login(
    api: httpx.Client, sandbox: SandboxProcess
) -> None:
    agents = api.get("agents").json()
    assert agents[0]["login"] == ""
    assert agents[0]["name"] == "Automat"
    assert _jans(api) == ["jan.kowalski"]
    sandbox.control.use_profile("adversarial")
    assert _jans(api) == ["jan.kowalski", "jkowalski"]
    sandbox.control.generate_activity(MINUTE_DAY, per_day=120, seed=3)
    window = {"date_from": MINUTE_DAY, "date_to": MINUTE_DAY, "aggregate_by": "day"}
    rows = api.get("chats/reports/summary", params=window).json()
    jan = [r for r in rows if r["user_name"] == "Jan Kowalski"]
    assert len(jan) == 2
    assert jan[0]["series"] == jan[1]["series"]
    chats = sandbox.control.activity()["chats"]
    for login in _jans(api):
        own = api.get("chats/reports/summary", params={**window, "user_logins[]": login}).json()
        assert [r["user_name"] for r in own] == ["Jan Kowalski"]
        assert own[0]["incoming_including_empty"] == sum(c["user_login"] == login for c in chats) > 0
    # the same seed gives the same data under the same readings
    first = sandbox.control.activity()
    sandbox.control.reset()
    sandbox.control.use_profile("adversarial")
    sandbox.control.generate_activity(MINUTE_DAY, per_day=120, seed=3)
    assert sandbox.control.activity() == first
    sandbox.control.reset()
    assert _jans(api) == ["jan.kowalski"]


def test_a_sandbox_started_adversarial_reads_every_switch_unkindly_and_keeps_it_over_resets() -> None:
    with SandboxProcess(profile="adversarial", readings={"max_url_bytes": 4096}) as started:
        assert started.control.readings() == replace(ADVERSARIAL, max_url_bytes=4096)
        started.control.reset()
        assert started.control.readings().company_delete == "cascade"
