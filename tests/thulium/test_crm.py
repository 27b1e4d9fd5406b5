"""ThuliumCrm against the sandbox over real HTTP: per-item results, whole-request failures spread over items,
and reads in payload shape."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from syncd.engine.errors import RunAborted
from syncd.engine.ports import Crm, CrmResult, Payload
from syncd.engine.resolve import Decision, ItemStatus, Operation, decide
from syncd.thulium import (
    CompanyIds,
    ItemResult,
    RetryPolicy,
    ThuliumAuthError,
    ThuliumClient,
    ThuliumNotFound,
)
from syncd.thulium import Payload as ClientPayload
from syncd.thulium.crm import ThuliumCrm
from syncd.thulium.resources import Companies, Customers
from tests.thulium.conftest import Control

MISSING_ID = 999_999


@pytest.fixture
def crm(client: ThuliumClient) -> ThuliumCrm:
    return ThuliumCrm(client)


def customers(control: Control) -> dict[str, dict[str, Any]]:
    """Ordinary customers in the sandbox, by identifier."""
    return {c["identifier"]: c for c in control.state()["customers"] if not c["company_flag"]}


def decisions(operation: Operation, results: list[CrmResult]) -> list[Decision]:
    return [decide(operation, r.status) for r in results]


def request_ids(control: Control, method: str, route: str) -> list[str]:
    return [e["request_id"] for e in control.log() if e["method"] == method and e["route"] == route]


def test_is_the_engines_crm(client: ThuliumClient) -> None:
    crm: Crm = ThuliumCrm(client)
    assert crm.max_batch("customers") == 1000
    assert crm.max_batch("companies") == 1
    with pytest.raises(ValueError, match="unknown stream"):
        crm.max_batch("campaign:00001")


def test_batch_create_results_in_input_order(crm: ThuliumCrm, control: Control) -> None:
    results = crm.create(
        "customers",
        [
            {"surname": "Ant", "identifier": "c1", "phone_number": "601602603"},
            {"surname": "Bee", "identifier": "c2", "phone_number": "call-me"},
            {"surname": "Cat", "identifier": "c3", "email": ["cat@example.com", "c@example.com"]},
        ],
    )
    held = customers(control)
    assert results == [
        CrmResult(ItemStatus(201), thulium_id=held["c1"]["customer_id"]),
        CrmResult(ItemStatus(400, message="Phone number must be numeric.")),
        CrmResult(ItemStatus(201), thulium_id=held["c3"]["customer_id"]),
    ]
    assert set(held) == {"c1", "c3"}
    assert decisions("create", results) == [Decision.OK, Decision.DEAD, Decision.OK]


def test_batch_update_and_delete_mixed(crm: ThuliumCrm, control: Control) -> None:
    first, second = (r.thulium_id for r in crm.create("customers", [{"surname": "A"}, {"surname": "B"}]))
    assert first is not None
    assert second is not None

    updated = crm.update(
        "customers",
        [(first, {"surname": "A2"}), (MISSING_ID, {"surname": "X"}), (second, {"phone_number": "?"})],
    )
    assert updated == [
        CrmResult(ItemStatus(204), thulium_id=first),
        CrmResult(ItemStatus(404, message="Customer not found."), thulium_id=MISSING_ID),
        CrmResult(ItemStatus(400, message="Phone number must be numeric."), thulium_id=second),
    ]
    assert decisions("update", updated) == [Decision.OK, Decision.GONE, Decision.DEAD]

    deleted = crm.delete("customers", [first, MISSING_ID])
    assert [r.status.http_status for r in deleted] == [204, 404]
    assert [r.thulium_id for r in deleted] == [first, MISSING_ID]
    assert decisions("delete", deleted) == [Decision.OK, Decision.OK]
    assert [c["customer_id"] for c in customers(control).values()] == [second]


def test_item_503_inside_207_belongs_to_that_item(crm: ThuliumCrm, control: Control) -> None:
    control.fault("item_unavailable", method="POST", path="batch/customers", count=1, item_probability=0.5)
    payloads: list[Payload] = [{"surname": f"S{i}", "identifier": f"s{i}"} for i in range(8)]
    results = crm.create("customers", payloads)
    held = customers(control)
    assert {r.status.http_status for r in results} == {201, 503}
    for payload, result in zip(payloads, results, strict=True):
        if result.status.http_status == 503:
            assert payload["identifier"] not in held
            assert decide("create", result.status) is Decision.UNKNOWN  # looked up, never re-sent blindly
        else:
            assert held[payload["identifier"]]["customer_id"] == result.thulium_id


def test_lost_response_makes_every_item_unknown(crm: ThuliumCrm, control: Control) -> None:
    control.fault("lost_response", method="POST", path="batch/customers", count=1)
    results = crm.create(
        "customers",
        [
            {"surname": "Ant", "identifier": "L-1"},
            {"surname": "Bee", "identifier": "L-2", "phone_number": "nope"},
            {"surname": "Cat", "identifier": "L-3"},
        ],
    )
    assert all(r.status.http_status is None and r.thulium_id is None for r in results)
    assert all((r.status.message or "").startswith("outcome unknown: ") for r in results)
    assert decisions("create", results) == [Decision.UNKNOWN] * 3
    # The sandbox applied the batch before dropping the answer: exactly the valid records exist, once each,
    # and find() is how the engine adopts them instead of creating them again.
    held = customers(control)
    assert set(held) == {"L-1", "L-3"}
    for identifier in ("L-1", "L-3"):
        (found,) = crm.find("customers", identifier)
        assert found.thulium_id == held[identifier]["customer_id"]
    assert crm.find("customers", "L-2") == []


def test_whole_batch_rejection_reaches_every_item(crm: ThuliumCrm, control: Control) -> None:
    control.fault("error", method="POST", path="batch/customers", status=400, count=1)
    results = crm.create("customers", [{"surname": "A"}, {"surname": "B"}])
    (request_id,) = request_ids(control, "POST", "batch/customers")
    assert (
        results == [CrmResult(ItemStatus(400, message="Internal server error."), request_id=request_id)] * 2
    )
    assert customers(control) == {}


def test_unavailable_after_retries_is_retryable_per_item(
    make_client: Callable[..., ThuliumClient], control: Control
) -> None:
    crm = ThuliumCrm(make_client(retry=RetryPolicy(max_attempts=2, base_delay=0.01, rng=random.Random(1))))
    (cid,) = (r.thulium_id for r in crm.create("customers", [{"surname": "A"}]))
    assert cid is not None
    control.fault("error", method="PUT", path="batch/customers", status=503)
    (result,) = crm.update("customers", [(cid, {"surname": "B"})])
    assert result.status.http_status == 503
    assert "gave up after 2 attempt(s)" in (result.status.message or "")
    assert result.thulium_id == cid
    assert result.request_id == request_ids(control, "PUT", "batch/customers")[-1]
    assert decide("update", result.status) is Decision.RETRY


def test_missing_batch_endpoint_is_not_spread_as_deleted(crm: ThuliumCrm, control: Control) -> None:
    control.fault("error", method="DELETE", path="batch/customers", status=404, count=1)
    with pytest.raises(ThuliumNotFound):
        crm.delete("customers", [101, 102])


def test_companies_one_by_one(crm: ThuliumCrm, control: Control) -> None:
    first, second = crm.create("companies", [{"name": "Acme", "nip": "5260001111"}, {"name": "Beta"}])
    state = control.state()
    ids = {c["company_id"]: c["customer_id"] for c in state["companies"]}
    for result in (first, second):
        assert result.status == ItemStatus(201)
        assert result.thulium_id is not None
        assert ids[result.thulium_id] == result.company_customer_id

    (duplicate,) = crm.create("companies", [{"name": "Acme copy", "nip": "5260001111"}])
    assert duplicate.status == ItemStatus(400, message="Company with given NIP already exists.")
    assert duplicate.request_id == request_ids(control, "POST", "companies")[-1]
    assert decide("create", duplicate.status) is Decision.DEAD

    assert first.thulium_id is not None
    updated = crm.update("companies", [(first.thulium_id, {"name": "Acme SA"}), (MISSING_ID, {"name": "X"})])
    assert [r.status.http_status for r in updated] == [204, 404]
    assert updated[1].status.message == "Company not found."
    assert updated[1].request_id
    assert decisions("update", updated) == [Decision.OK, Decision.GONE]

    assert crm.delete("companies", [first.thulium_id]) == [
        CrmResult(ItemStatus(204), thulium_id=first.thulium_id)
    ]
    (again,) = crm.delete("companies", [first.thulium_id])
    assert again.status.http_status == 404
    assert decide("delete", again.status) is Decision.OK


def test_company_lost_response_is_unknown_then_found(crm: ThuliumCrm, control: Control) -> None:
    control.fault("lost_response", method="POST", path="companies", count=1)
    (result,) = crm.create("companies", [{"name": "Ghost", "identifier": "K-9"}])
    assert result.status.http_status is None
    assert result.thulium_id is None
    (found,) = crm.find("companies", "K-9")
    (company,) = control.state()["companies"]
    assert (found.thulium_id, found.company_customer_id) == (company["company_id"], company["customer_id"])


class RevokedAfter(Companies):
    """Credentials revoked after ``allowed`` company creates: the sandbox cannot do that."""

    allowed = 1

    def create(self, payload: ClientPayload) -> CompanyIds:
        if self.allowed <= 0:
            raise ThuliumAuthError("revoked", method="POST", path="companies", status_code=401)
        self.allowed -= 1
        return super().create(payload)


class CreatedWithoutId(Customers):
    """A 207 whose created item carries no id (a Thulium answer the sandbox never gives)."""

    def batch_create(self, payloads: Sequence[ClientPayload]) -> list[ItemResult]:
        return [ItemResult(key=str(i), http_status=201) for i, _ in enumerate(payloads)]


def test_fatal_error_after_an_applied_call_keeps_its_result(
    make_client: Callable[..., ThuliumClient],
) -> None:
    client = make_client()
    client.companies = RevokedAfter(client.session)
    crm = ThuliumCrm(client)
    made, failed, skipped = crm.create("companies", [{"name": "A"}, {"name": "B"}, {"name": "C"}])
    assert made.status == ItemStatus(201)
    assert made.thulium_id is not None
    for result in (failed, skipped):
        assert result.status.http_status is None
        assert (result.status.message or "").startswith("not sent: ")
    with pytest.raises(
        ThuliumAuthError
    ):  # the next call fails first: nothing to keep, so the error is raised
        crm.create("companies", [{"name": "D"}])


def test_created_item_without_id_is_unknown(make_client: Callable[..., ThuliumClient]) -> None:
    client = make_client()
    client.customers = CreatedWithoutId(client.session)
    crm = ThuliumCrm(client)
    (result,) = crm.create("customers", [{"surname": "A"}])
    assert result.status.http_status is None
    assert "customer_id" in (result.status.message or "")


def test_find_is_exact_and_keeps_streams_apart(crm: ThuliumCrm) -> None:
    (company,) = crm.create("companies", [{"name": "Acme", "identifier": "K-1"}])
    made = crm.create(
        "customers",
        [{"surname": "One", "identifier": "K-1"}, {"surname": "Ten", "identifier": "K-10"}],
    )
    (found,) = crm.find("customers", "K-1")
    assert found.thulium_id == made[0].thulium_id
    assert found.fields["surname"] == "One"
    assert found.company_customer_id is None
    (found_company,) = crm.find("companies", "K-1")
    assert (found_company.thulium_id, found_company.company_customer_id) == (
        company.thulium_id,
        company.company_customer_id,
    )
    assert found_company.fields == {"identifier": "K-1", "name": "Acme"}
    assert crm.find("customers", "K") == []
    assert crm.find("companies", "K-10") == []


def test_scan_in_payload_shape(crm: ThuliumCrm) -> None:
    (company,) = crm.create(
        "companies",
        [{"name": "Acme", "identifier": "K-1", "nip": "5260001111", "address": {"city": "Gdańsk"}}],
    )
    assert company.thulium_id is not None
    full: dict[str, Any] = {
        "identifier": "S-1",
        "surname": "Nowak",
        "name": "Anna",
        "email": ["anna@example.com", "a.nowak@example.com"],
        "phone_number": ["601602603", "48222333444"],
        "custom_fields": {"Segment": "gold", "Source ID": "17"},
        "address": {"street": "Polna", "building": "3", "city": "Gdańsk"},
        "company_id": company.thulium_id,
    }
    single: dict[str, Any] = {"identifier": "S-2", "surname": "Lis", "phone_number": "601000000"}
    created = crm.create("customers", [full, single])

    scanned = {r.identifier: r for r in crm.scan("customers")}
    assert set(scanned) == {"S-1", "S-2"}  # the company's own customer record is not a customer
    assert scanned["S-1"].thulium_id == created[0].thulium_id
    assert scanned["S-1"].fields == full
    assert scanned["S-2"].fields == {**single, "phone_number": ["601000000"]}

    (remote_company,) = crm.scan("companies")
    assert remote_company.thulium_id == company.thulium_id
    assert remote_company.company_customer_id == company.company_customer_id
    assert remote_company.fields == {
        "identifier": "K-1",
        "name": "Acme",
        "nip": "5260001111",
        "address": {"city": "Gdańsk"},
    }


def test_auth_error_propagates(make_client: Callable[..., ThuliumClient]) -> None:
    crm = ThuliumCrm(make_client(password="not-the-password"))
    with pytest.raises(ThuliumAuthError):
        crm.create("customers", [{"surname": "A"}])
    with pytest.raises(ThuliumAuthError):
        crm.update("companies", [(1, {"name": "A"})])
    with pytest.raises(RunAborted, match="401"):
        crm.find("customers", "K-1")
    with pytest.raises(ThuliumAuthError):
        list(crm.scan("companies"))


def _log_of(control: Control, method: str, path: str) -> list[dict[str, Any]]:
    return [e for e in control.log() if e["method"] == method and e["path"] == path]


def test_settling_reads_the_newest_records_and_finds_what_a_lost_create_made(
    crm: ThuliumCrm, client: ThuliumClient, control: Control
) -> None:
    """A create whose answer was lost, then 1,200 newer records, a company's own record among the newest:
    the first page of 1,000 is full although it holds one company (records of one id sequence), so the read
    goes on to the second page and finds it; what never landed is found absent without a lookup each."""
    [floor_record] = client.customers.batch_create([{"surname": "Before", "identifier": "before"}])
    floor = floor_record.customer_id
    assert floor is not None
    client.customers.batch_create([{"surname": "Ours", "identifier": "ours"}])
    for start in (0, 1000):
        batch = [{"surname": f"N{i}", "identifier": f"n{i}"} for i in range(start, start + 600)]
        client.customers.batch_create(batch)
    client.companies.create({"name": "ACME", "identifier": "acme"})
    found = crm.settle("customers", ["ours", "never"], floor)
    assert [r.identifier for r in found["ours"]] == ["ours"]
    assert found["never"] == []
    reads = _log_of(control, "GET", "customers")
    assert len(reads) == 2, "two pages, no lookups"
    assert all("order=-customer_id" in e["query"] for e in reads), "two pages, no lookups"
