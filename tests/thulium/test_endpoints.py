"""Every endpoint the client wraps, over real HTTP against the sandbox: happy paths, 207 item parsing."""

from __future__ import annotations

import pytest

from syncd.sandbox import SandboxProcess
from syncd.thulium import (
    CampaignRecordPayload,
    CompanyIds,
    CompanyPayload,
    CustomerPayload,
    CustomerUpdate,
    ThuliumClient,
    ThuliumNotFound,
)
from tests.thulium.conftest import Control

OUTBOUND = "00001"


def _customer(client: ThuliumClient, surname: str, identifier: str, phone: str = "500600700") -> int:
    return client.customers.create(
        CustomerPayload(surname=surname, identifier=identifier, phone_number=phone)
    )


def test_customer_lifecycle(client: ThuliumClient, control: Control) -> None:
    cid = client.customers.create(
        CustomerPayload(
            surname="Kowalski",
            name="Jan",
            email="jan.kowalski@example.com",
            phone_number=["222333444", "213443523"],
            identifier="SRC-1",
            custom_fields={"Segment": "gold"},
        )
    )
    assert isinstance(cid, int)

    got = client.customers.get(cid, include_custom_fields=True)
    assert (got.customer_id, got.surname, got.identifier) == (cid, "Kowalski", "SRC-1")
    assert got.phone_numbers == ["222333444", "213443523"]
    assert got.custom_fields is not None
    assert got.custom_fields["Segment"] == "gold"
    assert got.company_id is None

    client.customers.update(cid, CustomerPayload(name="Janek"))
    assert client.customers.get(cid).name == "Janek"

    assert [c.customer_id for c in client.customers.page(identifier="SRC-1")] == [cid]
    assert [c.customer_id for c in client.customers.find("SRC-1")] == [cid]
    assert client.customers.find("SRC-404") == []

    client.customers.delete(cid)
    with pytest.raises(ThuliumNotFound) as err:
        client.customers.get(cid)
    assert err.value.status_code == 404
    assert control.state()["customers"] == []


def test_iter_customers_pages_until_short_page(client: ThuliumClient, control: Control) -> None:
    ids = [_customer(client, f"S{i}", f"it-{i}") for i in range(5)]
    assert [c.customer_id for c in client.customers.iter(page_size=2)] == sorted(ids)
    pages = [e for e in control.log() if e["route"] == "customers" and e["method"] == "GET"]
    assert len(pages) == 3  # 2 + 2 + 1 (short page ends it)
    assert client.request_counts()["GET customers"] == 3


def test_batch_create_customers_mixed_207(client: ThuliumClient, control: Control) -> None:
    results = client.customers.batch_create(
        [
            CustomerPayload(surname="Nowak", identifier="b-0"),
            {"name": "No surname"},
            CustomerPayload(surname="Wrong", phone_number="12ab"),
        ]
    )
    assert [r.key for r in results] == ["0", "1", "2"]
    assert [r.http_status for r in results] == [201, 400, 400]
    assert results[0].customer_id is not None
    assert results[0].message is None
    assert results[1].customer_id is None
    assert results[1].message
    assert results[2].message == "Phone number must be numeric."
    stored = control.state()["customers"]
    assert [(c["customer_id"], c["identifier"]) for c in stored] == [(results[0].customer_id, "b-0")]


def test_batch_update_and_delete_customers_mixed_207(client: ThuliumClient, control: Control) -> None:
    cid = _customer(client, "Kowalski", "u-1")
    missing = cid + 1000

    updated = client.customers.batch_update(
        [CustomerUpdate(customer_id=cid, name="Jan"), {"customer_id": missing, "name": "Ghost"}]
    )
    assert set(updated) == {cid, missing}
    assert (updated[cid].http_status, updated[cid].customer_id) == (204, cid)
    assert (updated[missing].http_status, updated[missing].message) == (404, "Customer not found.")
    assert client.customers.get(cid).name == "Jan"

    deleted = client.customers.batch_delete([cid, missing])
    assert (deleted[cid].http_status, deleted[missing].http_status) == (204, 404)
    assert deleted[missing].message == "Customer not found."
    assert control.state()["customers"] == []


def test_batch_rejects_duplicate_ids_before_sending(client: ThuliumClient) -> None:
    with pytest.raises(ValueError, match="duplicate"):
        client.customers.batch_delete([5, 5])
    assert client.requests_sent == 0


def test_companies(client: ThuliumClient, control: Control) -> None:
    ids = client.companies.create(CompanyPayload(name="ACME", nip="6783144527", identifier="C-1"))
    assert isinstance(ids, CompanyIds)
    assert isinstance(ids.company_id, int)
    assert isinstance(ids.customer_id, int)
    assert ids.company_id != ids.customer_id

    got = client.companies.get(ids.company_id)
    assert (got.name, got.customer_id, got.nip) == ("ACME", ids.customer_id, "6783144527")
    client.companies.update(ids.company_id, CompanyPayload(name="ACME Sp. z o.o."))
    assert [c.name for c in client.companies.page(identifier="C-1")] == ["ACME Sp. z o.o."]
    assert [c.company_id for c in client.companies.iter(page_size=1)] == [ids.company_id]

    # A customer joins the company through its company_id.
    cid = client.customers.create(CustomerPayload(surname="Worker", company_id=ids.company_id))
    assert client.customers.get(cid).company_id == ids.company_id

    client.companies.delete(ids.company_id)
    with pytest.raises(ThuliumNotFound):
        client.companies.get(ids.company_id)
    assert control.state()["companies"] == []


def test_outbounds(client: ThuliumClient) -> None:
    outbounds = client.campaigns.all()
    crm = [o for o in outbounds if o.crm]
    assert OUTBOUND in [o.id for o in crm]
    assert all(len(o.id) == 5 for o in outbounds)

    statuses = client.campaigns.statuses(OUTBOUND)
    assert statuses
    assert all(isinstance(s.status_id, int) for s in statuses)
    assert "TO_CALL" in {s.system_status for s in statuses}

    stats = client.campaigns.stats(OUTBOUND)
    assert (stats.id, stats.records_count) == (OUTBOUND, 0)


def test_campaign_records_single(client: ThuliumClient, control: Control) -> None:
    cid = _customer(client, "Dialed", "r-1")
    record_id = client.campaign_records.create(OUTBOUND, CampaignRecordPayload(customer_id=cid))
    assert isinstance(record_id, int)

    record = client.campaign_records.get(OUTBOUND, cid)
    assert (record.record_id, record.customer_id, record.system_status) == (record_id, cid, "TO_CALL")

    client.campaign_records.update(OUTBOUND, cid, CampaignRecordPayload(status_id=3))
    assert client.campaign_records.get(OUTBOUND, cid).status_id == 3

    page = client.campaign_records.page(OUTBOUND, limit=10)
    assert page.count == 1
    assert [r.customer_id for r in page.result] == [cid]
    assert client.campaigns.stats(OUTBOUND).records_count == 1

    client.campaign_records.delete(OUTBOUND, cid)
    with pytest.raises(ThuliumNotFound):
        client.campaign_records.get(OUTBOUND, cid)
    assert control.state()["records"].get(OUTBOUND, []) == []


def test_iter_campaign_records_pages_by_100(client: ThuliumClient) -> None:
    created = client.customers.batch_create([CustomerPayload(surname=f"P{i}") for i in range(130)])
    ids = [r.customer_id for r in created if r.customer_id is not None]
    assert len(ids) == 130
    added = client.campaign_records.batch_add(OUTBOUND, [CampaignRecordPayload(customer_id=i) for i in ids])
    assert {r.status for r in added.values()} == {"ADDED"}
    assert [r.customer_id for r in client.campaign_records.iter(OUTBOUND)] == ids
    assert client.request_counts()["GET crm_outbounds/:id/records"] == 2


def test_batch_add_campaign_records_mixed_207(client: ThuliumClient) -> None:
    first = _customer(client, "One", "a-1")
    second = _customer(client, "Two", "a-2")
    client.campaign_records.batch_add(OUTBOUND, [CampaignRecordPayload(customer_id=first)])
    ghost = second + 1000

    results = client.campaign_records.batch_add(
        OUTBOUND,
        [
            CampaignRecordPayload(customer_id=second),
            CampaignRecordPayload(customer_id=first),
            {"customer_id": ghost},
        ],
    )
    assert set(results) == {first, second, ghost}
    added, again, failed = results[second], results[first], results[ghost]
    assert (added.http_status, added.status, added.customer_id) == (201, "ADDED", second)
    assert added.record_id is not None
    # ALREADY_EXISTS arrives as http 400 but with the existing record's id; the client only reports it.
    assert (again.http_status, again.status) == (400, "ALREADY_EXISTS")
    assert again.record_id == client.campaign_records.get(OUTBOUND, first).record_id
    assert (failed.http_status, failed.status, failed.record_id) == (400, "FAILED", None)
    assert failed.message


def test_batch_remove_campaign_records_mixed_207(client: ThuliumClient, control: Control) -> None:
    idle = _customer(client, "Idle", "d-1")
    busy = _customer(client, "Busy", "d-2")
    client.campaign_records.batch_add(OUTBOUND, [{"customer_id": idle}, {"customer_id": busy}])
    control.dialer(OUTBOUND, busy, in_call=True)
    absent = busy + 1000

    results = client.campaign_records.batch_remove(OUTBOUND, [idle, busy, absent])
    assert (results[idle].status, results[idle].http_status) == ("REMOVED", 200)
    assert results[idle].record_id is not None
    assert results[busy].status == "CALL_IN_PROGRESS"
    assert (results[absent].status, results[absent].http_status) == ("NOT_EXIST", 404)
    remaining = [r["customer_id"] for r in control.state()["records"][OUTBOUND]]
    assert remaining == [busy]


def test_custom_field_names(client: ThuliumClient) -> None:
    names = client.custom_fields.names()
    assert "Segment" in names
    client.customers.create(CustomerPayload(surname="X", custom_fields={"Brand new field": "v"}))
    # (!) Thulium creates unknown custom fields on write — the reason this lookup exists.
    assert "Brand new field" in client.custom_fields.names()


def test_connections_paging(client: ThuliumClient, control: Control) -> None:
    control.add_connections(
        [
            {
                "date": f"2024-05-0{d} 10:00",
                "connection_id": f"17000000{d}.1",
                "customer_id": 7,
                "duration": 60 + d,
            }
            for d in range(1, 6)
        ]
    )
    page = client.reports.connections(date_from="2024-05-02", date_to="2024-05-04 23:59", limit=2)
    assert page.count == 3
    assert [c.connection_id for c in page.result] == ["170000002.1", "170000003.1"]
    rest = client.reports.connections(date_from="2024-05-02", date_to="2024-05-04 23:59", limit=2, offset=2)
    assert [c.connection_id for c in rest.result] == ["170000004.1"]
    assert rest.result[0].duration == 64


def test_limits_are_checked_client_side(client: ThuliumClient) -> None:
    with pytest.raises(ValueError, match="limit must be between 1 and 100, got 101"):
        client.campaign_records.page(OUTBOUND, limit=101)
    with pytest.raises(ValueError, match="limit must be between 1 and 1000, got 1001"):
        client.customers.page(limit=1001)
    with pytest.raises(ValueError, match="identifier must not be empty"):
        client.customers.find("")
    assert client.requests_sent == 0


def test_custom_field_filter_and_flags(client: ThuliumClient) -> None:
    gold = client.customers.create(CustomerPayload(surname="G", custom_fields={"Segment": "gold"}))
    silver = client.customers.create(CustomerPayload(surname="S", custom_fields={"Segment": "silver"}))
    client.customers.create(CustomerPayload(surname="B", custom_fields={"Segment": "bronze"}))
    found = client.customers.page(custom_fields={"Segment": ["gold", "silver"]}, include_custom_fields=True)
    assert sorted(c.customer_id for c in found) == [gold, silver]
    assert all(c.custom_fields is not None for c in found)
    assert [c.customer_id for c in client.customers.page(custom_fields={"Segment": "gold"})] == [gold]


def test_one_client_shared_by_a_thread_pool(client: ThuliumClient) -> None:
    from concurrent.futures import ThreadPoolExecutor

    ids = [
        r.customer_id
        for r in client.customers.batch_create([CustomerPayload(surname=f"T{i}") for i in range(40)])
    ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda i: client.customers.get(i).customer_id if i is not None else None, ids))
    assert got == ids
    assert client.request_counts() == {"POST batch/customers": 1, "GET customers/:id": 40}


def test_agent_logins_leave_out_the_automat(client: ThuliumClient, sandbox: SandboxProcess) -> None:
    assert client.reports.agent_logins() == ["anna.nowak", "ewa.lis", "jan.kowalski", "piotr.zielinski"]
    sandbox.control.set_readings(namesake_agents=True)
    assert "jkowalski" in client.reports.agent_logins()
