"""Each reading of what the vendor document leaves open, as the sandbox plays it (kind and unkind)."""

from __future__ import annotations

import httpx
import pytest

from syncd.sandbox.client_control import SandboxControlError
from syncd.sandbox.launcher import SandboxProcess
from syncd.sandbox.readings import ADVERSARIAL, REWORDED_NOT_FOUND, Readings
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
